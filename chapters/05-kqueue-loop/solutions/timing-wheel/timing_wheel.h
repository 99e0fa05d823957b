// solutions/timing-wheel/timing_wheel.h: a reference solution of chapter
// 05's exercise 4 (the starter is exercises/timing-wheel/timing_wheel.h).
//
// A hashed timing wheel behind the TimerHeap's interface: kSlots slots of
// one tick each, a timer filed in the slot of its tick modulo kSlots. A
// slot holds the timers of every turn of the wheel that fall in it, so a
// slot's timers are told apart by their ticks. Each slot is a vector, and
// a timer's `index` is its place in it: adding is a push_back, removing a
// swap with the slot's last: both O(1), the whole point of a wheel.
//
// The price is top(). The heap keeps the nearest deadline at hand; the
// wheel has to look for it, slot by slot, from a cursor: the tick before
// which no timer lies. Mostly the nearest timer is a few ticks on, and
// the look is short; when every timer is a whole turn away or more, the
// look goes round the wheel once in vain and then through every timer.
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
    Timer* best = nullptr;
    for (std::size_t k = 0; k < kSlots; ++k) {
      const std::uint64_t tick = cursor_ + k;
      for (Timer* t : slots_[tick % kSlots]) {
        // Only this turn's timers: the slot holds later turns' too.
        if (tick_of(t->deadline) == tick && (best == nullptr || t->deadline < best->deadline)) best = t;
      }
      if (best != nullptr) {
        cursor_ = tick;  // nothing lies before it
        return best;
      }
    }
    // Every timer is a whole turn away or more: look at them all.
    for (const std::vector<Timer*>& slot : slots_) {
      for (Timer* t : slot) {
        if (best == nullptr || t->deadline < best->deadline) best = t;
      }
    }
    cursor_ = tick_of(best->deadline);
    return best;
  }

  void push(Timer* t) {
    const std::uint64_t tick = tick_of(t->deadline);
    std::vector<Timer*>& slot = slots_[tick % kSlots];
    t->index = slot.size();
    slot.push_back(t);
    ++size_;
    if (tick < cursor_) cursor_ = tick;  // (a deadline already past, say)
  }

  /// Takes `t` out, wherever it is; a timer not in the wheel is left alone.
  void erase(Timer* t) {
    if (t->index == Timer::npos) return;
    std::vector<Timer*>& slot = slots_[tick_of(t->deadline) % kSlots];
    Timer* last = slot.back();  // fills the hole
    slot[t->index] = last;
    last->index = t->index;
    slot.pop_back();
    t->index = Timer::npos;
    --size_;
  }

 private:
  static std::uint64_t tick_of(Deadline d) {
    return static_cast<std::uint64_t>(d.time_since_epoch() / kTick);
  }

  std::vector<std::vector<Timer*>> slots_;
  std::size_t size_ = 0;
  mutable std::uint64_t cursor_ = UINT64_MAX;  // no timer's tick is below it
};

}  // namespace cfs
