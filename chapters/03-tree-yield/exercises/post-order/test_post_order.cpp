// exercises/post-order/test_post_order.cpp: PostOrderIterator against
// yield_post_order, on trees of every shape. `make exercise-03
// EX=post-order` runs them against your post_order_iterator.h.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <post_order_iterator.h>  // <>: yours, or the solution's (see cfs_exercise())
#include <pull.h>
#include <traversals.h>

namespace {

using N = cfs::Node<int>;

std::vector<int> by_iterator(const N* root) {
  std::vector<int> out;
  cfs::PostOrderIterator<int> it(root);
  while (const int* v = it.next()) {
    out.push_back(*v);
    if (out.size() > 10'000) break;  // a walk that never ends is a failure, not a hang
  }
  return out;
}

std::vector<int> by_coroutine(const N* root) {
  std::vector<int> out;
  cfs::Pull<int> pull(cfs::yield_post_order<int>, root);
  while (std::optional<int> v = pull.next()) out.push_back(*v);
  return out;
}

/// "{0, 2, 1}"; after 30 values, "..." and how many there were.
std::string show(const std::vector<int>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size() && i < 30; ++i) {
    s += (i > 0 ? ", " : "") + std::to_string(v[i]);
  }
  if (v.size() > 30) s += ", ... (" + std::to_string(v.size()) + " values)";
  return s + "}";
}

/// A node, for building odd shapes by hand.
std::unique_ptr<N> node(int v, std::unique_ptr<N> l = nullptr, std::unique_ptr<N> r = nullptr) {
  return std::make_unique<N>(v, std::move(l), std::move(r));
}

/// Checks the iterator against yield_post_order on `root`, saying where
/// they part.
void check_same(const char* shape, const N* root) {
  const std::vector<int> want = by_coroutine(root);
  const std::vector<int> got = by_iterator(root);
  INFO("tree: " << std::string(shape));
  INFO("yield_post_order:  " << show(want));
  INFO("PostOrderIterator: " << show(got));
  if (got.empty() && !want.empty()) {
    FAIL("next() gave nothing: in the constructor, push the nodes from the root down to the "
         "first node in post-order (go left where you can, else right, to a leaf); next() "
         "pops the top, yields it, and decides from the node now below it what comes next");
  }
  std::size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  CHECK_MESSAGE(got == want, "the two walks part at position "
                                 << i << ". When you pop a node, look at its parent (the new "
                                 "top): if you came back from its left child, its right subtree "
                                 "comes next; from its right child, the parent itself");
}

}  // namespace

TEST_CASE("post-order of a balanced tree: left, right, node") {
  cfs::Tree<int> t = cfs::balanced_of_size(7);
  check_same("balanced, 0..6", t.get());
  cfs::Tree<int> big = cfs::balanced_of_size(100);
  check_same("balanced, 0..99", big.get());
}

TEST_CASE("post-order of lopsided trees: only left children, only right children") {
  cfs::Tree<int> left = cfs::left_spine(6);
  check_same("a left spine of 6", left.get());
  std::unique_ptr<N> right = node(0, nullptr, node(1, nullptr, node(2, nullptr, node(3))));
  check_same("a right spine of 4", right.get());
  // A zig-zag: right child, then left child, then right child.
  std::unique_ptr<N> zigzag = node(0, nullptr, node(1, node(2, nullptr, node(3)), nullptr));
  check_same("a zig-zag", zigzag.get());
}

TEST_CASE("post-order of the smallest trees") {
  CHECK_MESSAGE(by_iterator(nullptr).empty(), "an empty tree: next() returns nullptr at once");
  std::unique_ptr<N> one = node(42);
  check_same("a single node", one.get());
  std::unique_ptr<N> only_right = node(1, nullptr, node(2));
  check_same("a root with only a right child", only_right.get());
}

TEST_CASE("next() keeps returning nullptr once the walk is over") {
  cfs::Tree<int> t = cfs::balanced_of_size(3);
  cfs::PostOrderIterator<int> it(t.get());
  int n = 0;
  while (it.next() != nullptr && n < 10) ++n;
  CHECK(n == 3);
  CHECK(it.next() == nullptr);
  CHECK(it.next() == nullptr);
}
