// tests/test_loop_sockets.cpp: chapter 04's socket functions, unchanged for
// their callers, inside tasks of a loop: only the calling task waits.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <time.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../fetch.h"
#include "../io.h"
#include "../loop.h"
#include "../slow_servers.h"
#include "../socket_error.h"
#include "../tcp.h"
#include "../timeline.h"
#include "socket_test.h"

using namespace std::chrono_literals;
using cfs::Loop;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
  return v;
}

/// CPU time this thread has used (the slow servers' threads not counted).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// One connection of the echo server: read what comes, write it back.
void echo_connection(cfs::Fd fd) {
  std::array<std::byte, 4096> buffer;
  while (std::size_t n = cfs::read_some(fd.get(), buffer))
    cfs::write_all(fd.get(), std::span(buffer).first(n));
}

}  // namespace

//! [loop-echo-test]
TEST_CASE("an echo server and its clients, all tasks of one loop on one thread") {
  SocketTest test("echo on the loop");
  constexpr int kClients = 200;
  int verified = 0;
  {
    Loop loop;
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0, kClients);
    const std::uint16_t port = listener.address.port();
    loop.spawn("acceptor", [&] {
      for (int i = 0; i < kClients; ++i) {
        cfs::Fd fd = cfs::accept_client(listener.fd.get());  // parks until one comes
        Loop::current().spawn("conn " + std::to_string(fd.get()), echo_connection, std::move(fd));
      }
    });
    for (int c = 0; c < kClients; ++c) {
      loop.spawn("client", [&verified, port, c] {
        cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);  // parks until connected
        const std::vector<std::byte> sent = pattern(1000 + 97 * c, static_cast<unsigned>(c));
        cfs::write_all(fd.get(), sent);
        std::vector<std::byte> got(sent.size());
        CHECK(cfs::read_exact(fd.get(), got) == sent.size());
        if (got == sent) ++verified;
      });
    }
    loop.run();
    CHECK(loop.size() == 0);
  }
  CHECK(verified == kClients);
  test.check_all_closed();
}
//! [loop-echo-test]

TEST_CASE("a write larger than the socket buffers parks the writer until the peer reads") {
  SocketTest test("big write on the loop");
  {
    Loop loop;
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    const std::vector<std::byte> data = pattern(8 << 20, 7);  // 8 MiB: far more than fits
    std::vector<std::byte> got(data.size());
    int reader_turns = 0;
    loop.spawn("writer", [&] {
      cfs::Fd fd = cfs::accept_client(listener.fd.get());
      cfs::write_all(fd.get(), data);
    });
    loop.spawn("reader", [&] {
      cfs::Fd fd = cfs::connect_tcp("127.0.0.1", listener.address.port());
      std::size_t done = 0;
      while (done < got.size()) {
        done += cfs::read_some(fd.get(), std::span(got).subspan(done));
        ++reader_turns;
      }
    });
    loop.run();
    CHECK(got == data);
    CHECK(reader_turns > 1);  // the two took turns: the writer did park
  }  // everything closed here
  test.check_all_closed();
}

