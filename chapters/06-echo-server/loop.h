// loop.h: one thread, one kqueue, and tasks that wait by suspending.
//
//   cfs::Loop loop;
//   loop.spawn("echo", [](int fd) {
//     char buf[512];
//     for (;;) {
//       cfs::Loop::current().wait_readable(fd);  // this task sleeps; others run
//       ...
//     }
//   }, fd);
//   loop.run();  // until every task has finished, or stop()
//
// A task is a Coroutine<void> that the loop owns. When it must wait (for a
// descriptor, a deadline, or work on a helper thread) it registers what it
// waits for, with *itself* as the kqueue event's udata, and yields to the
// loop. The loop blocks in kevent() only when no task is ready to run, and
// when the event comes back it resumes the very coroutine named in it: no
// promise objects, no callbacks. The waits work from any depth of ordinary
// calls inside a task, because each task has a stack of its own. A task
// that calls cfs::yield() itself waits for nothing: the others run first,
// and the tasks the loop's next look at the kernel wakes (chapter 06).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../../common/kqueue.h"
#include "blocking_pool.h"
#include "coroutine.h"
#include "deadline.h"
#include "loop_errors.h"
#include "timer_heap.h"

namespace cfs {

class Loop {
 public:
  Loop();
  /// Tasks still there are destroyed, and their stacks unwound.
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  //! [spawn]
  /// Starts `f(args...)` as a task: a coroutine the loop owns, first run at
  /// the loop's next turn. Callable before run() and from inside a task
  /// (the task list may grow while a task runs). `label` names it in error
  /// reports and in the debugger (`cfs coroutines`).
  template <class F, class... Args>
    requires body_for<F, Args...>
  CoroutineRef spawn(std::string label, F&& f, Args&&... args) {
    Coroutine<void> task(options_, std::forward<F>(f), std::forward<Args>(args)...);
    return adopt(std::move(task), std::move(label));
  }
  //! [spawn]

  /// Runs tasks until none is left, or until stop(). Tasks still waiting
  /// when it stops are cancelled (their waits throw Cancelled) and run until
  /// they have unwound, so run() returns with no task left either way.
  void run();
  /// Makes run() return at its next turn. From a task, or from the thread
  /// that runs the loop (before run(): that run() stops at its first turn).
  void stop();

  /// Cancels a task through the loop: its current wait (or its next one)
  /// throws Cancelled, and so does every wait after; so does a cfs::yield()
  /// of its own, which waits for nothing. Never resumes it directly: it runs
  /// at the loop's next turn. False if `task` is not a live task of this loop.
  bool cancel(CoroutineRef task);

  /// Live tasks.
  std::size_t size() const { return tasks_.size(); }
  /// Events that named no task waiting for them: stale ones, from interest
  /// that outlived its wait. The loop deletes interest that did not fire,
  /// so this stays 0; the tests check that it does.
  std::size_t stale_events() const { return stale_events_; }
  /// The stacks new tasks get (default: 64 KiB with a guard page).
  void set_stack_options(const StackOptions& options) { options_ = options; }
  /// How long the loop keeps looking at the kernel without sleeping, once
  /// no task is ready, before it sleeps in kevent() (default: zero, it
  /// sleeps at once). Spinning costs CPU; it saves the wake-up when the
  /// next event comes soon ("Spinning before sleeping" in chapter 06).
  void set_spin(Clock::duration spin) { spin_ = spin; }
  /// How many times a spin ended with a task ready, found without sleeping.
  std::size_t spin_finds() const { return spin_finds_; }
  /// What happens to an exception a task lets escape (other than
  /// Cancelled): by default it is printed on stderr with the task's label,
  /// and the loop goes on.
  void on_task_error(std::function<void(const std::string& label, std::exception_ptr)> handler) {
    on_task_error_ = std::move(handler);
  }

  /// The loop running on this thread; throws CoroutineError if none is.
  static Loop& current();
  /// The same, or null.
  static Loop* current_or_null() noexcept;

  //! [waits]
  // Waits: only from inside a task of this loop, at any depth of calls.
  // Each suspends the calling task until it is done; the loop runs the
  // others meanwhile. Past `deadline` they throw TimedOut; a cancelled
  // task's waits throw Cancelled. From inside a coroutine the task itself
  // resumed (a Pull, a Generator) they throw CoroutineError: the yield
  // would go to that coroutine's resumer, not to the loop.

