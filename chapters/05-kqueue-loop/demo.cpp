// demo.cpp: three orders of one tree, pulled lazily from plain recursive
// functions; then same-fringe on two trees of different shapes.
#include <cstdio>
#include <vector>

#include "generator.h"
#include "same_fringe.h"
#include "traversals.h"

namespace {

void print(const char* name, cfs::Generator<int> values) {
  std::printf("%-11s", name);
  for (int v : values) std::printf(" %d", v);
  std::printf("\n");
}

}  // namespace

int main() {
  //! [demo-orders]
  /*        3
   *      /   \
   *     1     5
   *    / \   / \
   *   0   2 4   6    */
  cfs::Tree<int> tree = cfs::balanced_of_size(7);
  print("in-order:", cfs::Generator<int>(cfs::yield_in_order<int>, tree.get()));
  print("pre-order:", cfs::Generator<int>(cfs::yield_pre_order<int>, tree.get()));
  print("post-order:", cfs::Generator<int>(cfs::yield_post_order<int>, tree.get()));
  //! [demo-orders]

  //! [demo-fringe]
  // The same values in order, in a very different shape: a left spine.
  cfs::Tree<int> spine = cfs::left_spine(7);
  std::printf("same fringe as a left spine of 7: %s\n",
              cfs::same_fringe(tree.get(), spine.get()) ? "yes" : "no");
  cfs::Tree<int> other = cfs::balanced(std::vector<int>{0, 1, 2, 99, 4, 5, 6});
  std::printf("same fringe as 0 1 2 99 4 5 6:    %s (stopped at the 4th value)\n",
              cfs::same_fringe(tree.get(), other.get()) ? "yes" : "no");
  //! [demo-fringe]
  return 0;
}
