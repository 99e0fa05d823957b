// exercises/level-order/test_level_order.cpp: what the two walks must do.
// They fail on the starter code, saying what is missing; `make exercise-03
// EX=level-order` runs them against your level_order.h.
#include <doctest/doctest.h>

#include <string>
#include <vector>

// <>, not "": the header comes from the include path, which puts the
// starter's directory first for your build and the solution's for the
// reference build ("" would always find the starter, next to this file).
#include <level_order.h>
#include <pull.h>

namespace {

/// Everything `walk` yields for `root`, pulled one value at a time.
std::vector<int> walked(void (*walk)(const cfs::Node<int>*), const cfs::Node<int>* root) {
  std::vector<int> out;
  cfs::Pull<int> pull(walk, root);
  while (std::optional<int> v = pull.next()) out.push_back(*v);
  return out;
}

std::string show(const std::vector<int>& v) {
  std::string s = "{";
  for (int x : v) s += (s.size() > 1 ? ", " : "") + std::to_string(x);
  return s + "}";
}

}  // namespace

TEST_CASE("level order: top to bottom, left to right") {
  // The balanced tree of 0..6: 3 at the root, 1 and 5 below it, then
  // 0, 2, 4, 6 on the last level.
  cfs::Tree<int> t = cfs::balanced_of_size(7);
  const std::vector<int> got = walked(cfs::yield_level_order<int>, t.get());
  INFO("yield_level_order gave " << show(got));
  if (got.empty()) {
    FAIL("it yielded nothing: start from a queue holding the root; take the front, "
               "yield its value, push its children, until the queue is empty");
  }
  CHECK_MESSAGE(got.front() == 3, "the root comes first");
  const std::vector<int> expected{3, 1, 5, 0, 2, 4, 6};
  CHECK_MESSAGE(got == expected, "each level in full, left to right, before the next level");
}

TEST_CASE("level order of an empty tree and of a spine") {
  CHECK_MESSAGE(walked(cfs::yield_level_order<int>, nullptr).empty(),
                "an empty tree (a null root) yields nothing, and does not crash");
  cfs::Tree<int> spine = cfs::left_spine(5);
  const std::vector<int> got = walked(cfs::yield_level_order<int>, spine.get());
  INFO("on a left spine of 5 it gave " << show(got));
  CHECK(got.size() == 5);
}

TEST_CASE("iterative deepening gives the same order as the queue") {
  cfs::Tree<int> t = cfs::balanced_of_size(31);
  const std::vector<int> by_queue = walked(cfs::yield_level_order<int>, t.get());
  const std::vector<int> by_depth = walked(cfs::yield_by_deepening<int>, t.get());
  INFO("by the queue: " << show(by_queue));
  INFO("by deepening: " << show(by_depth));
  if (by_depth.empty()) {
    FAIL("yield_by_deepening yielded nothing: write a recursive helper that yields "
               "the nodes at exactly depth d (d = 0 is the root) and says whether it found "
               "any; call it for d = 0, 1, 2, ... until it finds none");
  }
  CHECK_MESSAGE(by_depth.size() == 31, "every node once: stop when a depth has no node");
  CHECK_MESSAGE(by_depth == by_queue, "the same order as the breadth-first walk");
  CHECK(walked(cfs::yield_by_deepening<int>, nullptr).empty());
}
