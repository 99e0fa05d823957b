// loop.cpp: the loop's turn (run ready tasks, then kevent), and the waits.
#include "loop.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

namespace cfs {

namespace {

// The loop running on this thread. Read and written only in functions that
// never switch (chapter 02's rule for thread_locals).
thread_local Loop* t_loop = nullptr;

/// The kqueue ident of the loop's own wake-up event (EVFILT_USER).
constexpr std::uintptr_t kWakeUp = 1;

void default_task_error(const std::string& label, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cfs: task \"%s\" ended with an exception: %s\n", label.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "cfs: task \"%s\" ended with an exception that is not a std::exception\n",
                 label.c_str());
  }
}

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), std::string("cfs: Loop: ") + what);
}

}  // namespace

Loop::Loop() : on_task_error_(default_task_error) {
  kq_ = kqueue();
  if (kq_ < 0) fail("kqueue()");
  // Helper threads wake the loop with this event (run_blocking()).
  struct kevent ev;
  EV_SET(&ev, kWakeUp, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  if (kevent(kq_, &ev, 1, nullptr, 0, nullptr) < 0) {
    int err = errno;
    ::close(kq_);
    errno = err;
    fail("kevent(EVFILT_USER)");
  }
}

Loop::~Loop() {
  tasks_.clear();     // destroyed: a suspended task's stack unwinds (ForcedUnwind)
  pool_.shutdown();   // jobs under way finish; they may still trigger kWakeUp
  ::close(kq_);
}

Loop& Loop::current() {
  if (t_loop == nullptr) {
    throw CoroutineError("cfs: no loop runs on this thread: waits work only inside a task of a "
                         "running Loop (Loop::spawn, then Loop::run)");
  }
  return *t_loop;
}

Loop* Loop::current_or_null() noexcept { return t_loop; }

//! [adopt]
CoroutineRef Loop::adopt(Coroutine<void> task, std::string label) {
  task.set_label(std::move(label));
  CoroutineRef ref = task.ref();
  index_[ref.address()] = tasks_.size();
  tasks_.push_back(std::move(task));  // may move every other task's handle
  ready_.push_back(ref);
  return ref;
}
//! [adopt]

//! [run]
void Loop::run() {
  Loop* outer = std::exchange(t_loop, this);
  while (!tasks_.empty()) {
    run_ready();
    if (tasks_.empty()) break;
    if (stopping_) {
      // Cancel every task still here, and keep turning until they have
      // unwound: their waits throw Cancelled at once, so nothing blocks.
      for (auto& task : tasks_) cancel(task.ref());
    }
    // set_spin(): look a while before sleeping; what that finds runs next.
    if (ready_.empty() && yielded_order_.empty() && spin()) continue;
    poll(/*block=*/ready_.empty() && yielded_order_.empty());
    // The tasks that only yielded go after those the kernel woke: they
    // could have gone on, those were waiting ("Taking turns", chapter 06).
    ready_.insert(ready_.end(), yielded_order_.begin(), yielded_order_.end());
    yielded_order_.clear();
  }
  stopping_ = false;  // here, not at the start: a stop() before run() counts
  t_loop = outer;
}
//! [run]

void Loop::stop() { stopping_ = true; }

//! [run-ready]
void Loop::run_ready() {
  // The tasks ready now; those made ready while these run wait for the
  // next turn, after a look at the kernel, so no task can starve I/O.
  for (std::size_t n = ready_.size(); n > 0; --n) {
    CoroutineRef task = ready_.front();
    ready_.pop_front();
    auto it = index_.find(task.address());
    if (it == index_.end()) continue;  // ended meanwhile
    running_ = task;
    bool alive = false;
    try {
      if (yielded_.erase(task.address()) && cancelled_.contains(task.address())) {
        // Cancelled, and it waits for nothing (it called cfs::yield()
        // itself), so no wait of its own can throw: its yield() throws.
        alive = tasks_[it->second].resume_throwing(
            std::make_exception_ptr(Cancelled("cfs: the task was cancelled")));
      } else {
        alive = tasks_[it->second].resume();  // until it waits or ends
      }
    } catch (const Cancelled&) {
      // cancelled and unwound: a normal end
    } catch (...) {
      on_task_error_(task_label(task), std::current_exception());
    }
    running_ = CoroutineRef();
    if (!alive) {
      end_task(task);
    } else if (!parked_.contains(task.address())) {
      // It called cfs::yield() itself, waiting for nothing: it only lets
      // the others run. Back in the queue after this turn's look at the
      // kernel, behind the tasks that look wakes (run()).
      yielded_.insert(task.address());
      yielded_order_.push_back(task);
    }
  }
}
//! [run-ready]

std::string Loop::task_label(CoroutineRef task) const {
  auto it = index_.find(task.address());
  return it == index_.end() ? std::string("?") : tasks_[it->second].label();
}

void Loop::end_task(CoroutineRef task) {
  auto it = index_.find(task.address());
  if (it == index_.end()) return;
  const std::size_t i = it->second;
  index_.erase(it);
  cancelled_.erase(task.address());
  yielded_.erase(task.address());
  // Swap with the last and pop: O(1), and moving a dead coroutine's handle
  // (or a suspended one's) is fine.
  if (i + 1 != tasks_.size()) {
    tasks_[i] = std::move(tasks_.back());
    index_[tasks_[i].ref().address()] = i;
  }
  tasks_.pop_back();
}

//! [cancel]
bool Loop::cancel(CoroutineRef task) {
  if (!index_.contains(task.address())) return false;
  cancelled_.insert(task.address());
  auto it = parked_.find(task.address());
  if (it != parked_.end()) wake(*it->second, Wait::Outcome::cancelled);
  return true;
}
//! [cancel]

//! [park]
void Loop::park(Wait& w, const char* activity) {
  w.task = this_coroutine();
  if (!w.task) {
    throw CoroutineError("cfs: a wait outside any task: only a task of the loop (Loop::spawn) "
                         "can wait on it");
  }
  if (w.task != running_) {
    throw CoroutineError(
        "cfs: a task waited from inside a nested coroutine (a Pull, a Generator, or a coroutine "
        "it resumed): its yield would go to that coroutine's resumer, not to the loop; wait "
        "in the task itself");
  }
  if (cancelled_.contains(w.task.address())) throw Cancelled("cfs: the task was cancelled");
  if (w.what == Wait::For::read || w.what == Wait::For::write) {
    // Interest for one event, with the task itself as udata: the event
    // names the coroutine to resume. EV_DISPATCH: once delivered, the knote
    // is disabled, not deleted, so the next wait on this descriptor only
    // modifies it (EV_ADD: new udata) and enables it again. EV_ENABLE must
    // be said: on FreeBSD (and in our Linux shim) EV_ADD alone does not
    // enable a knote that exists and is disabled. EV_ONESHOT would delete
    // and re-create the knote every time, which costs more where kqueue is
    // emulated (notes/kqueue-on-epoll.md).
    struct kevent ev;
    EV_SET(&ev, static_cast<std::uintptr_t>(w.fd),
           w.what == Wait::For::read ? EVFILT_READ : EVFILT_WRITE,
           EV_ADD | EV_ENABLE | EV_DISPATCH, 0, 0, w.task.address());
    changes_.push_back(ev);  // sent with the loop's next kevent() call
  }
  if (w.what == Wait::For::job) {
    pool_.submit([this, job = w.job] {
      try {
        job->work();
      } catch (...) {
        job->error = std::current_exception();
      }
      job_done(job);
    });
    // Only once submit() has not thrown (it may fail to start a thread):
    // the job points at this wait from now on. A helper cannot end it
    // first in a way that matters: finished jobs are looked at by the
    // loop's thread only, after this task has parked.
    w.job->waiter = &w;
  }
  if (w.deadline != no_deadline) timers_.push(&w);
  parked_[w.task.address()] = &w;

  // If the task is destroyed while parked (the loop is destroyed), its
  // stack unwinds through here: then the loop must forget this wait.
  struct Forget {
    Loop* loop;
    Wait* w;
    ~Forget() {
      if (w->outcome == Wait::Outcome::pending) loop->forget(*w);
    }
  } guard{this, &w};

  set_activity(activity, w.fd);
  cfs::yield();  // to the loop, until wake() puts us back in the ready queue
  set_activity("", -1);

  switch (w.outcome) {
    case Wait::Outcome::ready:
    case Wait::Outcome::pending:
      return;
    case Wait::Outcome::timed_out:
      throw TimedOut(std::string("cfs: ") + activity +
                     (w.fd >= 0 ? " on fd " + std::to_string(w.fd) : std::string()) +
                     ": the deadline passed");
    case Wait::Outcome::cancelled:
      throw Cancelled("cfs: the task was cancelled");
    case Wait::Outcome::failed:
      throw std::system_error(w.error, std::generic_category(),
                              std::string("cfs: ") + activity + " on fd " + std::to_string(w.fd));
  }
}
//! [park]

//! [wake]
void Loop::wake(Wait& w, Wait::Outcome outcome, int error) {
  w.outcome = outcome;
  w.error = error;
  forget(w);
  ready_.push_back(w.task);
}

void Loop::forget(Wait& w) {
  parked_.erase(w.task.address());
  timers_.erase(&w);
  if (w.job) w.job->waiter = nullptr;
  if ((w.what == Wait::For::read || w.what == Wait::For::write) &&
      w.outcome != Wait::Outcome::ready) {
    // Its interest is still enabled (it did not fire): take it back, so
    // that no stale event can come later. (udata null: an error here, say the descriptor
    // was closed meanwhile, concerns nobody.)
    struct kevent ev;
    EV_SET(&ev, static_cast<std::uintptr_t>(w.fd),
           w.what == Wait::For::read ? EVFILT_READ : EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
    changes_.push_back(ev);
  }
}
//! [wake]

int Loop::wait_readable(int fd, Deadline deadline) {
  Wait w;
  w.what = Wait::For::read;
  w.fd = fd;
  w.deadline = deadline;
  park(w, "waiting read");
  return w.error;  // the socket error the event reported, or 0
}

void Loop::wait_writable(int fd, Deadline deadline) {
  Wait w;
  w.what = Wait::For::write;
  w.fd = fd;
  w.deadline = deadline;
  park(w, "waiting write");
}

void Loop::sleep_until(Deadline deadline) {
  Wait w;
  w.what = Wait::For::time;
  w.deadline = deadline;
  park(w, "sleeping");
}

//! [spin]
bool Loop::spin() {
  // Sleeping in kevent() costs a wake-up when the event comes (on a
  // virtual machine the idle CPU halts, and only the hypervisor can start
  // it again). If the next event is likely to come soon (a client
  // answering an echo), looking again and again without sleeping is
  // quicker, at the price of a busy CPU for that while. Timers count: a
  // deadline passing makes its task ready, and that ends the spin too.
  // True if a task is ready now: the turn need not look at the kernel.
  if (spin_ <= Clock::duration::zero() || stopping_) return false;
  const Deadline now = Clock::now();
  const Deadline until = spin_ < no_deadline - now ? now + spin_ : no_deadline;
  while (ready_.empty() && Clock::now() < until) poll(/*block=*/false);
  if (ready_.empty()) return false;  // nothing came: sleep as before
  ++spin_finds_;
  return true;
}
//! [spin]

//! [poll]
void Loop::poll(bool block) {
  // How long may we sleep in the kernel? Not at all if a task is ready;
  // else until the nearest deadline; else (nothing has a deadline) as long
  // as it takes.
  struct timespec ts {};
  const struct timespec* timeout = &ts;
  if (block && !stopping_) {
    if (timers_.empty()) {
      timeout = nullptr;
    } else {
      auto left = timers_.top()->deadline - Clock::now();
      if (left.count() > 0) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      }
    }
  }
  constexpr int kBatch = 256;
  struct kevent events[kBatch];
  const struct timespec no_wait {};
  // kqueue reports a change that fails as an event in the list, and fails
  // the whole call if those do not fit. They can be many: 300 connections
  // that time out together and close their descriptors leave 300 EV_DELETEs
  // that fail. So changes go no more than a list's length at a time.
  std::size_t sent = 0;
  while (changes_.size() - sent > kBatch) {
    const int k = kevent(kq_, changes_.data() + sent, kBatch, events, kBatch, &no_wait);
    if (k < 0 && errno != EINTR) fail("kevent()");
    sent += kBatch;
    for (int i = 0; i < k; ++i) dispatch(events[i]);  // may queue more changes
  }
  // A task those calls woke must run in the next turn: then the last call
  // may not wait. (Waiting would leave it ready until some other event
  // came: with no deadline anywhere, for ever.)
  if (!ready_.empty()) timeout = &no_wait;
  int n = kevent(kq_, changes_.data() + sent, static_cast<int>(changes_.size() - sent), events,
                 kBatch, timeout);
  if (n < 0 && errno != EINTR) fail("kevent()");
  changes_.clear();
  for (int i = 0; i < n; ++i) dispatch(events[i]);
  // A full list may have left events in the kernel: take those too, without
  // waiting, so that every task whose descriptor is ready runs in the next
  // turn, not some turns later. This ends: a descriptor's event comes once
  // until its task waits again (EV_DISPATCH), and no task runs meanwhile.
  while (n == kBatch) {
    n = kevent(kq_, nullptr, 0, events, kBatch, &no_wait);
    if (n < 0 && errno != EINTR) fail("kevent()");
    for (int i = 0; i < n; ++i) dispatch(events[i]);
  }
  expire_timers();
}
//! [poll]

//! [dispatch]
void Loop::dispatch(const struct kevent& ev) {
  if (ev.filter == EVFILT_USER) {  // helper threads finished some jobs
    std::vector<std::shared_ptr<BlockingJob>> done;
    {
      std::lock_guard lock(done_mutex_);
      done.swap(done_jobs_);
    }
    for (auto& job : done)
      if (job->waiter != nullptr) wake(*job->waiter, Wait::Outcome::ready);
    return;
  }
  if (ev.udata == nullptr) return;  // the answer to one of our EV_DELETEs
  auto it = parked_.find(ev.udata);  // the task that registered it
  const bool same = it != parked_.end() && static_cast<int>(ev.ident) == it->second->fd &&
                    ev.filter == (it->second->what == Wait::For::read ? EVFILT_READ : EVFILT_WRITE);
  if (!same) {  // not waiting, or waiting for something else by now: stale
    ++stale_events_;
    return;
  }
  Wait& w = *it->second;
  if (ev.flags & EV_ERROR) {         // the registration failed (a bad fd)
    wake(w, Wait::Outcome::failed, static_cast<int>(ev.data));
  } else {
    // Ready; at the end of file (EV_EOF) with the socket's error, if any,
    // in fflags: a reset. The waiter gets it, since the socket may not
    // hold it any more (wait_readable()).
    wake(w, Wait::Outcome::ready, (ev.flags & EV_EOF) ? static_cast<int>(ev.fflags) : 0);
  }
}
//! [dispatch]

void Loop::expire_timers() {
  const Deadline now = Clock::now();
  while (!timers_.empty() && timers_.top()->deadline <= now) {
    Wait& w = *static_cast<Wait*>(timers_.top());
    wake(w, w.what == Wait::For::time ? Wait::Outcome::ready : Wait::Outcome::timed_out);
  }
}

//! [wait-for-job]
void Loop::wait_for_job(std::shared_ptr<BlockingJob> job) {
  Wait w;
  w.what = Wait::For::job;
  w.job = job;
  park(w, "in run_blocking");  // hands the job to a helper thread, then waits
  if (job->error) std::rethrow_exception(job->error);
}

void Loop::job_done(std::shared_ptr<BlockingJob> job) {  // on a helper thread
  {
    std::lock_guard lock(done_mutex_);
    done_jobs_.push_back(std::move(job));
  }
  struct kevent ev;
  EV_SET(&ev, kWakeUp, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  kevent(kq_, &ev, 1, nullptr, 0, nullptr);  // wakes the loop if it sleeps
}
//! [wait-for-job]

}  // namespace cfs
