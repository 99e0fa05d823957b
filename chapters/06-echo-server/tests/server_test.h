// tests/server_test.h: what the tests of the echo server share.
//
//   RunningServer s({.idle_timeout = 300ms});   // an EchoServer, run() on a thread
//   cfs::Fd c = s.connect();                     // a client: blocking calls, in poll(2)
//   ...
//   s.stop_and_join();                           // as SIGTERM would, then run() returns
//
// The clients are the test's own thread (or threads it starts), outside any
// loop: chapter 05's socket calls then wait in poll(2), as blocking calls
// would. Every client call that waits gets a deadline, so a server that
// does not answer fails the test with TimedOut rather than hanging it.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <thread>
#include <vector>

#include "../../../common/valgrind.h"
#include "../echo_server.h"
#include "../io.h"
#include "../tcp.h"

using namespace std::chrono_literals;

/// `full` natively; `small` under qemu (CFS_EMULATED), ASan or Valgrind,
/// where every instruction costs ten to fifty times more.
inline std::size_t heavy(std::size_t full, std::size_t small) {
#if defined(CFS_EMULATED) || defined(__SANITIZE_ADDRESS__)
  (void)full;
  return small;
#else
  return cfs::valgrind::running_on_valgrind() ? small : full;
#endif
}

/// How long a client waits for any one thing before the test fails.
inline cfs::Deadline patience() { return cfs::after(60s); }

/// An EchoServer whose run() runs on a thread of its own.
struct RunningServer {
  explicit RunningServer(cfs::EchoServerOptions options = {})
      : server(std::move(options)), thread([this] { stopped_by = server.run(); }) {}
  ~RunningServer() { stop_and_join(); }

  std::uint16_t port() const { return server.address().port(); }
  const cfs::EchoServerStats& stats() const { return server.stats(); }
  cfs::Fd connect() const { return cfs::connect_tcp("127.0.0.1", port(), patience()); }

  /// stop(), then waits for run() to return.
  void stop_and_join() {
    if (!thread.joinable()) return;
    server.stop();
    thread.join();
  }

  /// Waits (up to 30 s) until `condition` holds; false if it never did.
  static bool eventually(const std::function<bool()>& condition) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  cfs::EchoServer server;
  int stopped_by = 0;
  std::thread thread;  // last: it starts once the server exists
};

/// `n` bytes that differ from one place to the next (and from one `seed`
/// to another), so that a byte out of place does not match.
inline std::vector<std::byte> pattern(std::size_t n, unsigned seed = 0) {
  std::vector<std::byte> v(n);
  std::uint32_t x = 2463534242u + seed;
  for (std::byte& b : v) {  // xorshift32
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

/// Reads until `n` bytes have come, or end of file: what came.
inline std::vector<std::byte> read_n(int fd, std::size_t n) {
  std::vector<std::byte> got(n);
  got.resize(cfs::read_exact(fd, got, patience()));
  return got;
}

/// True if the next read says end of file (after `deadline`: TimedOut).
inline bool reads_eof(int fd, cfs::Deadline deadline = patience()) {
  std::byte b[1];
  try {
    return cfs::read_some(fd, b, deadline) == 0;
  } catch (const cfs::SocketError&) {
    return false;  // a reset is not an end of file
  }
}
