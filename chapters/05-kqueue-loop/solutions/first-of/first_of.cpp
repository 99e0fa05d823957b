// solutions/first-of/first_of.cpp: a reference solution of chapter 05's
// exercise 5.
//
// The loop has no "wait for another task": a task waits for a descriptor,
// a deadline or a helper thread. So the race brings a descriptor of its
// own, a pipe: the task that calls first_of() waits to read it, and the
// last racer to end writes one byte into it. Everything the three share
// lives in a shared_ptr, since a racer may outlive the caller (when the
// caller is cancelled, it does not wait for them).
#include "first_of.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "fd.h"
#include "loop.h"

namespace cfs {

namespace {

struct Race {
  int winner = -1;           // 0 or 1: which ended first
  std::exception_ptr error;  // what the winner threw, if anything
  int running = 2;           // racers that have not ended yet
  CoroutineRef racer[2];
  Fd wake_read, wake_write;  // the caller waits on one end, the last racer writes the other
};

void nonblocking_cloexec(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "cfs: first_of: fcntl");
  }
}

/// The body of racer `i`.
void run_racer(const std::shared_ptr<Race>& race, int i, const std::function<void()>& body) {
  struct Leaving {  // on every way out, Cancelled included
    Race& race;
    ~Leaving() {
      if (--race.running == 0) {
        const char byte = 1;
        [[maybe_unused]] const ssize_t n = ::write(race.wake_write.get(), &byte, 1);
      }
    }
  } leaving{*race};
  std::exception_ptr error;
  try {
    body();
  } catch (const Cancelled&) {
    throw;  // the loser, unwinding: not a result
  } catch (...) {
    error = std::current_exception();
  }
  if (race->winner < 0) {
    race->winner = i;
    race->error = error;
    Loop::current().cancel(race->racer[1 - i]);  // its wait throws Cancelled
  }
}

}  // namespace

int first_of(std::function<void()> a, std::function<void()> b) {
  Loop& loop = Loop::current();
  auto race = std::make_shared<Race>();
  int ends[2];
  if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "cfs: first_of: pipe");
  race->wake_read.reset(ends[0]);
  race->wake_write.reset(ends[1]);
  nonblocking_cloexec(ends[0]);
  nonblocking_cloexec(ends[1]);
  // Both are spawned before either runs: each knows the other's identity.
  race->racer[0] = loop.spawn("first_of: a", run_racer, race, 0, std::move(a));
  race->racer[1] = loop.spawn("first_of: b", run_racer, race, 1, std::move(b));
  try {
    while (race->running > 0) loop.wait_readable(race->wake_read.get());
  } catch (const Cancelled&) {
    loop.cancel(race->racer[0]);  // they end at the loop's next turns
    loop.cancel(race->racer[1]);
    throw;
  }
  if (race->error) std::rethrow_exception(race->error);
  if (race->winner < 0) throw Cancelled("cfs: first_of: both were cancelled");
  return race->winner;
}

}  // namespace cfs
