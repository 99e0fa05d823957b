// exercises/poll-loop/poll_loop.h: chapter 05's loop with its waits on
// poll(2) instead of kqueue (exercise 3 of chapter 05). YOUR CODE is
// PollLoop::poll(), in poll_loop.cpp; this header may stay as it is (add
// members if you like). Test it with `make exercise-05 EX=poll-loop`;
// hints: ../README.md.
//
//   cfs::PollLoop loop;
//   loop.spawn("reader", [fd] {
//     cfs::PollLoop::current().wait_readable(fd, cfs::after(5s));
//     ... recv(fd, ...) ...
//   });
//   loop.run();  // until every task has finished
//
// The same tasks, ready queue, timer heap and Wait records as cfs::Loop, with
// less around them (no cancel, no run_blocking): a PollLoop keeps no
// interest in the kernel between turns. Each turn it builds the array of
// pollfd from the waits that are parked, and poll(2) says which are ready.
// Other threads hand it work with post(), which writes a byte into a pipe
// that is always in the array, so that a loop asleep in poll() wakes.
//
// (chapter 05's socket functions, read_some() and friends, wait on a
// cfs::Loop; inside a PollLoop's task they would block the thread in
// poll(2). The tests call recv() and send() themselves.)
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "coroutine.h"
#include "deadline.h"
#include "fd.h"
#include "loop_errors.h"
#include "timer_heap.h"

namespace cfs {

class PollLoop {
 public:
  /// Makes the wake-up pipe (non-blocking, close-on-exec).
  PollLoop();
  /// Tasks still there are destroyed, and their stacks unwound.
  ~PollLoop();
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  /// Starts `f(args...)` as a task, first run at the loop's next turn.
  template <class F, class... Args>
    requires body_for<F, Args...>
  void spawn(std::string label, F&& f, Args&&... args) {
    Coroutine<void> task(std::forward<F>(f), std::forward<Args>(args)...);
    task.set_label(std::move(label));
    adopt(std::move(task));
  }

  /// Runs tasks until none is left. A task's escaping exception is printed
  /// on stderr with its label, and the loop goes on.
  void run();

  /// From any thread: runs `fn` on the loop's thread at its next turn,
  /// waking the loop if it sleeps in poll(). (Functions still queued when
  /// the last task ends do not run.)
  void post(std::function<void()> fn);

  std::size_t size() const { return tasks_.size(); }  ///< live tasks
  std::size_t polls() const { return polls_; }        ///< poll(2) calls so far

  /// The PollLoop running on this thread; throws CoroutineError if none.
  static PollLoop& current();

  // Waits: only from inside a task of this loop. Each suspends the task
  // until it is done; past `deadline` they throw TimedOut. A wait on a
  // descriptor that is not open throws std::system_error (EBADF).
  void wait_readable(int fd, Deadline deadline = no_deadline);
  void wait_writable(int fd, Deadline deadline = no_deadline);
  void sleep_until(Deadline deadline);
  void sleep_for(Clock::duration d) { sleep_until(after(d)); }

 private:
  /// One task waiting: lives in the task's own frame (in park()).
  struct Wait : Timer {
    enum class For { read, write, time } what;
    enum class Outcome { pending, ready, timed_out, failed };
    CoroutineRef task;
    int fd = -1;
    Outcome outcome = Outcome::pending;
  };

  void adopt(Coroutine<void> task);
  void park(Wait& w, const char* activity);
  void wake(Wait& w, Wait::Outcome outcome);
  void forget(Wait& w);
  void run_ready();
  void run_posted();
  void poll(bool block);  // the loop's look at the kernel: the exercise
  void drain_wake_pipe();
  void expire_timers();
  void end_task(CoroutineRef task);
  std::string label_of(CoroutineRef task) const;

  std::vector<Coroutine<void>> tasks_;            // owned
  std::unordered_map<void*, std::size_t> index_;  // task address -> place in tasks_
  std::unordered_map<void*, Wait*> parked_;       // task address -> its wait
  std::deque<CoroutineRef> ready_;
  TimerHeap timers_;
  CoroutineRef running_;
  std::size_t polls_ = 0;

  Fd wake_read_, wake_write_;  // post() writes a byte; poll() watches the other end
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace cfs
