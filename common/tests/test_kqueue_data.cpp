// common/tests/test_kqueue_data.cpp: what EVFILT_READ and EVFILT_WRITE
// report in `data`, and how they report the end of a connection. kqueue API
// and POSIX only: the same file runs against macOS's and FreeBSD's
// <sys/event.h>.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "kqueue_test_support.h"

using namespace kqtest;

TEST_CASE("EVFILT_READ: data is the number of bytes to read") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(peer.get(), "hello");
  CHECK(wait_until(kq.get(), mine.get(), EVFILT_READ, [](const struct kevent& ev) { return ev.data == 5; }).data == 5);
  send_text(peer.get(), "!!");
  CHECK(wait_until(kq.get(), mine.get(), EVFILT_READ, [](const struct kevent& ev) { return ev.data == 7; }).data == 7);

  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(out.get(), "abc");
  const auto events = poll_events(kq.get());
  REQUIRE(find(events, in.get(), EVFILT_READ));
  CHECK(find(events, in.get(), EVFILT_READ)->data == 3);
}

TEST_CASE("EVFILT_READ on a listening socket: data is the number of connections waiting") {
  Guard guard;
  Fd kq = make_kqueue();
  sockaddr_in addr;
  Fd listener = tcp_listener(&addr);
  REQUIRE(change(kq.get(), listener.get(), EVFILT_READ, EV_ADD) == 0);
  CHECK(poll_events(kq.get()).empty());
  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(tcp_connect(addr));
  auto three = [](const struct kevent& ev) { return ev.data == 3; };
  CHECK(wait_until(kq.get(), listener.get(), EVFILT_READ, three).data == 3);

  Fd accepted(accept(listener.get(), nullptr, nullptr));
  REQUIRE(accepted.get() >= 0);
  auto two = [](const struct kevent& ev) { return ev.data == 2; };
  CHECK(wait_until(kq.get(), listener.get(), EVFILT_READ, two).data == 2);
}

TEST_CASE("EVFILT_WRITE: data is the room left in the send buffer, not the bytes queued") {
  Guard guard;
  constexpr int kSendBuffer = 64 * 1024;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair(kSendBuffer);
  const int fd = mine.get();
  set_nonblocking(fd);
  set_nonblocking(peer.get());
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD) == 0);

  // Nothing queued yet, so a count of bytes queued would say 0. The room is
  // counted in the bytes the program asked for (Linux reports SO_SNDBUF
  // doubled; that must not leak into data).
  const std::intptr_t room = wait_for(kq.get(), fd, EVFILT_WRITE).data;
  CHECK(room > 0);
  CHECK(room <= kSendBuffer);

  // It is what a write can take now: all of it goes in at once.
  std::vector<char> block(static_cast<std::size_t>(room), 'x');
  CHECK(write(fd, block.data(), block.size()) == static_cast<ssize_t>(room));

  // The peer reads nothing: fill the buffer, and the socket is not writable.
  while (write(fd, block.data(), block.size()) > 0) {
  }
  CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
  CHECK(find(poll_events(kq.get()), fd, EVFILT_WRITE) == nullptr);

  // The peer reads it all: the room comes back, all of it once acknowledged.
  auto drained = [&peer = peer, room](const struct kevent& ev) {
    char sink[16384];
    while (read(peer.get(), sink, sizeof sink) > 0) {
    }
    return ev.data == room;
  };
  CHECK(wait_until(kq.get(), fd, EVFILT_WRITE, drained).data == room);
}

TEST_CASE("EVFILT_WRITE on a pipe: data drops by what is written") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), out.get(), EVFILT_WRITE, EV_ADD) == 0);
  const std::intptr_t room = wait_for(kq.get(), out.get(), EVFILT_WRITE).data;
  CHECK(room >= 512);  // PIPE_BUF: POSIX's least
  std::vector<char> block(100, 'x');
  REQUIRE(write(out.get(), block.data(), block.size()) == 100);
  CHECK(wait_for(kq.get(), out.get(), EVFILT_WRITE).data == room - 100);
}

TEST_CASE("EV_EOF when the peer closes, with data still counting the bytes not yet read") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(peer.get(), "abc");
  peer.reset();
  auto eof = [](const struct kevent& ev) { return (ev.flags & EV_EOF) != 0; };
  struct kevent ev = wait_until(kq.get(), mine.get(), EVFILT_READ, eof);
  CHECK(ev.data == 3);
  CHECK(ev.fflags == 0);  // a clean close: no error

  char buffer[8];
  REQUIRE(read(mine.get(), buffer, sizeof buffer) == 3);
  ev = wait_for(kq.get(), mine.get(), EVFILT_READ);  // the end of file is still there
  CHECK((ev.flags & EV_EOF) != 0);
  CHECK(ev.data == 0);

  // A pipe's write end closing is an end of file too.
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(out.get(), "xy");
  out.reset();
  ev = wait_for(kq.get(), in.get(), EVFILT_READ);
  CHECK((ev.flags & EV_EOF) != 0);
  CHECK(ev.data == 2);
}

TEST_CASE("EV_EOF on a reset connection: fflags is the socket error") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
  const linger abort_on_close{1, 0};  // close() sends a reset, not a FIN
  REQUIRE(setsockopt(peer.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  peer.reset();
  auto eof = [](const struct kevent& ev) { return (ev.flags & EV_EOF) != 0; };
  const struct kevent ev = wait_until(kq.get(), mine.get(), EVFILT_READ, eof);
  CHECK(ev.fflags == static_cast<unsigned>(ECONNRESET));
}

TEST_CASE("a refused non-blocking connect: EVFILT_WRITE reports EV_EOF, and SO_ERROR still holds the error") {
  Guard guard;
  Fd kq = make_kqueue();
  sockaddr_in addr;
  tcp_listener(&addr).reset();  // a port nobody listens on any more
  // On loopback the refusal can come back before connect() returns; then
  // connect() reports it itself. Try until it says "in progress".
  Fd socket_fd;
  for (int attempt = 0; attempt < 100 && socket_fd.get() < 0; ++attempt) {
    Fd s(socket(AF_INET, SOCK_STREAM, 0));
    REQUIRE(s.get() >= 0);
    set_nonblocking(s.get());
    if (connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno == EINPROGRESS) {
      socket_fd = std::move(s);
    }
  }
  REQUIRE_MESSAGE(socket_fd.get() >= 0, "connect() never left the connection in progress");
  REQUIRE(change(kq.get(), socket_fd.get(), EVFILT_WRITE, EV_ADD) == 0);
  auto eof = [](const struct kevent& ev) { return (ev.flags & EV_EOF) != 0; };
  wait_until(kq.get(), socket_fd.get(), EVFILT_WRITE, eof);
  int error = 0;
  socklen_t len = sizeof error;
  REQUIRE(getsockopt(socket_fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0);
  CHECK(error == ECONNREFUSED);
}
