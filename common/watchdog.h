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
//
// The watching thread is a bare pthread, started with a pointer to this
// object: std::thread would allocate its state on the heap, owned by the
// new thread alone, and in a child fork()ed during the test (which has no
// such thread) Valgrind would report that block as definitely lost.
#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace cfs {

class Watchdog {
 public:
  Watchdog(std::chrono::seconds limit, std::string what) : limit_(limit), what_(std::move(what)) {
    if (pthread_create(&thread_, nullptr, &Watchdog::run, this) != 0) {
      std::fprintf(stderr, "watchdog: cannot start its thread\n");
      std::abort();
    }
  }
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_changed_.notify_one();
    pthread_join(thread_, nullptr);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  static void* run(void* self) {
    static_cast<Watchdog*>(self)->watch();
    return nullptr;
  }
  void watch() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (done_changed_.wait_for(lock, limit_, [this] { return done_; })) return;
    std::fprintf(stderr,
                 "watchdog: '%s' still running after %lld s: something waits forever "
                 "(a blocking call whose peer never answers?); aborting\n",
                 what_.c_str(), static_cast<long long>(limit_.count()));
    std::abort();
  }

  const std::chrono::seconds limit_;
  const std::string what_;
  std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  pthread_t thread_{};
};

}  // namespace cfs
