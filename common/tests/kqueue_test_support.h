// common/tests/kqueue_test_support.h: what the kqueue tests share.
//
// The tests use the kqueue API and POSIX only, so that the same files build
// and run against macOS's or FreeBSD's own <sys/event.h>.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "../kqueue.h"

namespace kqtest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Descriptors open in this process (the entries of /dev/fd).
int open_fds();

/// Put first in every test: fails the test if it leaves a descriptor open
/// that it did not find open, and ends the process with a message if the
/// test runs longer than `limit` (so a hang fails instead of blocking).
class Guard {
 public:
  explicit Guard(std::chrono::seconds limit = std::chrono::seconds(30));
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  int fds_before_;
};

/// An owned descriptor, closed at the end of its scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset();  ///< closes it now

 private:
  int fd_ = -1;
};

Fd make_kqueue();
std::pair<Fd, Fd> make_pipe();  ///< {read end, write end}
void set_nonblocking(int fd);

/// A TCP socket listening on 127.0.0.1 at a free port (in `addr`).
Fd tcp_listener(sockaddr_in* addr, int backlog = 16);
/// A socket connected to `addr`; `sndbuf` > 0 sets SO_SNDBUF first.
Fd tcp_connect(const sockaddr_in& addr, int sndbuf = 0);
/// A connected TCP pair over loopback: {client, the accepted server side}.
std::pair<Fd, Fd> tcp_pair(int client_sndbuf = 0);

/// write() of the whole string; fails the test otherwise.
void send_text(int fd, const char* text);

/// Applies one change with no room for events: kevent()'s return value.
int change(int kq, std::uintptr_t ident, short filter, unsigned short flags,
           unsigned fflags = 0, std::intptr_t data = 0, void* udata = nullptr);
/// Applies one change with room for its error: the errno kevent() reports
/// for it in an EV_ERROR entry, or 0 for none.
int change_error(int kq, std::uintptr_t ident, short filter, unsigned short flags,
                 unsigned fflags = 0, std::intptr_t data = 0, void* udata = nullptr);

/// The events ready now (a zero timeout), up to 16.
std::vector<struct kevent> poll_events(int kq);
/// Waits up to `limit` for events, up to 16; empty on timeout.
std::vector<struct kevent> wait_events(int kq, milliseconds limit);
/// Waits up to `limit` for an event of (ident, filter) and returns it;
/// the test fails if none comes.
struct kevent wait_for(int kq, std::uintptr_t ident, short filter, milliseconds limit = 5000ms);
/// Waits up to `limit` for an event of (ident, filter) for which `good`
/// holds (a level-triggered event is reported again and again while its
/// data changes) and returns it; the test fails if none comes.
struct kevent wait_until(int kq, std::uintptr_t ident, short filter,
                         const std::function<bool(const struct kevent&)>& good,
                         milliseconds limit = 5000ms);
/// The event of (ident, filter) among `events`, or nullptr.
const struct kevent* find(const std::vector<struct kevent>& events, std::uintptr_t ident, short filter);

/// Milliseconds since `start`.
double ms_since(Clock::time_point start);

}  // namespace kqtest