  /// Until `fd` has data to read (or EOF, or an error, or a connection to
  /// accept). Returns the socket error that came with the event (a reset:
  /// EV_EOF, the error in fflags), or 0. Read it: on Linux the kqueue shim
  /// takes that error from the socket to report it, and a recv() after it
  /// sees only the end of file (notes/kqueue-on-epoll.md).
  int wait_readable(int fd, Deadline deadline = no_deadline);
  /// Until `fd` has room to write (or a connect() has finished).
  void wait_writable(int fd, Deadline deadline = no_deadline);
  void sleep_until(Deadline deadline);
  void sleep_for(Clock::duration d) { sleep_until(after(d)); }

  /// Runs `fn()` on a helper thread (blocking_pool.h) and returns what it
  /// returns, or rethrows what it throws. Only this task waits meanwhile.
  /// A cancelled task stops waiting at once; `fn` still runs to its end on
  /// its thread, and its result is dropped.
  template <class F>
  std::invoke_result_t<std::decay_t<F>&> run_blocking(F&& fn);
  //! [waits]

 private:
  //! [wait-record]
  /// One task waiting: lives in the waiting task's own frame (in park()),
  /// and is known to the loop only while the task is parked.
  struct BlockingJob;
  struct Wait : Timer {
    enum class For { read, write, time, job } what;
    enum class Outcome { pending, ready, timed_out, cancelled, failed };
    CoroutineRef task;
    int fd = -1;
    Outcome outcome = Outcome::pending;
    int error = 0;  // failed: the registration's errno; ready: the socket's (EV_EOF)
    std::shared_ptr<BlockingJob> job;
  };
  //! [wait-record]
  struct BlockingJob {
    std::function<void()> work;  // runs on a helper thread
    std::exception_ptr error;    // what it threw, if anything
    Wait* waiter = nullptr;      // the waiting task; the loop's thread only
  };

  CoroutineRef adopt(Coroutine<void> task, std::string label);
  void park(Wait& w, const char* activity);
  void wake(Wait& w, Wait::Outcome outcome, int error = 0);
  void forget(Wait& w);
  void run_ready();
  void poll(bool block);
  bool spin();
  void dispatch(const struct kevent& ev);
  void expire_timers();
  void end_task(CoroutineRef task);
  std::string task_label(CoroutineRef task) const;
  void wait_for_job(std::shared_ptr<BlockingJob> job);
  void job_done(std::shared_ptr<BlockingJob> job);

  int kq_ = -1;
  StackOptions options_;
  std::vector<Coroutine<void>> tasks_;                // owned; moved as it grows
  std::unordered_map<void*, std::size_t> index_;      // task address -> place in tasks_
  std::unordered_map<void*, Wait*> parked_;           // task address -> its wait
  std::unordered_set<void*> cancelled_;
  std::unordered_set<void*> yielded_;                 // ready after a plain cfs::yield()
  std::deque<CoroutineRef> ready_;
  std::vector<CoroutineRef> yielded_order_;           // this turn's yields, in order
  std::vector<struct kevent> changes_;                // applied by the next kevent()
  TimerHeap timers_;
  CoroutineRef running_;                              // the task running now
  bool stopping_ = false;
  std::size_t stale_events_ = 0;
  Clock::duration spin_{};                            // set_spin()
  std::size_t spin_finds_ = 0;
  std::function<void(const std::string&, std::exception_ptr)> on_task_error_;

  std::mutex done_mutex_;                             // helper threads -> loop
  std::vector<std::shared_ptr<BlockingJob>> done_jobs_;
  BlockingPool pool_;
};

//! [run-blocking]
template <class F>
std::invoke_result_t<std::decay_t<F>&> Loop::run_blocking(F&& fn) {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  auto job = std::make_shared<BlockingJob>();
  if constexpr (std::is_void_v<R>) {
    job->work = std::forward<F>(fn);
    wait_for_job(job);
  } else {
    // The result lives with the job, not in this frame: if this task is
    // cancelled, it leaves while the helper thread may still write it.
    auto result = std::make_shared<std::optional<R>>();
    job->work = [f = std::forward<F>(fn), result]() mutable { result->emplace(f()); };
    wait_for_job(job);
    return std::move(**result);
  }
}
//! [run-blocking]

}  // namespace cfs
