// timeline.h: what happened when, in seconds since the start.
//
//   cfs::Timeline timeline;                 // prints each note as it is made
//   timeline.note("alice: connected");      // [+0.000 s] alice: connected
//
// The demo prints its notes, so that you can see a stall; the tests keep
// them quiet (Timeline(false)) and read events() instead, so that they can
// measure it. Notes may come from several threads.
#pragma once

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace cfs {

class Timeline {
 public:
  using Clock = std::chrono::steady_clock;

  struct Event {
    double at;         ///< seconds since the timeline started
    std::string text;
  };

  explicit Timeline(bool print = true) : print_(print) {}

  /// Seconds since the timeline started.
  double now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  /// Records `text` with the time, and prints it if printing.
  void note(const std::string& text) {
    std::lock_guard<std::mutex> lock(mutex_);
    const double at = now();
    events_.push_back({at, text});
    if (print_) {
      std::printf("  [+%.3f s] %s\n", at, text.c_str());
      std::fflush(stdout);
    }
  }

  /// Every note so far, in order.
  std::vector<Event> events() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return events_;
  }

 private:
  const Clock::time_point start_ = Clock::now();
  const bool print_;
  mutable std::mutex mutex_;
  std::vector<Event> events_;
};

}  // namespace cfs
