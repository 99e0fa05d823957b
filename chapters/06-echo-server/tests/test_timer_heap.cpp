// tests/test_timer_heap.cpp: the loop's deadlines, in one intrusive heap.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "../timer_heap.h"

using namespace std::chrono_literals;

TEST_CASE("timers come out of the heap in deadline order, and any can be taken out early") {
  const cfs::Deadline t0 = cfs::Clock::now();
  std::mt19937 random(42);
  std::vector<cfs::Timer> timers(1000);
  cfs::TimerHeap heap;
  for (auto& t : timers) {
    t.deadline = t0 + std::chrono::milliseconds(random() % 10'000);
    heap.push(&t);
  }
  // Take every third one out from wherever it is, as a wait that ended early does.
  for (std::size_t i = 0; i < timers.size(); i += 3) heap.erase(&timers[i]);
  for (std::size_t i = 0; i < timers.size(); i += 3) CHECK(timers[i].index == cfs::Timer::npos);
  heap.erase(&timers[0]);  // not in it any more: left alone
  std::vector<cfs::Deadline> order;
  while (!heap.empty()) {
    cfs::Timer* top = heap.top();
    order.push_back(top->deadline);
    heap.erase(top);
  }
  CHECK(order.size() == timers.size() - (timers.size() + 2) / 3);
  CHECK(std::is_sorted(order.begin(), order.end()));
}
