// tests/test_pull.cpp: Pull has the semantics of Go's iter.Pull, and
// Generator works with range-for and standard algorithms.
#include <doctest/doctest.h>

#include <algorithm>
#include <iterator>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "../generator.h"
#include "../pull.h"
#include "../traversals.h"

using cfs::Pull;

namespace {
//! [count-to]
struct Counted {
  int* alive;
  explicit Counted(int* a) : alive(a) { ++*alive; }
  ~Counted() { --*alive; }
};

void count_to(int n, int* alive, int* started) {
  ++*started;
  Counted guard(alive);
  for (int i = 0; i < n; ++i) cfs::yield(i);
}
//! [count-to]
}  // namespace

TEST_CASE("next() returns each value, then empty, and keeps returning empty") {
  int alive = 0, started = 0;
  Pull<int> p(count_to, 2, &alive, &started);
  CHECK(p.next() == 0);
  CHECK(p.next() == 1);
  CHECK(p.next() == std::nullopt);
  CHECK(p.over());
  CHECK(p.next() == std::nullopt);
  CHECK(p.next() == std::nullopt);
  CHECK(alive == 0);
}

TEST_CASE("stop() ends the sequence early, runs the body's cleanup, and is idempotent") {
  int alive = 0, started = 0;
  Pull<int> p(count_to, 100, &alive, &started);
  CHECK(p.next() == 0);
  CHECK(alive == 1);  // the body is suspended holding its guard
  p.stop();
  CHECK(alive == 0);  // unwound: the guard's destructor ran
  CHECK(p.next() == std::nullopt);
  p.stop();
  p.stop();
  CHECK(alive == 0);
  CHECK(started == 1);
}

TEST_CASE("stop() before the first next() means the body never runs") {
  int alive = 0, started = 0;
  Pull<int> p(count_to, 3, &alive, &started);
  p.stop();
  CHECK(p.next() == std::nullopt);
  CHECK(started == 0);
}

TEST_CASE("an exception from the body comes out of next() once, then the sequence is over") {
  Pull<int> p([] {
    cfs::yield(1);
    throw std::runtime_error("broken tree");
  });
  CHECK(p.next() == 1);
  CHECK_THROWS_WITH_AS(p.next(), "broken tree", std::runtime_error);
  CHECK(p.over());
  CHECK(p.next() == std::nullopt);  // not thrown again
}

TEST_CASE("next() or stop() from inside the body being pulled is a clear error") {
  Pull<int>* self = nullptr;
  std::string next_error, stop_error;
  Pull<int> p([&] {
    try {
      self->next();
    } catch (const cfs::CoroutineError& e) {
      next_error = e.what();
    }
    try {
      self->stop();
    } catch (const cfs::CoroutineError& e) {
      stop_error = e.what();
    }
    cfs::yield(7);
  });
  self = &p;
  CHECK(p.next() == 7);
  CHECK(next_error == "cfs: Pull::next() called from inside the body of the sequence it pulls from");
  CHECK(stop_error == "cfs: Pull::stop() called from inside the body of the sequence it pulls from");
}

TEST_CASE("a Generator works with range-for") {
  cfs::Tree<int> t = cfs::balanced_of_size(10);
  int expected = 0;
  for (int v : cfs::Generator<int>(cfs::yield_in_order<int>, t.get())) CHECK(v == expected++);
  CHECK(expected == 10);
}

//! [algorithms]
TEST_CASE("a Generator works with standard algorithms, classic and ranges") {
  using G = cfs::Generator<int>;
  static_assert(std::input_iterator<G::iterator>);
  static_assert(std::ranges::input_range<G>);
  cfs::Tree<int> t = cfs::balanced_of_size(100);

  G sum(cfs::yield_in_order<int>, t.get());
  CHECK(std::accumulate(sum.begin(), sum.end(), 0) == 99 * 100 / 2);

  G find(cfs::yield_pre_order<int>, t.get());
  auto it = std::find(find.begin(), find.end(), 42);
  REQUIRE(it != find.end());
  CHECK(*it == 42);
  find.stop();  // abandon the rest of the walk

  G evens(cfs::yield_in_order<int>, t.get());
  CHECK(std::ranges::count_if(evens, [](int v) { return v % 2 == 0; }) == 50);

  G firsts(cfs::yield_in_order<int>, t.get());
  std::vector<int> five;
  for (int v : firsts | std::views::take(5)) five.push_back(v);
  CHECK(five == std::vector<int>{0, 1, 2, 3, 4});
}
//! [algorithms]

TEST_CASE("Pull and Generator take only a callable body: copying one is a plain error") {
  using P = cfs::Pull<int>;
  using G = cfs::Generator<int>;
  static_assert(!std::is_constructible_v<P, P&>);
  static_assert(!std::is_copy_constructible_v<P>);
  static_assert(!std::is_constructible_v<G, G&>);
  static_assert(!std::is_copy_constructible_v<G>);
  static_assert(!std::is_constructible_v<G, int>);
  static_assert(std::is_constructible_v<G, void (*)(const cfs::Node<int>*), const cfs::Node<int>*>);
  static_assert(std::is_constructible_v<G, cfs::StackOptions, void (*)(const cfs::Node<int>*),
                                        cfs::Node<int>*>);
  cfs::Tree<int> t = cfs::balanced_of_size(3);
  G g(cfs::StackOptions{}, cfs::yield_in_order<int>, t.get());
  CHECK(std::vector<int>(g.begin(), g.end()) == std::vector<int>{0, 1, 2});
}
