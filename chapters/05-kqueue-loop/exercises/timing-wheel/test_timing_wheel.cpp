// exercises/timing-wheel/test_timing_wheel.cpp: the wheel must give the
// same timers in the same order as chapter 05's TimerHeap, whatever the
// deadlines. `make exercise-05 EX=timing-wheel` runs them against your
// timing_wheel.h.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

// <>: your timing_wheel.h, or the reference solution's.
#include <timing_wheel.h>

#include "timer_heap.h"

using namespace std::chrono_literals;
using cfs::Timer;
using cfs::TimingWheel;

namespace {

const cfs::Deadline kBase = cfs::Clock::now();

/// A deadline as "+12.345 ms" from kBase, for messages.
std::string shown(cfs::Deadline d) {
  const double ms = std::chrono::duration<double, std::milli>(d - kBase).count();
  return (ms < 0 ? "" : "+") + std::to_string(ms) + " ms";
}

/// Timers with these deadlines, owned here (the wheel and the heap only
/// point at them).
std::vector<std::unique_ptr<Timer>> timers_at(const std::vector<cfs::Deadline>& deadlines) {
  std::vector<std::unique_ptr<Timer>> timers;
  for (cfs::Deadline d : deadlines) {
    timers.push_back(std::make_unique<Timer>());
    timers.back()->deadline = d;
  }
  return timers;
}

/// Takes the top out until the structure is empty: the deadlines in the
/// order they came. Stops at a null top() (noting it in `trouble`).
template <class Queue>
std::vector<cfs::Deadline> drain(Queue& q, std::string& trouble) {
  std::vector<cfs::Deadline> order;
  while (!q.empty()) {
    Timer* t = q.top();
    if (t == nullptr) {
      trouble = "top() returned null with " + std::to_string(q.size()) +
                " timer(s) in the wheel: push() must file each timer in its slot, and top() find it";
      break;
    }
    order.push_back(t->deadline);
    const std::size_t before = q.size();
    q.erase(t);
    if (q.size() != before - 1) {
      trouble = "erase() of the top left size() at " + std::to_string(q.size()) + ", was " +
                std::to_string(before) + ": erase() must take the timer out of its slot (and when "
                "the slot's last timer fills the hole, update that timer's index)";
      break;
    }
  }
  return order;
}

/// Pushes the same deadlines into a wheel and a heap, drains both, and
/// checks the wheel's order against the heap's.
void same_order_as_the_heap(const std::vector<cfs::Deadline>& deadlines, const char* hint) {
  auto for_wheel = timers_at(deadlines);
  auto for_heap = timers_at(deadlines);
  TimingWheel wheel;
  cfs::TimerHeap heap;
  for (auto& t : for_wheel) wheel.push(t.get());
  for (auto& t : for_heap) heap.push(t.get());
  REQUIRE_MESSAGE(wheel.size() == deadlines.size(), "size() after " << deadlines.size() << " push()es");
  std::string trouble;
  const std::vector<cfs::Deadline> got = drain(wheel, trouble);
  const std::vector<cfs::Deadline> expected = drain(heap, trouble);
  if (!trouble.empty()) FAIL(trouble);
  for (std::size_t i = 0; i < got.size() && i < expected.size(); ++i) {
    if (got[i] != expected[i]) {
      FAIL("timer number " << i << " out of the wheel has deadline " << shown(got[i])
           << ", but the nearest one left was at " << shown(expected[i]) << ": " << std::string(hint));
    }
  }
  CHECK(got.size() == expected.size());
}

}  // namespace

TEST_CASE("1,000 timers within 3 s come out in deadline order, as from the heap") {
  std::mt19937 random(1);
  std::vector<cfs::Deadline> deadlines;
  for (int i = 0; i < 1000; ++i) deadlines.push_back(kBase + std::chrono::microseconds(random() % 3'000'000));
  same_order_as_the_heap(deadlines,
                         "top() is the nearest deadline; timers in one tick (1 ms) differ in their "
                         "microseconds, so compare the deadlines within a slot, not only the ticks");
}