TEST_CASE("connect to a port nobody listens on: the error names the address, on the loop too") {
  SocketTest test("refused connect on the loop");
  {
    std::uint16_t port;
    {
      cfs::Listener gone = cfs::listen_tcp("127.0.0.1", 0);
      port = gone.address.port();
    }  // closed: nobody listens there now
    Loop loop;
    std::string what;
    loop.spawn("client", [&] {
      try {
        cfs::connect_tcp("127.0.0.1", port);
      } catch (const cfs::SocketError& e) {
        what = e.what();
      }
    });
    loop.run();
    CHECK(what.find("connect") != std::string::npos);
    CHECK(what.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK(what.find("Connection refused") != std::string::npos);
  }  // everything closed here
  test.check_all_closed();
}

//! [silent-peer-test]
TEST_CASE("a read with a deadline from a silent peer times out, and the task unwinds") {
  SocketTest test("silent peer");
  {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    Loop loop;
    std::string what;
    cfs::Fd silent;  // accepted, and never written to
    loop.spawn("reader", [&] {
      cfs::Fd fd = cfs::connect_tcp("127.0.0.1", listener.address.port());
      silent = cfs::accept_client(listener.fd.get());
      std::array<std::byte, 16> buffer;
      try {
        cfs::read_some(fd.get(), buffer, cfs::after(50ms));
      } catch (const cfs::TimedOut& e) {
        what = e.what();
      }
    });
    cfs::Timeline timeline(false);
    loop.run();
    CHECK(timeline.now() >= 0.050);
    CHECK(what.find("the deadline passed") != std::string::npos);
    silent.reset();
  }  // everything closed here
  test.check_all_closed();
}
//! [silent-peer-test]

//! [reset-test]
TEST_CASE("a peer that resets the connection mid-wait: the parked reader gets ECONNRESET") {
  SocketTest test("reset on the loop");
  {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    Loop loop;
    cfs::Fd served;  // the server's end, which resets the connection
    std::error_code code;
    std::string what;
    bool returned = false;
    loop.spawn("reader", [&] {
      cfs::Fd fd = cfs::connect_tcp("127.0.0.1", listener.address.port());
      served = cfs::accept_client(listener.fd.get());
      std::array<std::byte, 16> buffer;
      try {
        cfs::read_some(fd.get(), buffer);  // parks: nothing has been sent
        returned = true;  // as if the peer had closed: the reset was lost
      } catch (const cfs::SocketError& e) {
        code = e.code();
        what = e.what();
      }
    });
    loop.spawn("resetter", [&] {
      while (!served) Loop::current().sleep_for(1ms);  // the reader is parked by now
      // SO_LINGER with a zero timeout: close() sends a reset (RST), not a FIN.
      const linger abort_on_close{1, 0};
      REQUIRE(setsockopt(served.get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof abort_on_close) == 0);
      served.reset();
    });
    loop.run();
    CHECK_FALSE(returned);
    CHECK(code == std::errc::connection_reset);
    CHECK(what.find("cfs: recv(fd ") == 0);
    CHECK(what.find(std::strerror(ECONNRESET)) != std::string::npos);
  }  // everything closed here
  test.check_all_closed();
}
//! [reset-test]

namespace {
constexpr int kChunks = 3;
constexpr auto kDelay = 100ms;
constexpr double kSum = 3 * kChunks * 0.1;
constexpr double kLongest = kChunks * 0.1;
}  // namespace

//! [lua-94-on-the-loop]
TEST_CASE("on the loop, the three slow downloads take about the longest one, not the sum") {
  SocketTest test("fetch on the loop");
  {
    cfs::OneClientServer a(cfs::slow_chunks('a', kChunks, kDelay)),
        b(cfs::slow_chunks('b', kChunks, kDelay)), c(cfs::slow_chunks('c', kChunks, kDelay));
    cfs::Timeline timeline(false);
    const double cpu0 = thread_cpu_seconds();
    const std::vector<std::string> got = cfs::fetch_on_loop({a.port(), b.port(), c.port()});
    const double seconds = timeline.now(), cpu = thread_cpu_seconds() - cpu0;
    MESSAGE("on the loop: " << seconds << " s, CPU " << cpu << " s; longest server " << kLongest
                            << " s, sum " << kSum << " s");
    REQUIRE(got.size() == 3);
    CHECK(got[0] == std::string(kChunks * cfs::kChunkSize, 'a'));
    CHECK(got[2] == std::string(kChunks * cfs::kChunkSize, 'c'));
    CHECK(seconds >= 0.9 * kLongest);
    CHECK(seconds < 0.7 * kSum);  // the waits overlapped
    CHECK(cpu < 0.5 * seconds);   // and the thread slept meanwhile, unlike busy polling
  }  // everything closed here
  test.check_all_closed();
}
//! [lua-94-on-the-loop]
