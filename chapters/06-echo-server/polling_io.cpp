// polling_io.cpp: non-blocking calls that yield when the kernel says "not yet".
#include "polling_io.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include "address.h"
#include "coroutine.h"
#include "socket_error.h"
#include "tcp.h"

namespace cfs::polling {

namespace {

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;  // as in io.cpp: no SIGPIPE
#else
constexpr int kSendFlags = 0;
#endif

std::atomic<std::uint64_t> not_ready{0};

/// The call found nothing to do: let the others run, then try again.
void not_ready_yet() {
  not_ready.fetch_add(1, std::memory_order_relaxed);
  cfs::yield();
}

bool would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }

[[noreturn]] void fail(const char* call, int fd) {
  const int error = errno;
  throw SocketError(call, "fd " + std::to_string(fd), std::error_code(error, std::generic_category()));
}

}  // namespace

std::uint64_t polls_not_ready() { return not_ready.load(std::memory_order_relaxed); }

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    fail("fcntl(O_NONBLOCK)", fd);
  }
}

//! [polling-connect]
Fd connect_tcp(const std::string& host, std::uint16_t port) {
  const Address a = resolve(host, port).front();
  const std::string name = a.to_string();
  Fd fd = tcp_socket(a.family(), name);
  set_nonblocking(fd.get());
  if (::connect(fd.get(), a.get(), a.length) == 0) return fd;  // done at once
  if (errno != EINPROGRESS) throw_errno("connect", name);
  // The handshake goes on in the kernel. SO_ERROR says how it ended, once
  // it has; getpeername() succeeds once we are connected.
  for (;;) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) throw_errno("getsockopt", name);
    if (error != 0) {
      throw SocketError("connect", name, std::error_code(error, std::generic_category()));
    }
    Address peer;
    peer.length = sizeof peer.storage;
    if (getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer.storage), &peer.length) == 0) return fd;
    if (errno != ENOTCONN) throw_errno("getpeername", name);
    not_ready_yet();  // still in progress
  }
}
//! [polling-connect]

//! [polling-read-some]
std::size_t read_some(int fd, std::span<std::byte> buffer) {
  if (buffer.empty()) throw std::invalid_argument("cfs: read_some() into an empty buffer");
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);  // never waits
    if (n >= 0) return static_cast<std::size_t>(n);
    if (would_block(errno)) {
      not_ready_yet();  // nothing has arrived: ask again at the next turn
    } else if (errno != EINTR) {
      fail("recv", fd);
    }
  }
}
//! [polling-read-some]

std::size_t read_exact(int fd, std::span<std::byte> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const std::size_t n = read_some(fd, buffer.subspan(done));
    if (n == 0) break;
    done += n;
  }
  return done;
}

std::size_t write_all(int fd, std::span<const std::byte> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, kSendFlags);
    if (n >= 0) {
      done += static_cast<std::size_t>(n);
    } else if (would_block(errno)) {
      not_ready_yet();  // the send buffer is full: ask again at the next turn
    } else if (errno != EINTR) {
      fail("send", fd);
    }
  }
  return done;
}

}  // namespace cfs::polling
