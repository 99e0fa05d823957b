// demo.cpp: draws a tree, pulls its three orders lazily from plain
// recursive functions, then runs same fringe on trees of other shapes.
#include <cstdio>
#include <vector>

#include "generator.h"
#include "same_fringe.h"
#include "traversals.h"

namespace {

/// Draws `n`'s subtree sideways: the root on the left, each right subtree
/// above its node and each left subtree below it (tilt your head left).
void draw(const cfs::Node<int>* n, int depth = 0) {
  if (n == nullptr) return;
  draw(n->right.get(), depth + 1);
  std::printf("  %*s%d\n", 4 * depth, "", n->value);
  draw(n->left.get(), depth + 1);
}

void print(const char* name, cfs::Generator<int> values) {
  std::printf("%-11s", name);
  for (int v : values) std::printf(" %d", v);
  std::printf("\n");
}

}  // namespace

int main() {
  //! [demo-orders]
  cfs::Tree<int> tree = cfs::balanced_of_size(7);
  std::printf("a balanced tree of 7 (root on the left, right subtrees above):\n");
  draw(tree.get());
  print("in-order:", cfs::Generator<int>(cfs::yield_in_order<int>, tree.get()));
  print("pre-order:", cfs::Generator<int>(cfs::yield_pre_order<int>, tree.get()));
  print("post-order:", cfs::Generator<int>(cfs::yield_post_order<int>, tree.get()));
  //! [demo-orders]

  //! [demo-fringe]
  // The same values in order, in a very different shape: a left spine.
  cfs::Tree<int> spine = cfs::left_spine(7);
  std::printf("a left spine of 7:\n");
  draw(spine.get());
  std::printf("same fringe as a left spine of 7: %s\n",
              cfs::same_fringe(tree.get(), spine.get()) ? "yes" : "no");
  cfs::Tree<int> other = cfs::balanced(std::vector<int>{0, 1, 2, 99, 4, 5, 6});
  std::printf("same fringe as 0 1 2 99 4 5 6:    %s (stopped at the 4th value)\n",
              cfs::same_fringe(tree.get(), other.get()) ? "yes" : "no");
  //! [demo-fringe]
  return 0;
}
