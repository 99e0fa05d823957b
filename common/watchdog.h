// common/watchdog.h: a test that hangs fails instead.
//
// Tests of blocking I/O can hang: a recv() whose data never comes waits
// forever. A Watchdog at the top of such a test bounds its time:
//
//   cfs::Watchdog watchdog(std::chrono::seconds(60), "echo round trips");
//
// If it is still alive after the limit, it prints what overran and aborts
// the process, which the test runner reports as a failure (doctest names the
// test case that was running). Limits are generous on purpose: they must
// hold under Valgrind and qemu on a loaded machine, and only catch hangs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace cfs {

class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what)
      : what_(std::move(what)), thread_([this, limit] { watch(limit); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_changed_.notify_one();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_changed_.wait_for(lock, limit, [this] { return done_; })) return;
    std::fprintf(stderr,
                 "watchdog: '%s' still running after %lld s: something waits forever "
                 "(a blocking call whose peer never answers?); aborting\n",
                 what_.c_str(), static_cast<long long>(limit.count()));
    std::abort();
  }

  std::string what_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::thread thread_;  // last: it starts once everything above exists
};

}  // namespace cfs
