// exercises/poll-loop/poll_loop.cpp: chapter 05's loop on poll(2).
// YOUR CODE: PollLoop::poll(), at the end; the rest is done (and may be
// read as chapter 05's loop.cpp with less in it).
#include "poll_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <exception>
#include <string>
#include <system_error>
#include <thread>

namespace cfs {

namespace {

// The PollLoop running on this thread (read and written only in functions
// that never switch).
thread_local PollLoop* t_poll_loop = nullptr;

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), std::string("cfs: PollLoop: ") + what);
}

void make_nonblocking_cloexec(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl(O_NONBLOCK)");
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) fail("fcntl(FD_CLOEXEC)");
}

}  // namespace

PollLoop::PollLoop() {
  int ends[2];
  if (::pipe(ends) != 0) fail("pipe()");
  wake_read_.reset(ends[0]);
  wake_write_.reset(ends[1]);
  make_nonblocking_cloexec(ends[0]);
  make_nonblocking_cloexec(ends[1]);
}

PollLoop::~PollLoop() {
  tasks_.clear();  // a suspended task's stack unwinds; its wait forgets itself
}

PollLoop& PollLoop::current() {
  if (t_poll_loop == nullptr) {
    throw CoroutineError("cfs: no PollLoop runs on this thread: its waits work only inside its tasks");
  }
  return *t_poll_loop;
}

void PollLoop::adopt(Coroutine<void> task) {
  CoroutineRef ref = task.ref();
  index_[ref.address()] = tasks_.size();
  tasks_.push_back(std::move(task));
  ready_.push_back(ref);
}

void PollLoop::run() {
  struct Current {  // this loop is the thread's current one while run() runs
    PollLoop* outer;
    ~Current() { t_poll_loop = outer; }
  } current{std::exchange(t_poll_loop, this)};
  while (!tasks_.empty()) {
    run_posted();
    run_ready();
    if (tasks_.empty()) break;
    poll(/*block=*/ready_.empty());
  }
}

void PollLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  const char byte = 1;
  // If the pipe is full, bytes are waiting already, and the loop wakes.
  [[maybe_unused]] const ssize_t n = ::write(wake_write_.get(), &byte, 1);
}

void PollLoop::run_posted() {
  std::vector<std::function<void()>> posted;
  {
    std::lock_guard lock(posted_mutex_);
    posted.swap(posted_);
  }
  for (auto& fn : posted) fn();
}

void PollLoop::drain_wake_pipe() {
  char bytes[256];
  while (::read(wake_read_.get(), bytes, sizeof bytes) > 0) {
  }
}

void PollLoop::run_ready() {
  for (std::size_t n = ready_.size(); n > 0; --n) {
    CoroutineRef task = ready_.front();
    ready_.pop_front();
    auto it = index_.find(task.address());
    if (it == index_.end()) continue;
    running_ = task;
    bool alive = false;
    try {
      alive = tasks_[it->second].resume();  // until it waits or ends
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cfs: task \"%s\" ended with an exception: %s\n",
                   label_of(task).c_str(), e.what());
    } catch (...) {
      std::fprintf(stderr, "cfs: task \"%s\" ended with an exception\n", label_of(task).c_str());
    }
    running_ = CoroutineRef();
    if (!alive) {
      end_task(task);
    } else if (!parked_.contains(task.address())) {
      ready_.push_back(task);  // a plain cfs::yield(): ready again
    }
  }
}

std::string PollLoop::label_of(CoroutineRef task) const {
  auto it = index_.find(task.address());  // (a task may have spawned others: look again)
  return it == index_.end() ? std::string("?") : tasks_[it->second].label();
}

void PollLoop::end_task(CoroutineRef task) {
  auto it = index_.find(task.address());
  if (it == index_.end()) return;
  const std::size_t i = it->second;
  index_.erase(it);
  if (i + 1 != tasks_.size()) {
    tasks_[i] = std::move(tasks_.back());
    index_[tasks_[i].ref().address()] = i;
  }
  tasks_.pop_back();
}

void PollLoop::park(Wait& w, const char* activity) {
  w.task = this_coroutine();
  if (!w.task || w.task != running_) {
    throw CoroutineError("cfs: a PollLoop wait outside a task of the loop (or in a coroutine it resumed)");
  }
  if (w.deadline != no_deadline) timers_.push(&w);
  parked_[w.task.address()] = &w;
  // If the task is destroyed while parked, its stack unwinds through here.
  struct Forget {
    PollLoop* loop;
    Wait* w;
    ~Forget() {
      if (w->outcome == Wait::Outcome::pending) loop->forget(*w);
    }
  } guard{this, &w};
  set_activity(activity, w.fd);
  cfs::yield();  // to the loop, until wake() puts this task back in the ready queue
  set_activity("", -1);
  switch (w.outcome) {
    case Wait::Outcome::ready:
    case Wait::Outcome::pending:
      return;
    case Wait::Outcome::timed_out:
      throw TimedOut(std::string("cfs: ") + activity +
                     (w.fd >= 0 ? " on fd " + std::to_string(w.fd) : std::string()) +
                     ": the deadline passed");
    case Wait::Outcome::failed:
      throw std::system_error(EBADF, std::generic_category(),
                              std::string("cfs: ") + activity + " on fd " + std::to_string(w.fd));
  }
}

void PollLoop::wake(Wait& w, Wait::Outcome outcome) {
  w.outcome = outcome;
  forget(w);
  ready_.push_back(w.task);
}

void PollLoop::forget(Wait& w) {
  parked_.erase(w.task.address());
  timers_.erase(&w);
}

void PollLoop::expire_timers() {
  const Deadline now = Clock::now();
  while (!timers_.empty() && timers_.top()->deadline <= now) {
    Wait& w = *static_cast<Wait*>(timers_.top());
    wake(w, w.what == Wait::For::time ? Wait::Outcome::ready : Wait::Outcome::timed_out);
  }
}

void PollLoop::wait_readable(int fd, Deadline deadline) {
  Wait w;
  w.what = Wait::For::read;
  w.fd = fd;
  w.deadline = deadline;
  park(w, "waiting read");
}

void PollLoop::wait_writable(int fd, Deadline deadline) {
  Wait w;
  w.what = Wait::For::write;
  w.fd = fd;
  w.deadline = deadline;
  park(w, "waiting write");
}

void PollLoop::sleep_until(Deadline deadline) {
  Wait w;
  w.what = Wait::For::time;
  w.deadline = deadline;
  park(w, "sleeping");
}

void PollLoop::poll(bool block) {
  // TODO (the exercise): the loop's look at the kernel, on poll(2).
  //  1. the timeout: 0 if `block` is false; else until the nearest
  //     deadline (timers_.top()->deadline), in whole milliseconds; else -1;
  //  2. an array of pollfd: wake_read_ first, then one entry for each wait
  //     in parked_ that is for a descriptor (read: POLLIN, write: POLLOUT),
  //     remembering which Wait each entry belongs to;
  //  3. ::poll(), then wake() each wait whose entry has revents, and drain
  //     the wake-up pipe (drain_wake_pipe()) if its entry has;
  //  4. expire_timers().
  //
  // This stand-in only sleeps until the nearest deadline: a task waiting
  // for a descriptor wakes when its deadline passes, never sooner.
  if (block && !timers_.empty()) std::this_thread::sleep_until(timers_.top()->deadline);
  expire_timers();
}

}  // namespace cfs
