// io.cpp: recv() and send() loops.
#include "io.h"

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>
#include <string>

#include "address.h"
#include "fd_wait.h"
#include "socket_error.h"

namespace cfs {

namespace {

// Linux: MSG_NOSIGNAL makes a send() to a closed connection fail with EPIPE
// instead of raising SIGPIPE. macOS has no such flag everywhere; there the
// socket itself was made with SO_NOSIGPIPE (tcp.cpp).
#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;
#endif

/// Throws a SocketError for `call` on `fd` with the current errno, naming
/// the peer if the socket still has one (after a reset it may not).
[[noreturn]] void fail(const char* call, int fd) {
  const int error = errno;  // getpeername() below may change errno
  Address peer;
  peer.length = sizeof peer.storage;
  std::string name = "fd " + std::to_string(fd);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length) == 0) {
    name += ", peer " + peer.to_string();
  }
  throw SocketError(call, name, std::error_code(error, std::generic_category()));
}

}  // namespace

//! [read-some]
std::size_t read_some(int fd, std::span<std::byte> buffer, Deadline deadline) {
  if (buffer.empty()) throw std::invalid_argument("cfs: read_some() into an empty buffer");
  int reported = 0;  // a socket error the wait reported (a reset), or 0
  for (;;) {
    // Never blocks (the socket is non-blocking): what has arrived, or EAGAIN.
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) {  // end of file; or a reset whose error the wait took
      if (reported == 0) return 0;
      errno = reported;
      fail("recv", fd);
    }
    if (errno == EINTR) continue;  // a signal handler ran; nothing was read
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail("recv", fd);
    reported = wait_readable(fd, deadline);  // this task parks, or this thread polls
  }
}
//! [read-some]

//! [read-exact]
std::size_t read_exact(int fd, std::span<std::byte> buffer, Deadline deadline) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const std::size_t n = read_some(fd, buffer.subspan(done), deadline);
    if (n == 0) break;  // the peer closed early: report what we have
    done += n;
  }
  return done;
}
//! [read-exact]

//! [write-all]
std::size_t write_all(int fd, std::span<const std::byte> data, Deadline deadline) {
  std::size_t done = 0;
  while (done < data.size()) {
    // Never blocks: queues what fits in the send buffer, or EAGAIN if
    // nothing does.
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, kSendFlags);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_writable(fd, deadline);  // until the peer has read some
    } else if (errno != EINTR) {
      fail("send", fd);
    }
  }
  return done;
}
//! [write-all]

}  // namespace cfs
