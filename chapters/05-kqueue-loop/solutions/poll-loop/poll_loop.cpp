// solutions/poll-loop/poll_loop.cpp: a reference solution of chapter 05's
// exercise 3: all of it is the starter's but PollLoop::poll(), at the end.
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

//! [poll]
void PollLoop::poll(bool block) {
  // 1. How long poll() may sleep: not at all if a task is ready; else until
  //    the nearest deadline, rounded *up* to whole milliseconds (rounded
  //    down, the loop would wake just before the deadline, find nothing
  //    due, and spin through the last millisecond); else for ever.
  int timeout_ms = 0;
  if (block) {
    if (timers_.empty()) {
      timeout_ms = -1;
    } else {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(timers_.top()->deadline - Clock::now());
      timeout_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX));
    }
  }
  // 2. The array, built afresh from the parked waits: the wake-up pipe
  //    first, then one entry per wait for a descriptor, and beside it the
  //    wait each entry belongs to. (A sleep has no descriptor.)
  std::vector<pollfd> fds;
  std::vector<Wait*> waits;
  fds.reserve(parked_.size() + 1);
  waits.reserve(parked_.size());
  fds.push_back(pollfd{wake_read_.get(), POLLIN, 0});
  for (auto& [task, w] : parked_) {
    if (w->what == Wait::For::time) continue;
    fds.push_back(pollfd{w->fd, static_cast<short>(w->what == Wait::For::read ? POLLIN : POLLOUT), 0});
    waits.push_back(w);
  }
  ++polls_;
  const int n = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms);
  if (n < 0 && errno != EINTR) fail("poll()");
  // 3. Wake the waits whose entries have any event. POLLERR, POLLHUP and
  //    POLLNVAL come without being asked for: an error or a hang-up makes
  //    the next recv()/send() say what happened; POLLNVAL (the descriptor
  //    is not open) would come back at once on every turn, so that wait
  //    fails instead.
  if (n > 0) {
    if (fds[0].revents != 0) drain_wake_pipe();  // post() wrote; run() runs them
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      wake(*waits[i - 1], (fds[i].revents & POLLNVAL) ? Wait::Outcome::failed : Wait::Outcome::ready);
    }
  }
  // 4. Deadlines that have passed.
  expire_timers();
}
//! [poll]

}  // namespace cfs
