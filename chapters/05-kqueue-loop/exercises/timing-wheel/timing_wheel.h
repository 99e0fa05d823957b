// exercises/timing-wheel/timing_wheel.h: YOUR CODE (exercise 4 of chapter
// 05).
//
// A hashed timing wheel behind the TimerHeap's interface (timer_heap.h):
// empty(), size(), top() (the nearest deadline), push() and erase(), on the
// same intrusive Timer records, so that the loop could use either. kSlots
// slots of one tick (1 ms) each; a timer goes into the slot of its tick
// modulo kSlots, so adding and removing one are O(1). Finding the nearest
// deadline is where the work is. Test it with
// `make exercise-05 EX=timing-wheel`; hints: ../README.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "deadline.h"
#include "timer_heap.h"  // struct Timer

namespace cfs {

class TimingWheel {
 public:
  static constexpr Clock::duration kTick = std::chrono::milliseconds(1);
  static constexpr std::size_t kSlots = 4096;

  TimingWheel() : slots_(kSlots) {}

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  /// The timer with the nearest deadline (the wheel must not be empty).
  Timer* top() const {
    return nullptr;  // TODO: look through the slots for the nearest deadline
  }

  void push(Timer* t) {
    // TODO: file `t` in the slot of its tick; t->index can say where in it
    (void)t;
    ++size_;
  }

  /// Takes `t` out, wherever it is; a timer not in the wheel is left alone.
  void erase(Timer* t) {
    (void)t;  // TODO: take it out of its slot in O(1)
  }

 private:
  /// Whole ticks since the clock's epoch.
  static std::uint64_t tick_of(Deadline d) {
    return static_cast<std::uint64_t>(d.time_since_epoch() / kTick);
  }

  std::vector<std::vector<Timer*>> slots_;
  std::size_t size_ = 0;
};

}  // namespace cfs