TEST_CASE("timers a whole turn of the wheel apart share a slot, and still come out in order") {
  // 4096 slots of 1 ms: +3 ms, +4099 ms and +8195 ms fall in the same slot.
  const std::vector<cfs::Deadline> deadlines{kBase + 8195ms, kBase + 4099ms, kBase + 5ms, kBase + 3ms,
                                             kBase + 1h, kBase + 10s, kBase + 4096ms, kBase + 4095ms};
  same_order_as_the_heap(deadlines,
                         "a slot holds the timers of every turn of the wheel that fall in it: tell "
                         "them apart by their ticks (or deadlines), not by the slot alone; and a timer "
                         "a turn or more away must still be found when nothing is nearer");
}

TEST_CASE("a deadline earlier than all others, pushed after some have come out, comes out first") {
  auto timers = timers_at({kBase + 100ms, kBase + 200ms, kBase + 300ms, kBase + 50ms, kBase - 20ms});
  TimingWheel wheel;
  for (int i = 0; i < 3; ++i) wheel.push(timers[i].get());
  Timer* first = wheel.top();
  REQUIRE_MESSAGE(first != nullptr, "top() returned null with 3 timers in the wheel");
  CHECK(first->deadline == kBase + 100ms);
  wheel.erase(first);
  Timer* second = wheel.top();  // the look has moved on to +200 ms
  REQUIRE(second != nullptr);
  CHECK(second->deadline == kBase + 200ms);
  wheel.push(timers[3].get());  // +50 ms: before where top() last looked
  wheel.push(timers[4].get());  // -20 ms: already past
  Timer* now_first = wheel.top();
  REQUIRE(now_first != nullptr);
  CHECK_MESSAGE(now_first->deadline == kBase - 20ms,
                "top() gave " << shown(now_first->deadline) << " after a timer at -20 ms and one at "
                "+50 ms were pushed: if top() starts looking where it found the last nearest one, "
                "push() must move that start back for an earlier deadline");
}

TEST_CASE("any timer can be taken out early, and one not in the wheel is left alone") {
  auto timers = timers_at({kBase + 10ms, kBase + 20ms, kBase + 30ms, kBase + 40ms});
  TimingWheel wheel;
  for (auto& t : timers) wheel.push(t.get());
  wheel.erase(timers[2].get());  // +30 ms, from the middle
  CHECK(wheel.size() == 3);
  CHECK_MESSAGE(timers[2]->index == Timer::npos, "after erase(), a timer's index is Timer::npos: "
                                                 "that is how the loop knows it is out");
  wheel.erase(timers[2].get());  // again: not in the wheel any more
  CHECK_MESSAGE(wheel.size() == 3, "erase() of a timer not in the wheel must change nothing");
  std::string trouble;
  const std::vector<cfs::Deadline> order = drain(wheel, trouble);
  if (!trouble.empty()) FAIL(trouble);
  CHECK(order == std::vector<cfs::Deadline>{kBase + 10ms, kBase + 20ms, kBase + 40ms});
}

TEST_CASE("10,000 timers, half taken out at random, the rest in the heap's order") {
  std::mt19937 random(7);
  std::vector<cfs::Deadline> deadlines;
  for (int i = 0; i < 10000; ++i) deadlines.push_back(kBase + std::chrono::microseconds(random() % 20'000'000));
  auto for_wheel = timers_at(deadlines);
  auto for_heap = timers_at(deadlines);
  TimingWheel wheel;
  cfs::TimerHeap heap;
  for (auto& t : for_wheel) wheel.push(t.get());
  for (auto& t : for_heap) heap.push(t.get());
  std::vector<std::size_t> out(deadlines.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = i;
  std::shuffle(out.begin(), out.end(), random);
  out.resize(out.size() / 2);
  for (std::size_t i : out) {
    wheel.erase(for_wheel[i].get());
    heap.erase(for_heap[i].get());
  }
  REQUIRE_MESSAGE(wheel.size() == heap.size(), "size() after 10,000 push()es and 5,000 erase()s");
  std::string trouble;
  const std::vector<cfs::Deadline> got = drain(wheel, trouble);
  const std::vector<cfs::Deadline> expected = drain(heap, trouble);
  if (!trouble.empty()) FAIL(trouble);
  for (std::size_t i = 0; i < got.size() && i < expected.size(); ++i) {
    if (got[i] != expected[i]) {
      FAIL("after the erase()s, timer number " << i << " out of the wheel has deadline "
           << shown(got[i]) << ", but the nearest one left was at " << shown(expected[i])
           << ": erase() must take out exactly the timer it is given (when the slot's last "
              "timer fills the hole, that timer's index changes too), and top() be the nearest");
    }
  }
  CHECK(got.size() == expected.size());
}
