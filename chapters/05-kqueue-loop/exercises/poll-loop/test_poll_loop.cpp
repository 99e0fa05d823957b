// exercises/poll-loop/test_poll_loop.cpp: chapter 05's loop on poll(2)
// (exercise 3), with tasks on real TCP connections over loopback.
// `make exercise-05 EX=poll-loop` runs them against your poll_loop.cpp.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

// <>: your poll_loop.h, or the reference solution's.
#include <poll_loop.h>

#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;
using cfs::PollLoop;

namespace {

/// A connected TCP pair on loopback, both ends non-blocking (chapter 05's
/// sockets are); made outside any loop.
struct Pair {
  cfs::Fd a, b;
  static Pair make() {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    Pair p;
    p.a = cfs::connect_tcp("127.0.0.1", listener.address.port());
    p.b = cfs::accept_client(listener.fd.get());
    return p;
  }
};

/// recv() in a task of a PollLoop: waits on the loop when nothing is there.
std::size_t recv_some(int fd, std::span<std::byte> buffer, cfs::Deadline deadline) {
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw std::system_error(errno, std::generic_category(), "recv");
    PollLoop::current().wait_readable(fd, deadline);
  }
}

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;  // EPIPE, not SIGPIPE
#else
constexpr int kSendFlags = 0;  // macOS: the socket has SO_NOSIGPIPE
#endif

/// send() of one byte in a task of a PollLoop.
void send_byte(int fd, std::byte b, cfs::Deadline deadline) {
  for (;;) {
    if (::send(fd, &b, 1, kSendFlags) == 1) return;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw std::system_error(errno, std::generic_category(), "send");
    PollLoop::current().wait_writable(fd, deadline);
  }
}

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

constexpr char kNeverWoken[] =
    "a task waiting to read was not woken when its data came, only by its deadline: build a "
    "pollfd for each parked wait for a descriptor (POLLIN to read, POLLOUT to write), call "
    "::poll(), and wake the task whose entry has revents";

}  // namespace

TEST_CASE("two tasks ping-pong 1,000 times over TCP: each wakes when its byte comes") {
  SocketTest test("poll-loop: ping-pong", 120s);
  {
    Pair pair = Pair::make();
    constexpr int kRounds = 1000;
    int rounds = 0;
    std::string failure;
    PollLoop loop;
    loop.spawn("ping", [&] {
      std::array<std::byte, 1> b;
      try {
        for (int i = 0; i < kRounds; ++i) {
          send_byte(pair.a.get(), std::byte{1}, cfs::after(5s));
          if (recv_some(pair.a.get(), b, cfs::after(5s)) != 1) return;
          ++rounds;
        }
      } catch (const cfs::TimedOut& e) {
        failure = e.what();
      }
    });
    loop.spawn("pong", [&] {
      std::array<std::byte, 1> b;
      try {
        while (recv_some(pair.b.get(), b, cfs::after(5s)) == 1) send_byte(pair.b.get(), b[0], cfs::after(5s));
      } catch (const cfs::TimedOut&) {
      }
    });
    loop.spawn("closer", [&] {
      while (rounds < kRounds && failure.empty()) PollLoop::current().sleep_for(10ms);
      pair.a.reset();  // pong reads end of file and ends
    });
    loop.run();
    if (!failure.empty()) FAIL(failure << " after " << rounds << " round trips: " << kNeverWoken);
    CHECK(rounds == kRounds);
    CHECK(loop.size() == 0);
  }
  test.check_all_closed();
}

TEST_CASE("300 silent connections and a busy pair: only the tasks whose descriptor is ready wake") {
  SocketTest test("poll-loop: silent connections", 120s);
  {
    constexpr int kSilent = 300;
    std::vector<Pair> silent;
    for (int i = 0; i < kSilent; ++i) silent.push_back(Pair::make());
    Pair busy = Pair::make();
    int spurious = 0;   // a silent task woke, and there was nothing to read
    int ended = 0;      // silent tasks that saw their end of file
    int rounds = 0;
    std::string failure;
    PollLoop loop;
    for (int i = 0; i < kSilent; ++i) {
      loop.spawn("silent", [&, fd = silent[i].b.get()] {
        std::array<std::byte, 1> b;
        try {
          for (;;) {
            PollLoop::current().wait_readable(fd, cfs::after(8s));
            const ssize_t n = ::recv(fd, b.data(), 1, 0);
            if (n == 0) break;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++spurious;
          }
          ++ended;
        } catch (const cfs::TimedOut& e) {
          failure = e.what();
        }
      });
    }
    // A ping-pong of two tasks: each turn of the loop, poll() reports one
    // busy descriptor ready, and 300 silent ones not.
    loop.spawn("ping", [&] {
      std::array<std::byte, 1> b;
      try {
        for (; rounds < 200; ++rounds) {
          send_byte(busy.a.get(), std::byte{7}, cfs::after(3s));
          if (recv_some(busy.a.get(), b, cfs::after(3s)) != 1) break;
        }
      } catch (const cfs::TimedOut& e) {
        failure = e.what();
      }
      busy.a.reset();                      // pong reads end of file
      for (Pair& p : silent) p.a.reset();  // and the silent ones too
    });
    loop.spawn("pong", [&] {
      std::array<std::byte, 1> b;
      try {
        while (recv_some(busy.b.get(), b, cfs::after(3s)) == 1) send_byte(busy.b.get(), b[0], cfs::after(3s));
      } catch (const cfs::TimedOut&) {
      }
    });
    loop.run();
    if (!failure.empty()) FAIL(failure << " (after " << rounds << " busy round trips): " << kNeverWoken);
    CHECK(rounds == 200);
    CHECK_MESSAGE(ended == kSilent, ended << " of " << kSilent << " silent tasks saw their end of "
                                    "file: a peer that closes makes its descriptor readable");
    CHECK_MESSAGE(spurious == 0, "silent tasks woke " << spurious << " times with nothing to read: "
                                 "wake only the tasks whose pollfd has revents set, not every "
                                 "parked task when poll() returns");
  }
  test.check_all_closed();
}

