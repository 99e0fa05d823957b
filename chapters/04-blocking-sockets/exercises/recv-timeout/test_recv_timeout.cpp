// exercises/recv-timeout/test_recv_timeout.cpp: a receive timeout, and a
// coroutine that yields when it fires (chapter 04, exercise 3), on real
// sockets over loopback. `make exercise-04 EX=recv-timeout` runs them
// against your recv_timeout.cpp.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

// <>: your recv_timeout.h, or the reference solution's (the include path
// decides).
#include <recv_timeout.h>

#include "coroutine.h"
#include "io.h"
#include "round_robin.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

/// A connected pair on loopback: the test writes to `client`, the code
/// under test reads `server`.
struct Pair {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::Fd client = cfs::connect_tcp("127.0.0.1", listener.address.port());
  cfs::Fd server = cfs::accept_client(listener.fd.get());

  void send(const std::string& text) const {
    cfs::write_all(client.get(), std::as_bytes(std::span(text)));
  }
};

/// Runs `action` on a thread of its own after `delay`, unless cancelled
/// first; the destructor cancels and joins.
class Later {
 public:
  Later(std::chrono::milliseconds delay, std::function<void()> action)
      : thread_([this, delay, action = std::move(action)] {
          std::unique_lock lock(mutex_);
          if (cancelled_changed_.wait_for(lock, delay, [this] { return cancelled_; })) return;
          lock.unlock();
          action();
        }) {}
  ~Later() {
    cancel();
    thread_.join();
  }
  void cancel() {
    {
      std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    cancelled_changed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cancelled_changed_;
  bool cancelled_ = false;
  std::thread thread_;  // last: it starts once the rest exists
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string text_of(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("set_receive_timeout: a blocking read from a silent peer gives up with EAGAIN") {
  SocketTest test("recv-timeout: a silent peer", 60s);
  {
    Pair pair;
    cfs::set_receive_timeout(pair.server.get(), 100ms);
    // With no timeout the read would wait for ever: 2 s on, data comes and
    // ends it.
    Later rescue(2000ms, [&pair] { pair.send("late"); });
    std::array<std::byte, 16> buffer;
    const Clock::time_point start = Clock::now();
    std::optional<cfs::SocketError> error;
    std::size_t n = 0;
    try {
      n = cfs::read_some(pair.server.get(), buffer);
    } catch (const cfs::SocketError& e) {
      error = e;
    }
    const double waited = seconds_since(start);
    rescue.cancel();
    if (!error) {
      FAIL("read_some() waited " << waited << " s and returned " << n << " bytes when data came "
           "at last: the socket has no receive timeout; set_receive_timeout() must set "
           "SO_RCVTIMEO, a struct timeval, with setsockopt()");
    }
    INFO("read_some() threw: " << std::string(error->what()));
    CHECK_MESSAGE((error->errno_value() == EAGAIN || error->errno_value() == EWOULDBLOCK),
                  "a receive timeout makes recv() fail with EAGAIN");
    CHECK_MESSAGE(waited >= 0.09, "it gave up after " << waited << " s, before 100 ms had passed");
    CHECK_MESSAGE(waited < 1.5, "it gave up only after " << waited << " s for a timeout of 100 ms: "
                                "tv_sec holds the seconds, tv_usec the rest in microseconds");
  }
  test.check_all_closed();
}

TEST_CASE("read_some_yielding: the other coroutines run while it waits, then it gets the data") {
  SocketTest test("recv-timeout: yielding while it waits", 60s);
  {
    Pair pair;
    cfs::set_receive_timeout(pair.server.get(), 50ms);
    Later sender(300ms, [&pair] { pair.send("hello"); });
    int ticks = 0;             // turns of the other coroutine
    int ticks_when_read = -1;  // ... when the reader had its data
    bool done = false;
    std::string got;
    cfs::RoundRobin dispatcher;
    dispatcher.spawn([&] {
      std::array<std::byte, 16> buffer;
      const std::size_t n = cfs::read_some_yielding(pair.server.get(), buffer);
      got = text_of(std::span(buffer).first(n));
      ticks_when_read = ticks;
      done = true;
    });
    dispatcher.spawn([&] {
      const Clock::time_point give_up = Clock::now() + 5s;
      while (!done && Clock::now() < give_up) {
        ++ticks;
        cfs::yield();
      }
    });
    try {
      dispatcher.run();
    } catch (const cfs::CoroutineError& e) {
      FAIL(std::string(e.what()) << ": catch the timeout's SocketError, leave the catch block, then call "
           "cfs::yield()");
    } catch (const cfs::SocketError& e) {
      FAIL("read_some_yielding() let the timeout out of the coroutine: " << std::string(e.what()) << ". Catch "
           "the SocketError whose errno_value() is EAGAIN, yield (after the catch block), and try "
           "again");
    }
    CHECK_MESSAGE(got == "hello", "the reader got \"" << got << "\", not what was sent");
    CHECK_MESSAGE(ticks_when_read >= 3,
                  "the other coroutine had " << ticks_when_read << " turns while the reader waited "
                  "300 ms for its data; with a timeout of 50 ms, about 6: give the others a turn "
                  "(cfs::yield()) each time the timeout fires, rather than calling recv() again "
                  "at once (and is the timeout set? without one, recv() holds the thread until "
                  "the data comes)");
  }
  test.check_all_closed();
}

TEST_CASE("read_some_yielding: end of file returns 0, and a reset is an error, not a timeout") {
  // A reader that takes every error (or end of file) for a timeout never
  // ends: then this watchdog ends the test, saying so.
  SocketTest test("recv-timeout: end of file and a reset (does the reader retry on everything?)", 30s);
  {
    Pair pair;
    cfs::set_receive_timeout(pair.server.get(), 50ms);
    Later closer(150ms, [&pair] { pair.client.reset(); });
    std::optional<std::size_t> n;
    cfs::RoundRobin dispatcher;
    dispatcher.spawn([&] {
      std::array<std::byte, 16> buffer;
      n = cfs::read_some_yielding(pair.server.get(), buffer);
    });
    try {
      dispatcher.run();
    } catch (const cfs::CoroutineError& e) {
      FAIL(std::string(e.what()) << ": catch the timeout's SocketError, leave the catch block, then "
           "call cfs::yield()");
    }
    CHECK_MESSAGE(n == std::optional<std::size_t>(0),
                  "after the peer closed, read_some_yielding() should return 0, end of file");
  }
  {
    Pair pair;
    cfs::set_receive_timeout(pair.server.get(), 50ms);
    Later resetter(150ms, [&pair] {
      const linger abort_on_close{1, 0};  // close() sends a reset, not a FIN
      setsockopt(pair.client.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
      pair.client.reset();
    });
    int error = 0;
    std::optional<std::size_t> n;
    cfs::RoundRobin dispatcher;
    dispatcher.spawn([&] {
      std::array<std::byte, 16> buffer;
      try {
        n = cfs::read_some_yielding(pair.server.get(), buffer);
      } catch (const cfs::SocketError& e) {
        error = e.errno_value();
      }
    });
    dispatcher.run();
    CHECK_MESSAGE(error == ECONNRESET,
                  "after the peer reset the connection, read_some_yielding() "
                      << (n ? "returned " + std::to_string(*n)
                            : "ended with " + std::string(std::strerror(error)))
                      << ": only EAGAIN, the timeout, means try again; let every other "
                         "SocketError go on up (ECONNRESET here)");
  }
  test.check_all_closed();
}
