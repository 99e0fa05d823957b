// fd_wait.cpp: on the loop if one runs on this thread, else poll(2).
#include "fd_wait.h"

#include <poll.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "loop.h"

namespace cfs {

namespace {

/// The thread itself waits: poll(2), with the deadline as its timeout.
void poll_for(int fd, short events, Deadline deadline, const char* what) {
  pollfd p{fd, events, 0};
  for (;;) {
    int timeout_ms = -1;  // no deadline: as long as it takes
    if (deadline != no_deadline) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      timeout_ms = left.count() < 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    const int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return;  // ready (POLLERR/POLLHUP too: the next call says what)
    if (n == 0 && Clock::now() >= deadline) {
      throw TimedOut(std::string("cfs: ") + what + " on fd " + std::to_string(fd) +
                     ": the deadline passed");
    }
    if (n < 0 && errno != EINTR) {
      throw std::system_error(errno, std::generic_category(), "cfs: poll");
    }
  }
}

}  // namespace

//! [fd-wait-impl]
int wait_readable(int fd, Deadline deadline) {
  if (Loop* loop = Loop::current_or_null()) return loop->wait_readable(fd, deadline);
  poll_for(fd, POLLIN, deadline, "waiting read");
  return 0;  // poll(2) leaves the error on the socket: recv() reports it
}

void wait_writable(int fd, Deadline deadline) {
  if (Loop* loop = Loop::current_or_null()) return loop->wait_writable(fd, deadline);
  poll_for(fd, POLLOUT, deadline, "waiting write");
}
//! [fd-wait-impl]

}  // namespace cfs