TEST_CASE("a sleep wakes at its deadline, a silent read times out, and neither spins") {
  SocketTest test("poll-loop: deadlines", 60s);
  {
    Pair pair = Pair::make();
    double slept = 0;
    std::string timed_out;
    PollLoop loop;
    loop.spawn("sleeper", [&] {
      const auto start = std::chrono::steady_clock::now();
      PollLoop::current().sleep_for(100ms);
      slept = seconds(std::chrono::steady_clock::now() - start);
    });
    loop.spawn("reader", [&] {
      std::array<std::byte, 1> b;
      try {
        recv_some(pair.b.get(), b, cfs::after(150ms));
      } catch (const cfs::TimedOut& e) {
        timed_out = e.what();
      }
    });
    loop.run();
    CHECK_MESSAGE(slept >= 0.1, "the sleep of 100 ms ended after " << slept << " s");
    CHECK_MESSAGE(slept < 1.0, "the sleep of 100 ms ended only after " << slept << " s");
    CHECK_MESSAGE(timed_out.find("the deadline passed") != std::string::npos,
                  "a read from a silent peer with a deadline of 150 ms should throw TimedOut");
    CHECK_MESSAGE(loop.polls() < 40, "a 100 ms sleep and a 150 ms read took " << loop.polls()
                                     << " calls of poll(): round the timeout *up* to whole "
                                        "milliseconds (std::chrono::ceil), or the loop wakes just "
                                        "before the deadline and spins through the last one");
  }
  test.check_all_closed();
}

TEST_CASE("a wait on a descriptor that is not open ends at once, without spinning to its deadline") {
  SocketTest test("poll-loop: a closed descriptor", 60s);
  {
    PollLoop loop;  // first: its pipe must not take the number below
    int closed = ::socket(AF_INET, SOCK_STREAM, 0);  // a number that is free once closed
    REQUIRE(closed >= 0);
    ::close(closed);
    double waited = 0;
    std::string how = "it returned";
    loop.spawn("waiter", [&] {
      const auto start = std::chrono::steady_clock::now();
      try {
        PollLoop::current().wait_readable(closed, cfs::after(2s));
      } catch (const cfs::TimedOut& e) {
        how = std::string("it threw TimedOut: ") + e.what();
      } catch (const std::system_error& e) {
        how = std::string("it threw: ") + e.what();
      }
      waited = seconds(std::chrono::steady_clock::now() - start);
    });
    loop.run();
    INFO(how << " after " << waited << " s, and poll() was called " << loop.polls() << " times");
    CHECK_MESSAGE(waited < 1.0, "poll() reports a descriptor that is not open with POLLNVAL in "
                                "revents, which nobody asks for: a wait whose entry has any "
                                "revents must wake (and one with POLLNVAL may fail with EBADF)");
  }
  test.check_all_closed();
}

TEST_CASE("post() from another thread wakes a loop asleep in poll()") {
  SocketTest test("poll-loop: post", 60s);
  {
    PollLoop loop;
    std::optional<double> ran_after;
    const auto start = std::chrono::steady_clock::now();
    loop.spawn("sleeper", [] { PollLoop::current().sleep_for(2s); });
    std::thread poster([&] {
      std::this_thread::sleep_for(100ms);  // the loop sleeps in poll() by now
      loop.post([&] { ran_after = seconds(std::chrono::steady_clock::now() - start); });
    });
    loop.run();
    poster.join();
    REQUIRE_MESSAGE(ran_after.has_value(), "the posted function never ran");
    CHECK_MESSAGE(*ran_after < 1.0,
                  "the function posted at 0.1 s ran at " << *ran_after << " s, when the sleeper's "
                  "deadline woke the loop: put the wake-up pipe's read end (wake_read_) in the "
                  "pollfd array too, and drain it when it is readable (drain_wake_pipe())");
  }
  test.check_all_closed();
}
