// tcp.cpp: socket, bind, listen, accept, connect.
#include "tcp.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include "fd_wait.h"
#include "socket_error.h"

namespace cfs {

namespace {

/// Close-on-exec: a program this one starts does not inherit the socket.
/// (Linux can ask for it in socket() and accept4(); macOS cannot.)
void set_cloexec(int fd, const std::string& address) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) throw_errno("fcntl(FD_CLOEXEC)", address);
}

/// On macOS a write to a connection the peer has closed raises SIGPIPE,
/// whose default action ends the process, unless the socket says not to.
/// (Linux has no such option; write_all() passes MSG_NOSIGNAL instead.)
void set_no_sigpipe([[maybe_unused]] int fd, [[maybe_unused]] const std::string& address) {
#if defined(SO_NOSIGPIPE)
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on) != 0) {
    throw_errno("setsockopt(SO_NOSIGPIPE)", address);
  }
#endif
}

//! [nonblocking]
/// Chapter 05: every socket is non-blocking. A call that cannot go on
/// returns EAGAIN (or EINPROGRESS) at once, and the caller waits as
/// fd_wait.h says: on the loop, or in poll(2).
void set_nonblocking(int fd, const std::string& address) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_errno("fcntl(O_NONBLOCK)", address);
  }
}
//! [nonblocking]

}  // namespace

Fd tcp_socket(int family, const std::string& address) {
  Fd fd(::socket(family, SOCK_STREAM, 0));
  if (!fd) throw_errno("socket", address);
  set_cloexec(fd.get(), address);
  set_no_sigpipe(fd.get(), address);
  set_nonblocking(fd.get(), address);
  return fd;
}

//! [listen]
Listener listen_tcp(const std::string& host, std::uint16_t port, int backlog) {
  std::optional<SocketError> last;
  for (const Address& a : resolve(host, port, /*passive=*/true)) {
    const std::string name = a.to_string();
    Fd fd = tcp_socket(a.family(), name);
    // Let a restarted server bind its port again at once, while connections
    // of its previous run are still in TIME_WAIT.
    const int on = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    try {
      if (::bind(fd.get(), a.get(), a.length) != 0) throw_errno("bind", name);
      if (::listen(fd.get(), backlog) != 0) throw_errno("listen", name);
    } catch (const SocketError& e) {
      last = e;  // try the next address
      continue;
    }
    Address bound = local_address(fd.get());  // with the port the kernel picked
    return Listener{std::move(fd), bound};
  }
  throw *last;  // resolve() throws rather than return an empty list
}
//! [listen]

//! [accept]
Fd accept_client(int listen_fd, Address* peer, Deadline deadline) {
  for (;;) {
    Address a;
    a.length = sizeof a.storage;
    Fd fd(::accept(listen_fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length));
    if (fd) {
      const std::string name = a.to_string();
      set_cloexec(fd.get(), name);
      set_no_sigpipe(fd.get(), name);
      set_nonblocking(fd.get(), name);  // Linux's accept() does not pass it on
      if (peer != nullptr) *peer = a;
      return fd;
    }
    // EINTR: a signal arrived while we waited. ECONNABORTED: a client gave
    // up before we took its connection. Neither is this listener's failure.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {  // nobody waiting yet
      wait_readable(listen_fd, deadline);
      continue;
    }
    throw_errno("accept", "listening fd " + std::to_string(listen_fd));
  }
}
//! [accept]

namespace {

//! [connect-finish]
/// A non-blocking connect() returns EINPROGRESS: the handshake goes on
/// without us (and after EINTR too; calling connect() again would only say
/// EALREADY). The socket becomes writable when the handshake has ended, one
/// way or the other, and SO_ERROR says which.
int finish_connect(int fd, Deadline deadline) {
  wait_writable(fd, deadline);
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}
//! [connect-finish]

}  // namespace

//! [connect]
Fd connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline) {
  std::optional<SocketError> last;
  for (const Address& a : resolve(host, port)) {
    const std::string name = a.to_string();
    Fd fd = tcp_socket(a.family(), name);
    int error = ::connect(fd.get(), a.get(), a.length) == 0 ? 0 : errno;
    if (error == EINPROGRESS || error == EINTR) error = finish_connect(fd.get(), deadline);
    if (error == 0) return fd;
    last = SocketError("connect", name, std::error_code(error, std::generic_category()));
  }
  throw *last;
}
//! [connect]

}  // namespace cfs
