// round_robin.h: the smallest scheduler there is.
//
//   cfs::RoundRobin dispatcher;
//   dispatcher.spawn([] { for (int i = 0; i < 3; ++i) { work(i); cfs::yield(); } });
//   dispatcher.spawn(other_body, its, arguments);
//   dispatcher.run();  // until every coroutine has finished
//
// A list of coroutines, resumed in turn, over and over. Each runs until it
// calls cfs::yield() (or finishes), and that is the dispatcher's only way
// to get control back: a coroutine switch is a call the running coroutine
// makes, never something done to it from outside. A coroutine that never
// yields, or that blocks the thread in a system call, keeps every other one
// from running for as long as it does.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "coroutine.h"

namespace cfs {

//! [round-robin]
class RoundRobin {
 public:
  /// Adds a coroutine running f(args...); it starts at its first turn.
  /// May be called from inside a running coroutine.
  template <class F, class... Args>
  void spawn(F&& f, Args&&... args) {
    tasks_.emplace_back(std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// Gives each coroutine a turn, in order, again and again, until all have
  /// finished. An exception from a coroutine comes out of run(); the
  /// others are then unwound when the dispatcher is destroyed.
  void run() {
    while (!tasks_.empty()) {
      for (std::size_t i = 0; i < tasks_.size();) {
        ++turns_;
        const bool alive = tasks_[i].resume();  // runs it until its next yield()
        if (alive) {
          ++i;
        } else {
          tasks_.erase(tasks_.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
    }
  }

  /// Coroutines not finished yet.
  std::size_t size() const { return tasks_.size(); }
  /// Turns given so far (resume() calls).
  std::size_t turns() const { return turns_; }

 private:
  std::vector<Coroutine<void>> tasks_;
  std::size_t turns_ = 0;
};
//! [round-robin]

}  // namespace cfs
