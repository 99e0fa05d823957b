// tests/test_threads.cpp: the current coroutine is per thread; a coroutine
// may be resumed from any thread, one at a time.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../coroutine.h"

using cfs::Coroutine;

TEST_CASE("coroutines run on two threads at once without seeing each other") {
  std::atomic<int> failures{0};
  auto work = [&failures](int seed) {
    for (int round = 0; round < 200; ++round) {
      std::vector<Coroutine<int>> mine;
      for (int k = 0; k < 5; ++k) {
        mine.emplace_back([](int base) {
          for (int i = 0; i < 20; ++i) cfs::yield(base + i);
        }, seed * 1000 + k * 100);
      }
      for (int i = 0; i < 20; ++i) {
        for (int k = 0; k < 5; ++k) {
          auto v = mine[k].resume();
          if (!v || *v != seed * 1000 + k * 100 + i) ++failures;
          if (cfs::in_coroutine()) ++failures;
        }
      }
    }
  };
  std::thread a(work, 1), b(work, 2);
  a.join();
  b.join();
  CHECK(failures == 0);
}

TEST_CASE("a coroutine resumed on one thread, then on another, yields to each in turn") {
  Coroutine<std::thread::id> c([] {
    for (int i = 0; i < 3; ++i) cfs::yield(std::this_thread::get_id());
  });
  std::thread::id seen_a, seen_b, in_a, in_b;
  std::promise<void> a_done, b_done;
  // Thread a stays alive until b has resumed too, so the ids differ.
  std::thread a([&] {
    in_a = std::this_thread::get_id();
    seen_a = *c.resume();
    CHECK_FALSE(cfs::in_coroutine());
    a_done.set_value();
    b_done.get_future().wait();
  });
  std::thread b([&] {
    a_done.get_future().wait();
    in_b = std::this_thread::get_id();
    seen_b = *c.resume();
    b_done.set_value();
  });
  a.join();
  b.join();
  CHECK(seen_a == in_a);
  CHECK(seen_b == in_b);
  CHECK(seen_a != seen_b);
  CHECK(*c.resume() == std::this_thread::get_id());  // and on the main thread
  CHECK(c.resume() == std::nullopt);
}

TEST_CASE("a coroutine made on one thread can be destroyed, unwound, on another") {
  int destroyed = 0;
  struct Count {
    int* n;
    ~Count() { ++*n; }
  };
  Coroutine<int> c([&destroyed] {
    Count local{&destroyed};
    cfs::yield(1);
  });
  std::thread t([&] {
    CHECK(c.resume() == 1);
    Coroutine<int> gone(std::move(c));
  });
  t.join();
  CHECK(destroyed == 1);
}
