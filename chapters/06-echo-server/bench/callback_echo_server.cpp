// bench/callback_echo_server.cpp: the benchmark's floor. An echo server
// with no coroutines at all: one thread, one kqueue (common/kqueue.h, our
// shim on Linux, as the loop uses), and a callback per event, the way event
// loops were written before coroutines. Written for the benchmark only.
//
//   callback-echo-server [--host HOST] [--port PORT]
//
// It behaves as echo-server does where the benchmark can see it: a 16 KiB
// buffer per connection, backpressure (while a write is pending, the
// connection's read filter is disabled, so nothing more is read), and
// half-close (the client's end of file is answered with ours once all is
// written back). It has none of the rest (idle timeouts, max-conns, a
// drain): SIGINT or SIGTERM simply end it.
//
// Each connection is a struct and a state, not a stack: what the coroutine
// keeps in local variables and in *where it is* in its loop, this keeps in
// `start`, `end` and in which filter is enabled.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../../../common/kqueue.h"
#include "../command_line.h"
#include "../fd_limit.h"
#include "../socket_error.h"
#include "../tcp.h"

namespace {

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;
#else
constexpr int kSendFlags = 0;  // tcp_socket() set SO_NOSIGPIPE
#endif

struct Connection {
  explicit Connection(int descriptor) : fd(descriptor) {}
  int fd;
  std::size_t start = 0, end = 0;        // bytes of `buffer` still to write back
  bool closed = false;
  std::array<std::byte, 16 * 1024> buffer;  // the same size as echo-server's
};

int kq = -1;
bool accepting_paused = false;

void change(int fd, short filter, unsigned short flags, void* udata) {
  struct kevent ev;
  EV_SET(&ev, static_cast<std::uintptr_t>(fd), filter, flags, 0, 0, udata);
  kevent(kq, &ev, 1, nullptr, 0, nullptr);
}

void close_connection(Connection& c) {
  ::close(c.fd);  // its knotes go with it
  c.closed = true;
}

//! [callback-write]
/// Writes back what is pending. If the client's receive window is full,
/// stops reading (backpressure) and waits for room instead.
void write_pending(Connection& c, bool waiting_for_room) {
  while (c.start < c.end) {
    const ssize_t n = ::send(c.fd, c.buffer.data() + c.start, c.end - c.start, kSendFlags);
    if (n > 0) {
      c.start += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waiting_for_room) {
        change(c.fd, EVFILT_READ, EV_DISABLE, &c);
        change(c.fd, EVFILT_WRITE, EV_ADD | EV_ENABLE, &c);
      }
      return;
    } else if (n < 0 && errno != EINTR) {
      close_connection(c);
      return;
    }
  }
  if (waiting_for_room) {  // all written: read again
    change(c.fd, EVFILT_WRITE, EV_DISABLE, &c);
    change(c.fd, EVFILT_READ, EV_ENABLE, &c);
  }
}
//! [callback-write]

//! [callback-read]
void on_readable(Connection& c) {
  const ssize_t n = ::recv(c.fd, c.buffer.data(), c.buffer.size(), 0);
  if (n > 0) {
    c.start = 0;
    c.end = static_cast<std::size_t>(n);
    write_pending(c, false);
  } else if (n == 0) {  // the client's end of file; nothing is pending (or we would not read)
    ::shutdown(c.fd, SHUT_WR);
    close_connection(c);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    close_connection(c);
  }
}
//! [callback-read]

void accept_all(int listen_fd) {
  for (;;) {
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop watching the listener until a
        // connection closes (a level-triggered filter would spin).
        change(listen_fd, EVFILT_READ, EV_DISABLE, nullptr);
        accepting_paused = true;
      }
      return;  // EAGAIN: all taken; anything else: try at the next event
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto* c = new Connection(fd);
    change(fd, EVFILT_READ, EV_ADD, c);  // level-triggered
  }
}

void usage(std::FILE* to, const char* program) {
  std::fprintf(to,
               "usage: %s [--host HOST] [--port PORT]\n"
               "  A callback echo server on kqueue, without coroutines: the benchmark's floor.\n"
               "  --host HOST  the address to listen on (default 127.0.0.1)\n"
               "  --port PORT  0 to 65535 (default 0: any free port, printed)\n",
               program);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  try {
    cfs::CommandLine args(argc, argv);
    while (args.next()) {
      if (args.is("--help")) {
        usage(stdout, argv[0]);
        return 0;
      } else if (args.is("--host")) {
        host = args.text();
      } else if (args.is("--port")) {
        port = static_cast<std::uint16_t>(args.number(0, 65535));
      } else {
        args.unknown();
      }
    }
  } catch (const cfs::UsageError& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    usage(stderr, argv[0]);
    return 2;
  }
  cfs::raise_fd_limit();
  cfs::Listener listener;
  try {
    listener = cfs::listen_tcp(host, port, 65535);
  } catch (const cfs::SocketError& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  kq = kqueue();
  const int listen_fd = listener.fd.get();
  change(listen_fd, EVFILT_READ, EV_ADD, nullptr);
  std::printf("listening on %s\n", listener.address.to_string().c_str());
  std::fflush(stdout);

  //! [callback-loop]
  struct kevent events[256];
  Connection* finished[256];
  for (;;) {
    const int n = kevent(kq, nullptr, 0, events, 256, nullptr);
    std::size_t ended = 0;
    for (int i = 0; i < n; ++i) {
      if (events[i].flags & EV_ERROR) continue;
      if (events[i].udata == nullptr) {
        accept_all(listen_fd);
        continue;
      }
      auto& c = *static_cast<Connection*>(events[i].udata);
      if (c.closed) continue;  // closed by an earlier event of this batch
      if (events[i].filter == EVFILT_READ) on_readable(c);
      else write_pending(c, true);
      if (c.closed) finished[ended++] = &c;
    }
    // Freed only now: a later event of the batch may still name it.
    for (std::size_t i = 0; i < ended; ++i) delete finished[i];
    if (ended > 0 && accepting_paused) {
      change(listen_fd, EVFILT_READ, EV_ENABLE, nullptr);
      accepting_paused = false;
    }
  }
  //! [callback-loop]
}
