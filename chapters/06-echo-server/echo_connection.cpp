// echo_connection.cpp: read, write it all back, repeat; then half-close.
#include "echo_connection.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <span>
#include <string>

#include "coroutine.h"
#include "fd_wait.h"
#include "io.h"
#include "loop.h"
#include "socket_error.h"

namespace cfs {

namespace {

// As in io.cpp: no SIGPIPE for a send to a connection the peer has closed
// (Linux asks per call; on macOS the socket has SO_NOSIGPIPE).
#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

Deadline idle_deadline(Clock::duration idle) {
  return idle == Clock::duration::zero() ? no_deadline : after(idle);
}

//! [take-turns]
/// A client that keeps sending, and keeps reading, never makes its task
/// wait: each read finds data and each write finds room, so the task would
/// keep the loop to itself, and every other connection, the acceptor too,
/// would wait until that client paused. So after each buffer echoed the
/// task yields: the loop runs the others, looks at the kernel, runs the
/// tasks that look woke, and then this one reads again. (On a thread of
/// its own, without a loop, the kernel's scheduler takes care of that.)
void take_turns() {
  if (Loop::current_or_null() != nullptr) cfs::yield();
}
//! [take-turns]

//! [write-some]
/// Waits until the socket has room (if it has none), then writes as much
/// of `data` as fits, and returns how much that was. write_all() would
/// write everything before it returns, under one deadline for the whole
/// call; this lets the caller start a fresh deadline for every wait, so a
/// client that keeps reading, however slowly, is never taken for idle.
std::size_t write_some(int fd, std::span<const std::byte> data, Deadline deadline) {
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), kSendFlags);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("send", "fd " + std::to_string(fd));
    wait_writable(fd, deadline);  // parks this task until the client has read some
  }
}
//! [write-some]

}  // namespace

//! [echo-connection]
void echo_connection(int fd, Clock::duration idle, ByteCounts& counts) {
  std::array<std::byte, kEchoBuffer> buffer;  // in this task's own stack frame
  for (;;) {
    const std::size_t n = read_some(fd, buffer, idle_deadline(idle));  // parks; TimedOut
    if (n == 0) break;  // end of file: the client will send nothing more
    counts.read += n;
    // All of it goes back before the next read: no read while a write is
    // pending. That one rule is the backpressure.
    std::span<const std::byte> rest = std::span(buffer).first(n);
    while (!rest.empty()) {
      const std::size_t k = write_some(fd, rest, idle_deadline(idle));  // parks; TimedOut
      rest = rest.subspan(k);
      counts.written += k;
    }
    take_turns();  // before the next read, whether or not it would wait
  }
  // Everything the client sent has been written back: send our end of file
  // after it. (After a reset this fails with ENOTCONN; nothing is lost.)
  ::shutdown(fd, SHUT_WR);
}
//! [echo-connection]

}  // namespace cfs
