// tests/test_nested.cpp: a coroutine per tree level (no recursion on any
// one stack) against one coroutine running the plain recursion.
#include <doctest/doctest.h>

#include <future>
#include <thread>
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

//! [nested-threads]
TEST_CASE("the count follows the thread the walk runs on, when the walk moves between threads") {
  // Thread a starts the walk: it makes one coroutine per level on the way
  // down to the first value, counted on a. Thread b finishes the walk: every
  // coroutine ends there, counted on b. A count read through an address
  // kept from before a switch would count b's work on a. This file is
  // compiled with optimisation (CMakeLists.txt), where compilers do keep it.
  cfs::Tree<int> t = cfs::balanced_of_size((1 << 4) - 1);  // 4 levels
  cfs::StackOptions small;
  small.size = 16 * 1024;
  cfs::Pull<int> walk(small, cfs::yield_in_order_nested<int>, t.get(), small);
  cfs::NestedCount on_a, on_b;
  std::promise<void> a_started, b_done;
  std::thread a([&] {
    cfs::nested_count = {};
    CHECK(walk.next() == 0);
    a_started.set_value();
    b_done.get_future().wait();  // a (and its thread_locals) outlive b's part
    on_a = cfs::nested_count;
  });
  std::thread b([&] {
    a_started.get_future().wait();
    cfs::nested_count = {};
    int values = 1;
    while (walk.next()) ++values;
    CHECK(values == (1 << 4) - 1);
    on_b = cfs::nested_count;
    b_done.set_value();
  });
  a.join();
  b.join();
  CHECK(on_a.alive == 4);   // made on a, on the way to the first value
  CHECK(on_b.alive == -4);  // those four ended on b
}
//! [nested-threads]
