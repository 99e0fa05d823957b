// common/tests/kqueue_test_support.cpp: what the kqueue tests share.
#include "kqueue_test_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace kqtest {

int open_fds() {
  DIR* dir = opendir("/dev/fd");
  REQUIRE_MESSAGE(dir != nullptr, "cannot list /dev/fd: " << std::strerror(errno));
  int count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;  // the same for every call: it includes dir's own descriptor
}

namespace {

void on_time_limit(int) {
  static const char message[] = "\nkqueue test: time limit exceeded (a kevent() call hung?)\n";
  (void)!write(STDERR_FILENO, message, sizeof message - 1);
  _exit(3);
}

}  // namespace

Guard::Guard(std::chrono::seconds limit) {
  std::signal(SIGPIPE, SIG_IGN);  // tests write to sockets whose peer is gone
  struct sigaction sa {};
  sa.sa_handler = on_time_limit;
  sigaction(SIGALRM, &sa, nullptr);
  alarm(static_cast<unsigned>(limit.count()));
  fds_before_ = open_fds();
}

Guard::~Guard() {
  alarm(0);
  CHECK_MESSAGE(open_fds() == fds_before_, "the test left descriptors open (or closed some it did not open)");
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Fd make_kqueue() {
  int kq = kqueue();
  REQUIRE_MESSAGE(kq >= 0, "kqueue(): " << std::strerror(errno));
  return Fd(kq);
}

std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  REQUIRE_MESSAGE(pipe(fds) == 0, "pipe(): " << std::strerror(errno));
  return {Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  REQUIRE(flags >= 0);
  REQUIRE(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
}

Fd tcp_listener(sockaddr_in* addr, int backlog) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE_MESSAGE(fd.get() >= 0, "socket(): " << std::strerror(errno));
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr->sin_port = 0;
  REQUIRE(bind(fd.get(), reinterpret_cast<const sockaddr*>(addr), sizeof *addr) == 0);
  socklen_t len = sizeof *addr;
  REQUIRE(getsockname(fd.get(), reinterpret_cast<sockaddr*>(addr), &len) == 0);
  REQUIRE(listen(fd.get(), backlog) == 0);
  return fd;
}

Fd tcp_connect(const sockaddr_in& addr, int sndbuf) {
  Fd fd(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE_MESSAGE(fd.get() >= 0, "socket(): " << std::strerror(errno));
  if (sndbuf > 0) {
    REQUIRE(setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) == 0);
  }
  REQUIRE_MESSAGE(connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0,
                  "connect(): " << std::strerror(errno));
  return fd;
}

std::pair<Fd, Fd> tcp_pair(int client_sndbuf) {
  sockaddr_in addr;
  Fd listener = tcp_listener(&addr);
  Fd client = tcp_connect(addr, client_sndbuf);
  Fd server(accept(listener.get(), nullptr, nullptr));
  REQUIRE_MESSAGE(server.get() >= 0, "accept(): " << std::strerror(errno));
  return {std::move(client), std::move(server)};
}

void send_text(int fd, const char* text) {
  const auto size = static_cast<ssize_t>(std::strlen(text));
  REQUIRE(write(fd, text, static_cast<size_t>(size)) == size);
}

int change(int kq, std::uintptr_t ident, short filter, unsigned short flags, unsigned fflags,
           std::intptr_t data, void* udata) {
  struct kevent ev;
  EV_SET(&ev, ident, filter, flags, fflags, data, udata);
  return kevent(kq, &ev, 1, nullptr, 0, nullptr);
}

int change_error(int kq, std::uintptr_t ident, short filter, unsigned short flags, unsigned fflags,
                 std::intptr_t data, void* udata) {
  struct kevent ev;
  EV_SET(&ev, ident, filter, flags | EV_RECEIPT, fflags, data, udata);
  struct kevent out {};
  const timespec zero{0, 0};
  const int n = kevent(kq, &ev, 1, &out, 1, &zero);
  REQUIRE_MESSAGE(n == 1, "EV_RECEIPT gave no entry (kevent returned " << n << ")");
  REQUIRE((out.flags & EV_ERROR) != 0);
  return static_cast<int>(out.data);
}

std::vector<struct kevent> poll_events(int kq) { return wait_events(kq, 0ms); }

std::vector<struct kevent> wait_events(int kq, milliseconds limit) {
  struct kevent out[16];
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(limit);
  const timespec timeout{static_cast<time_t>(secs.count()),
                         static_cast<long>(std::chrono::nanoseconds(limit - secs).count())};
  const int n = kevent(kq, nullptr, 0, out, 16, &timeout);
  REQUIRE_MESSAGE(n >= 0, "kevent(): " << std::strerror(errno));
  return std::vector<struct kevent>(out, out + n);
}

struct kevent wait_for(int kq, std::uintptr_t ident, short filter, milliseconds limit) {
  return wait_until(kq, ident, filter, [](const struct kevent&) { return true; }, limit);
}

struct kevent wait_until(int kq, std::uintptr_t ident, short filter,
                         const std::function<bool(const struct kevent&)>& good, milliseconds limit) {
  const auto start = Clock::now();
  struct kevent last {};
  bool seen = false;
  for (;;) {
    const auto left = limit - std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    REQUIRE_MESSAGE(left > 0ms, "no such event for ident " << ident << ", filter " << filter
                                    << (seen ? "; the last one had data " : "; none at all")
                                    << (seen ? last.data : 0) << ", flags " << (seen ? last.flags : 0));
    const auto events = wait_events(kq, std::min(left, milliseconds(50)));
    if (const struct kevent* ev = find(events, ident, filter)) {
      last = *ev;
      seen = true;
      if (good(*ev)) return *ev;
    }
  }
}

const struct kevent* find(const std::vector<struct kevent>& events, std::uintptr_t ident, short filter) {
  for (const struct kevent& ev : events) {
    if (ev.ident == ident && ev.filter == filter) return &ev;
  }
  return nullptr;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace kqtest
