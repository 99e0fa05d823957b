// tests/test_load_client.cpp: the load client measures, and it catches
// servers that are wrong: a flipped byte, an extra one, an early close,
// while a server that sends its echo back a byte at a time is right.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <array>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../latency_histogram.h"
#include "../load_client.h"
#include "../slow_servers.h"
#include "../tcp.h"
#include "server_test.h"
#include "socket_test.h"

namespace {

/// A one-client echo server that does `change` to each piece before
/// writing it back (the piece, and how many bytes came before it).
cfs::OneClientServer::Body echo_with(std::function<void(std::vector<std::byte>&, std::size_t)> change) {
  return [change](int fd, cfs::OneClientServer&) {
    std::array<std::byte, 4096> buffer;
    std::size_t before = 0;
    while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
      std::vector<std::byte> piece(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
      change(piece, before);
      before += n;
      cfs::write_all(fd, piece, patience());
    }
    ::shutdown(fd, SHUT_WR);
  };
}

/// Accepts one client of `listener` on a thread of its own and runs `body`
/// with its socket; what it threw lands in `error`. (Two of these on one
/// listener serve two clients two ways.)
std::thread serve_one(cfs::Listener& listener, std::function<void(int fd)> body, std::string& error) {
  return std::thread([&listener, body, &error] {
    try {
      cfs::Fd fd = cfs::accept_client(listener.fd.get(), nullptr, cfs::after(10s));
      body(fd.get());
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
}

/// Echoes each piece `delay` after it came, until end of file.
std::function<void(int fd)> echo_after(std::chrono::milliseconds delay) {
  return [delay](int fd) {
    std::array<std::byte, 4096> buffer;
    while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
      std::this_thread::sleep_for(delay);
      cfs::write_all(fd, std::span(buffer).first(n), patience());
    }
    ::shutdown(fd, SHUT_WR);
  };
}

/// Runs `options` with two connections to a listener of its own, one
/// served by `first`, the other by `second` (whichever accept() takes
/// first), and checks that neither server thread threw.
cfs::LoadResult two_connections(std::function<void(int fd)> first, std::function<void(int fd)> second,
                                cfs::LoadOptions options) {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  std::array<std::string, 2> errors;
  std::thread a = serve_one(listener, std::move(first), errors[0]);
  std::thread b = serve_one(listener, std::move(second), errors[1]);
  options.port = listener.address.port();
  options.connections = 2;
  const cfs::LoadResult r = cfs::run_load(options);
  a.join();
  b.join();
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  return r;
}

cfs::LoadResult one_connection(std::uint16_t port, std::uint64_t messages, std::size_t size) {
  return cfs::run_load({.port = port, .connections = 1, .size = size, .messages = messages,
                        .timeout = 10s, .close_wait = 10s});
}

}  // namespace

TEST_CASE("the latency histogram: exact below 128 ns, within 1/64 above, max exact") {
  cfs::LatencyHistogram h;
  CHECK(h.percentile(50) == 0);
  for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
  CHECK(h.count() == 100);
  CHECK(h.percentile(50) == 50);
  CHECK(h.percentile(99) == 99);
  CHECK(h.percentile(100) == 100);

  cfs::LatencyHistogram wide;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) wide.record(v * 1000);  // 1 us .. 1 s
  for (const double p : {50.0, 90.0, 99.0, 99.9}) {
    const double truth = p / 100 * 1e9;
    CAPTURE(p);
    CHECK(static_cast<double>(wide.percentile(p)) >= truth * 0.999);
    CHECK(static_cast<double>(wide.percentile(p)) <= truth * (1 + 1.0 / 64));
  }
  CHECK(wide.max() == 1'000'000'000);
  CHECK(wide.percentile(100) == 1'000'000'000);
}

//! [test-load-client]
TEST_CASE("the load client against the echo server: every message counted and checked") {
  SocketTest test("load client");
  {
    RunningServer s;
    const std::size_t connections = heavy(100, 20);
    const cfs::LoadResult r = cfs::run_load({.port = s.port(), .connections = connections,
                                             .size = 100, .messages = 50});
    CHECK(r.errors == 0);
    for (const std::string& e : r.first_errors) MESSAGE(e);
    CHECK(r.connected == connections);
    CHECK(r.messages == connections * 50);
    CHECK(r.latency.count() == r.messages);
    CHECK(r.per_connection.fewest == 50);  // each connection its 50, all counted
    CHECK(r.per_connection.median == 50);
    CHECK(r.per_connection.most == 50);
    CHECK(r.closed_cleanly == connections);  // the server's end of file after ours
    CHECK(s.stats().bytes.written == connections * 50 * 100);
    CHECK(s.stats().peak == connections);   // all open at once

    // And by time: a warm-up whose messages are not counted, then the counted ones.
    const cfs::LoadResult t = cfs::run_load({.port = s.port(), .connections = 4, .size = 64,
                                             .warmup = 100ms, .duration = 300ms});
    CHECK(t.errors == 0);
    CHECK(t.messages > 0);
    CHECK(t.all_messages > t.messages);
    CHECK(t.seconds == doctest::Approx(0.3));
  }
  test.check_all_closed();
}
//! [test-load-client]

//! [test-load-client-shares]
TEST_CASE("the shares per connection show a server that leaves one connection waiting") {
  SocketTest test("shares per connection");
  {
    // Two connections, a thread each: one echoed at once, the other 50 ms
    // late every time. The percentiles mix them; the shares tell them apart.
    const cfs::LoadResult r = two_connections(
        echo_after(0ms), echo_after(50ms),
        {.size = 64, .warmup = 50ms, .duration = 500ms, .close_wait = 10s});
    CHECK(r.errors == 0);
    CHECK(r.per_connection.fewest + r.per_connection.most == r.messages);
    CHECK(r.per_connection.fewest >= 1);
    CHECK(r.per_connection.fewest <= 11);  // 500 ms at 50 ms a message (one more at the edge)
    CHECK(r.per_connection.median == r.per_connection.fewest);  // the lower of two
    CHECK(r.per_connection.most >= 4 * r.per_connection.fewest);
    MESSAGE("counted: " << r.per_connection.fewest << " and " << r.per_connection.most);
  }
  test.check_all_closed();
}
//! [test-load-client-shares]

//! [test-load-client-last-echoes]
TEST_CASE("no connection sends its end of file while a counted echo is still to come") {
  SocketTest test("last echoes");
  {
    // One connection echoed at once, the other 200 ms late every time: the
    // late one's last counted message comes back after the counted seconds.
    // Until it has, the quick one must not start closing: 10,000 closing
    // connections would slow the echoes still counted, and the p99 would
    // measure the closing.
    cfs::Clock::time_point quick_end_of_file{}, late_last_echo{};
    auto quick = [&quick_end_of_file](int fd) {
      std::array<std::byte, 4096> buffer;
      while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
        cfs::write_all(fd, std::span(buffer).first(n), patience());
      }
      quick_end_of_file = cfs::Clock::now();
      ::shutdown(fd, SHUT_WR);
    };
    auto late = [&late_last_echo](int fd) {
      std::array<std::byte, 4096> buffer;
      while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
        std::this_thread::sleep_for(200ms);
        late_last_echo = cfs::Clock::now();  // before the write: the client cannot have it yet
        cfs::write_all(fd, std::span(buffer).first(n), patience());
      }
      ::shutdown(fd, SHUT_WR);
    };
    const cfs::LoadResult r = two_connections(
        quick, late, {.size = 64, .warmup = 50ms, .duration = 500ms, .close_wait = 10s});
    CHECK(r.errors == 0);
    CHECK(r.closed_cleanly == 2);
    CHECK(quick_end_of_file > late_last_echo);
    CHECK(r.latency.max() >= 200'000'000);  // ns: the late one's counted messages are in
  }
  test.check_all_closed();
}
//! [test-load-client-last-echoes]

TEST_CASE("a connection the server closes while it waits for the others: an error that says so") {
  SocketTest test("closed while waiting");
  {
    // One message per connection. One server echoes it and closes at once;
    // the other echoes 300 ms late, so the first connection, done, waits
    // for it when the server's end of file comes.
    auto echo_once_then_close = [](int fd) {
      std::array<std::byte, 64> message;
      if (cfs::read_exact(fd, message, patience()) == message.size()) {
        cfs::write_all(fd, message, patience());
      }
    };  // the socket closes here
    const cfs::LoadResult r =
        two_connections(echo_once_then_close, echo_after(300ms),
                        {.size = 64, .messages = 1, .timeout = 10s, .close_wait = 10s});
    CHECK(r.messages == 2);  // both echoed in full, and counted
    CHECK(r.errors == 1);
    REQUIRE(r.first_errors.size() == 1);
    CHECK(r.first_errors[0].find("the server closed the connection before our end of file (after "
                                 "message 1, echoed in full)") != std::string::npos);
    CHECK(r.closed_cleanly == 1);  // the late one
  }
  test.check_all_closed();
}

//! [test-load-client-unanswered]
TEST_CASE("a connection never answered: its message counted as unanswered, its share 0") {
  SocketTest test("unanswered");
  {
    // Two connections: one echoed at once; the other read and never answered.
    auto silent = [](int fd) {
      std::array<std::byte, 4096> buffer;
      while (cfs::read_some(fd, buffer, patience()) != 0) {
      }
    };
    const cfs::LoadResult r = two_connections(
        echo_after(0ms), silent,
        {.size = 64, .warmup = 50ms, .duration = 300ms, .timeout = 1s, .close_wait = 10s});
    CHECK(r.errors == 1);  // the silent one's connection, given up
    REQUIRE(r.first_errors.size() == 1);
    CHECK(r.first_errors[0].find("message 1 not echoed within the timeout") != std::string::npos);
    CHECK(r.unanswered == 1);
    CHECK(r.messages > 0);  // the quick one's, after the warm-up
    CHECK(r.latency.count() == r.messages);  // the answered ones only
    CHECK(r.latency.max() < 1'000'000'000);  // ns: none waited the timeout
    CHECK(r.per_connection.fewest == 0);     // the silent one is among the shares
    CHECK(r.per_connection.most == r.messages);
  }
  test.check_all_closed();
}
//! [test-load-client-unanswered]

TEST_CASE("the load client takes an echo that comes back a byte at a time (short reads)") {
  SocketTest test("short reads");
  {
    cfs::OneClientServer dribbler([](int fd, cfs::OneClientServer&) {
      std::array<std::byte, 4096> buffer;
      while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
        for (std::size_t i = 0; i < n; ++i) {
          cfs::write_all(fd, std::span(buffer).subspan(i, 1), patience());
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
      ::shutdown(fd, SHUT_WR);
    });
    const cfs::LoadResult r = one_connection(dribbler.port(), 3, 64);
    CHECK(r.errors == 0);
    CHECK(r.messages == 3);
  }
  test.check_all_closed();
}

TEST_CASE("a late first echo: the warm-up waits for it, and does not count it") {
  SocketTest test("late first echo");
  {
    // The first echo comes 500 ms late, long after the 100 ms warm-up
    // asked for; every later one at once.
    cfs::OneClientServer late([](int fd, cfs::OneClientServer& self) {
      std::array<std::byte, 4096> buffer;
      bool first = true;
      while (const std::size_t n = cfs::read_some(fd, buffer, patience())) {
        if (std::exchange(first, false) && !self.pause(500ms)) return;
        cfs::write_all(fd, std::span(buffer).first(n), patience());
      }
      ::shutdown(fd, SHUT_WR);
    });
    const cfs::LoadResult r = cfs::run_load({.port = late.port(), .connections = 1, .size = 64,
                                             .warmup = 100ms, .duration = 800ms, .close_wait = 10s});
    CHECK(r.errors == 0);
    // The count began when every connection (here the one) had had an echo.
    CHECK(r.warmup_seconds >= 0.5);
    CHECK(r.warmup_seconds < 5);
    CHECK(r.seconds == doctest::Approx(0.8));
    CHECK(r.messages > 0);                    // sent after the late echo, all counted
    CHECK(r.all_messages >= r.messages + 1);  // the late one is among all, not the counted
    CHECK(r.latency.count() == r.messages);
    CHECK(r.latency.percentile(100) < 400'000'000);  // ns: its 500 ms is not in the figures
  }
  test.check_all_closed();
}

//! [test-load-client-catches]
TEST_CASE("the load client catches a flipped byte, an extra byte, and an early close") {
  SocketTest test("wrong servers");
  {
    cfs::OneClientServer flips(echo_with([](std::vector<std::byte>& piece, std::size_t before) {
      if (before <= 100 && 100 < before + piece.size()) piece[100 - before] ^= std::byte{0x20};
    }));
    cfs::LoadResult r = one_connection(flips.port(), 5, 64);
    CHECK(r.errors == 1);
    REQUIRE(r.first_errors.size() == 1);
    // Byte 100 of the stream is byte 36 of the second 64-byte message.
    CHECK(r.first_errors[0].find("byte 36 of message 2 differs") != std::string::npos);
    MESSAGE(r.first_errors[0]);

    cfs::OneClientServer adds(echo_with([](std::vector<std::byte>& piece, std::size_t before) {
      if (before == 0) piece.push_back(std::byte{0});
    }));
    r = one_connection(adds.port(), 5, 64);
    CHECK(r.errors == 1);
    REQUIRE(r.first_errors.size() == 1);
    // All 65 bytes come in one read (one send, on loopback): more than sent.
    CHECK(r.first_errors[0].find("more bytes came back than were sent") != std::string::npos);

    cfs::OneClientServer quits([](int fd, cfs::OneClientServer&) {
      std::array<std::byte, 64> first;
      cfs::read_exact(fd, first, patience());
      cfs::write_all(fd, std::span(first).first(32), patience());  // half of it...
      ::shutdown(fd, SHUT_WR);                                     // ...and our end of file
      while (cfs::read_some(fd, first, patience()) != 0) {
      }
    });
    r = one_connection(quits.port(), 5, 64);
    CHECK(r.errors == 1);
    REQUIRE(r.first_errors.size() == 1);
    CHECK(r.first_errors[0].find("closed the connection after 32 of 64 bytes of message 1") !=
          std::string::npos);
  }
  test.check_all_closed();
}
//! [test-load-client-catches]

TEST_CASE("the load client reports a server that is not there, per connection") {
  SocketTest test("nobody there");
  std::uint16_t port;
  {
    cfs::Listener gone = cfs::listen_tcp("127.0.0.1", 0);
    port = gone.address.port();
  }
  const cfs::LoadResult r = cfs::run_load({.port = port, .connections = 3, .messages = 1});
  CHECK(r.connected == 0);
  CHECK(r.errors == 3);
  REQUIRE(!r.first_errors.empty());
  CHECK(r.first_errors[0].find("Connection refused") != std::string::npos);
  test.check_all_closed();
}

//! [test-full-queue]
TEST_CASE("a full accept queue drops a client's handshake, and its connect waits a second for the retry") {
  SocketTest test("full accept queue");
  {
    // Backlog 0: Linux keeps one finished handshake for accept() and drops
    // the next client's SYN while that one waits; the client's kernel
    // sends the SYN again a second later (then 3, 7, 15 s after the first
    // try, the wait doubling each time). This is
    // why 10,000 clients connecting at once to a server that accepts too
    // slowly (a busy machine) can take a minute to be all connected.
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0, /*backlog=*/0);
    std::vector<std::thread> echoers;
    std::thread acceptor([&] {
      std::this_thread::sleep_for(300ms);  // both clients try to connect meanwhile
      for (int i = 0; i < 2; ++i) {
        cfs::Fd fd = cfs::accept_client(listener.fd.get(), nullptr, patience());
        echoers.emplace_back([fd = std::move(fd)] {
          std::array<std::byte, 4096> buffer;
          while (const std::size_t n = cfs::read_some(fd.get(), buffer, patience()))
            cfs::write_all(fd.get(), std::span(buffer).first(n), patience());
          ::shutdown(fd.get(), SHUT_WR);
        });
      }
    });
    const cfs::LoadResult r = cfs::run_load({.port = listener.address.port(), .connections = 2,
                                             .size = 64, .messages = 1, .timeout = 10s,
                                             .close_wait = 10s});
    acceptor.join();
    for (std::thread& t : echoers) t.join();
    MESSAGE("connecting 2 clients to a backlog of 0 took " << r.connect_seconds << " s");
    CHECK(r.errors == 0);
    CHECK(r.connected == 2);
    CHECK(r.messages == 2);
    CHECK(r.connect_seconds >= 0.9);  // the retry, not the 300 ms before the first accept()
    CHECK(r.connect_seconds < 5);     // the first retry got in
  }
  test.check_all_closed();
}
//! [test-full-queue]
