// solutions/recv-timeout/recv_timeout.cpp: a reference solution of chapter
// 04's exercise 3.
#include "recv_timeout.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <string>

#include "coroutine.h"
#include "io.h"
#include "socket_error.h"

namespace cfs {

void set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};  // seconds, and the rest in microseconds
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
    throw_errno("setsockopt(SO_RCVTIMEO)", "fd " + std::to_string(fd));
  }
}

std::size_t read_some_yielding(int fd, std::span<std::byte> buffer) {
  for (;;) {
    try {
      return read_some(fd, buffer);  // blocks the thread, for the timeout at most
    } catch (const SocketError& e) {
      // Only the timeout means "try again"; a reset is an answer.
      if (e.errno_value() != EAGAIN && e.errno_value() != EWOULDBLOCK) throw;
    }
    // Out of the catch block before the switch: the C++ runtime keeps the
    // exceptions being handled per thread, not per coroutine (chapter 02),
    // and cfs::yield() refuses to switch inside a catch block.
    cfs::yield();
  }
}

}  // namespace cfs
