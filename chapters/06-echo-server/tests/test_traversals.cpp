// tests/test_traversals.cpp: the recursive yield traversals give the right
// orders, the same as the visitor, the explicit-stack iterator and the
// stackless generator.
#include <doctest/doctest.h>

#include <vector>

#include "../generator.h"
#include "../stackless_generator.h"
#include "../traversals.h"

namespace {
template <class F>
std::vector<int> collect(F traversal, const cfs::Node<int>* root) {
  std::vector<int> out;
  for (int v : cfs::Generator<int>(traversal, root)) out.push_back(v);
  return out;
}
}  // namespace

TEST_CASE("pre-, in- and post-order of a small tree") {
  cfs::Tree<int> t = cfs::balanced_of_size(7);  // root 3; 1 (0, 2); 5 (4, 6)
  CHECK(collect(cfs::yield_in_order<int>, t.get()) == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
  CHECK(collect(cfs::yield_pre_order<int>, t.get()) == std::vector<int>{3, 1, 0, 2, 5, 4, 6});
  CHECK(collect(cfs::yield_post_order<int>, t.get()) == std::vector<int>{0, 2, 1, 4, 6, 5, 3});
}

TEST_CASE("an empty tree yields nothing") {
  CHECK(collect(cfs::yield_in_order<int>, nullptr).empty());
}

TEST_CASE("all four in-order walks agree on a 1000-node tree") {
  cfs::Tree<int> t = cfs::balanced_of_size(1000);
  std::vector<int> expected(1000);
  for (int i = 0; i < 1000; ++i) expected[static_cast<std::size_t>(i)] = i;

  CHECK(collect(cfs::yield_in_order<int>, t.get()) == expected);

  std::vector<int> visited;
  auto visit = [&visited](int v) { visited.push_back(v); };
  cfs::visit_in_order(t.get(), visit);
  CHECK(visited == expected);

  std::vector<int> iterated;
  cfs::InOrderIterator<int> it(t.get());
  while (const int* v = it.next()) iterated.push_back(*v);
  CHECK(iterated == expected);

  std::vector<int> stackless;
  for (int v : cfs::stackless_in_order(t.get())) stackless.push_back(v);
  CHECK(stackless == expected);
}

TEST_CASE("the left spine's in-order sequence starts at the deepest node") {
  cfs::Tree<int> t = cfs::left_spine(5);
  CHECK(collect(cfs::yield_in_order<int>, t.get()) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(collect(cfs::yield_pre_order<int>, t.get()) == std::vector<int>{4, 3, 2, 1, 0});
}
