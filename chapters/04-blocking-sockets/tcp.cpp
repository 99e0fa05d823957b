// tcp.cpp: socket, bind, listen, accept, connect.
#include "tcp.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <optional>

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

}  // namespace

Fd tcp_socket(int family, const std::string& address) {
  Fd fd(::socket(family, SOCK_STREAM, 0));
  if (!fd) throw_errno("socket", address);
  set_cloexec(fd.get(), address);
  set_no_sigpipe(fd.get(), address);
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
Fd accept_client(int listen_fd, Address* peer) {
  for (;;) {
    Address a;
    a.length = sizeof a.storage;
    Fd fd(::accept(listen_fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length));
    if (fd) {
      const std::string name = a.to_string();
      set_cloexec(fd.get(), name);
      set_no_sigpipe(fd.get(), name);
      if (peer != nullptr) *peer = a;
      return fd;
    }
    // EINTR: a signal arrived while we waited. ECONNABORTED: a client gave
    // up before we took its connection. Neither is this listener's failure.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    throw_errno("accept", "listening fd " + std::to_string(listen_fd));
  }
}
//! [accept]

namespace {

/// A blocking connect() interrupted by a signal returns EINTR, but the
/// handshake goes on without us; calling connect() again would say
/// EALREADY. So wait until the socket is writable, which is when the
/// handshake has ended, and read how it ended from SO_ERROR.
int finish_interrupted_connect(int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (poll(&p, 1, -1) < 0) {
    if (errno != EINTR) return errno;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
  return error;
}

}  // namespace

//! [connect]
Fd connect_tcp(const std::string& host, std::uint16_t port) {
  std::optional<SocketError> last;
  for (const Address& a : resolve(host, port)) {
    const std::string name = a.to_string();
    Fd fd = tcp_socket(a.family(), name);
    int error = ::connect(fd.get(), a.get(), a.length) == 0 ? 0 : errno;
    if (error == EINTR) error = finish_interrupted_connect(fd.get());
    if (error == 0) return fd;
    last = SocketError("connect", name, std::error_code(error, std::generic_category()));
  }
  throw *last;
}
//! [connect]

}  // namespace cfs
