// timer_heap.h: every pending deadline of a loop in one binary min-heap.
//
// A loop with 10,000 idle connections, each reading with a timeout, has
// 10,000 deadlines. Asking the kernel for 10,000 timers would cost a system
// call to set each and another to cancel it; instead the loop keeps them
// here and tells kevent() only the nearest one, as its timeout.
//
// Why a heap and not a timing wheel: the nearest deadline is always at the
// top (O(1)), adding and removing cost O(log n) (14 steps for 10,000), every
// deadline is exact, and the code is short. A wheel makes add and remove O(1)
// by rounding deadlines to ticks; it pays off with far more timers than a
// chapter 06 server holds, most of them cancelled before they fire.
//
// The heap is intrusive: a Timer lives in the waiting task's own frame and
// knows its place in the heap, so a wait that ends early (its descriptor got
// ready) takes its timer out at once, and no stale timers pile up.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "deadline.h"

namespace cfs {

//! [timer-heap]
struct Timer {
  Deadline deadline = no_deadline;
  std::size_t index = npos;  ///< its place in the heap, or npos if not in it
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

class TimerHeap {
 public:
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  /// The timer with the nearest deadline (the heap must not be empty).
  Timer* top() const { return heap_.front(); }

  void push(Timer* t) {
    t->index = heap_.size();
    heap_.push_back(t);
    up(t->index);
  }

  /// Takes `t` out, wherever it is; a timer not in the heap is left alone.
  void erase(Timer* t) {
    if (t->index == Timer::npos) return;
    const std::size_t i = t->index;
    t->index = Timer::npos;
    Timer* last = heap_.back();
    heap_.pop_back();
    if (last == t) return;
    heap_[i] = last;  // the last one fills the hole, then finds its place
    last->index = i;
    up(i);
    down(last->index);
  }

 private:
  bool earlier(std::size_t a, std::size_t b) const {
    return heap_[a]->deadline < heap_[b]->deadline;
  }
  void swap_at(std::size_t a, std::size_t b) {
    std::swap(heap_[a], heap_[b]);
    heap_[a]->index = a;
    heap_[b]->index = b;
  }
  void up(std::size_t i) {
    while (i > 0 && earlier(i, (i - 1) / 2)) {
      swap_at(i, (i - 1) / 2);
      i = (i - 1) / 2;
    }
  }
  void down(std::size_t i) {
    for (;;) {
      std::size_t first = i, left = 2 * i + 1, right = left + 1;
      if (left < heap_.size() && earlier(left, first)) first = left;
      if (right < heap_.size() && earlier(right, first)) first = right;
      if (first == i) return;
      swap_at(i, first);
      i = first;
    }
  }
  std::vector<Timer*> heap_;  // heap_[0] is the nearest deadline
};
//! [timer-heap]

}  // namespace cfs
