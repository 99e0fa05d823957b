// tests/test_nested.cpp: a coroutine per tree level (no recursion on any
// one stack) against one coroutine running the plain recursion.
#include <doctest/doctest.h>

#include <vector>

#include "../nested_traversal.h"
#include "../traversals.h"

TEST_CASE("a coroutine per level gives the same sequence, with one coroutine alive per level") {
  cfs::Tree<int> t = cfs::balanced_of_size((1 << 10) - 1);  // 10 levels
  cfs::StackOptions small;
  small.size = 16 * 1024;
  cfs::nested_count = {};
  std::vector<int> nested;
  {
    cfs::Pull<int> walk(small, cfs::yield_in_order_nested<int>, t.get(), small);
    while (auto v = walk.next()) nested.push_back(*v);
  }
  std::vector<int> expected((1 << 10) - 1);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int>(i);
  CHECK(nested == expected);
  CHECK(cfs::nested_count.peak == 10);  // one stack per level, all at once
  CHECK(cfs::nested_count.alive == 0);
}
