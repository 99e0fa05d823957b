// tests/test_echo_server.cpp: the echo protocol, as a client sees it: every
// byte back, in order, however it was cut; half-close; backpressure; a
// reset that ends one connection only.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>

#include "../echo_connection.h"
#include "../loop.h"
#include "../socket_error.h"
#include "server_test.h"
#include "socket_test.h"

namespace {

/// Sends `data` in pieces of random sizes (1 byte to a quarter of it), from
/// a thread of its own, then shuts the sending side down.
std::thread send_in_pieces(int fd, const std::vector<std::byte>& data, unsigned seed) {
  return std::thread([fd, &data, seed] {
    std::mt19937 random(seed);
    std::size_t done = 0;
    while (done < data.size()) {
      const std::size_t most = std::max<std::size_t>(1, data.size() / 4);
      const std::size_t n = std::min(data.size() - done, random() % most + 1);
      cfs::write_all(fd, std::span(data).subspan(done, n), patience());
      done += n;
    }
    ::shutdown(fd, SHUT_WR);
  });
}

/// Reads in pieces of random sizes until end of file: everything that came.
std::vector<std::byte> read_in_pieces(int fd, unsigned seed) {
  std::mt19937 random(seed);
  std::vector<std::byte> got, piece(64 * 1024);
  for (;;) {
    const std::size_t want = random() % piece.size() + 1;
    const std::size_t n = cfs::read_some(fd, std::span(piece).first(want), patience());
    if (n == 0) return got;
    got.insert(got.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

}  // namespace

//! [test-sizes]
TEST_CASE("messages from 1 byte to 1 MiB come back whole and in order, however they are cut") {
  SocketTest test("sizes and splits");
  {
    RunningServer s;
    unsigned seed = 1;
    for (const std::size_t size : {1, 2, 63, 64, 4095, 4096, 4097, 16383, 16384, 16385, 65537,
                                   1 << 20}) {
      CAPTURE(size);
      const std::vector<std::byte> message = pattern(size, seed);
      cfs::Fd c = s.connect();
      std::thread sender = send_in_pieces(c.get(), message, seed);
      const std::vector<std::byte> echo = read_in_pieces(c.get(), seed + 1000);
      sender.join();
      CHECK(echo.size() == message.size());
      CHECK(echo == message);  // and then end of file: read_in_pieces stopped at it
      ++seed;
    }
  }
  test.check_all_closed();
}
//! [test-sizes]

TEST_CASE("all 256 byte values, next to every other value, come back unchanged") {
  SocketTest test("byte values");
  {
    RunningServer s;
    std::vector<std::byte> message;
    for (unsigned a = 0; a < 256; ++a) {
      for (unsigned b = 0; b < 256; ++b) {
        message.push_back(static_cast<std::byte>(a));
        message.push_back(static_cast<std::byte>(b));
      }
    }
    cfs::Fd c = s.connect();
    std::thread sender = send_in_pieces(c.get(), message, 7);
    const std::vector<std::byte> echo = read_in_pieces(c.get(), 8);
    sender.join();
    CHECK(echo == message);
  }
  test.check_all_closed();
}

TEST_CASE("pipelined messages, sent back to back without waiting, come back in order") {
  SocketTest test("pipelined");
  {
    RunningServer s;
    std::string all;
    for (int i = 0; i < 2000; ++i) all += "message " + std::to_string(i) + " of 2000;";
    const auto data = std::as_bytes(std::span(all));
    const std::vector<std::byte> message(data.begin(), data.end());
    cfs::Fd c = s.connect();
    std::thread sender([&] {
      cfs::write_all(c.get(), message, patience());  // all of them, then end of file
      ::shutdown(c.get(), SHUT_WR);
    });
    const std::vector<std::byte> echo = read_in_pieces(c.get(), 3);
    sender.join();
    CHECK(echo == message);
  }
  test.check_all_closed();
}

//! [test-half-close]
TEST_CASE("half-close: after the client's end of file, the server writes back all it has, then "
          "sends its own") {
  SocketTest test("half-close");
  {
    RunningServer s;
    const std::vector<std::byte> message = pattern(4 << 20, 5);  // more than the buffers hold
    cfs::Fd c = s.connect();
    std::thread sender([&] {
      cfs::write_all(c.get(), message, patience());
      ::shutdown(c.get(), SHUT_WR);  // our end of file, with most of the echo still to come
    });
    std::this_thread::sleep_for(100ms);  // let the server fill its side and wait
    const std::vector<std::byte> echo = read_n(c.get(), message.size());
    CHECK(echo == message);
    CHECK(reads_eof(c.get()));  // the server's end of file, after the last byte
    sender.join();
    CHECK(RunningServer::eventually([&] { return s.stats().active == 0; }));

    cfs::Fd quiet = s.connect();
    ::shutdown(quiet.get(), SHUT_WR);  // nothing sent at all
    CHECK(reads_eof(quiet.get()));
  }
  test.check_all_closed();
}
//! [test-half-close]

//! [test-reset]
TEST_CASE("a client that resets its connection mid-stream ends that connection only") {
  SocketTest test("peer reset");
  {
    RunningServer s;
    cfs::Fd steady = s.connect();
    const std::vector<std::byte> hello = pattern(100, 1);
    cfs::write_all(steady.get(), hello, patience());
    CHECK(read_n(steady.get(), hello.size()) == hello);

    cfs::Fd rude = s.connect();
    const std::vector<std::byte> lots = pattern(8 << 20, 2);
    std::size_t pushed = 0;  // as much as goes in, without reading any echo
    while (pushed < lots.size()) {
      const ssize_t n = ::send(rude.get(), lots.data() + pushed, lots.size() - pushed, MSG_NOSIGNAL);
      if (n <= 0) break;  // full: the server is parked in a write to us
      pushed += static_cast<std::size_t>(n);
    }
    // SO_LINGER with a zero timeout: close() sends a reset (RST), not an end
    // of file, and drops whatever was unread. The server's pending write
    // then fails (EPIPE or ECONNRESET, never SIGPIPE: that would end this
    // whole test program).
    const linger abort_on_close{1, 0};
    setsockopt(rude.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
    rude.reset();
    CHECK(RunningServer::eventually([&] { return s.stats().active == 1; }));

    cfs::write_all(steady.get(), hello, patience());  // the other client saw nothing of it
    CHECK(read_n(steady.get(), hello.size()) == hello);
    MESSAGE("pushed " << pushed << " bytes before the reset; connections failed: "
                      << s.stats().failed.load());
  }
  test.check_all_closed();
}
//! [test-reset]

//! [test-backpressure]
TEST_CASE("a client that stops reading: the server stops reading too, holding one buffer at most") {
  SocketTest test("backpressure");
  {
    RunningServer s;
    cfs::Fd c = s.connect();
    const std::vector<std::byte> chunk = pattern(64 * 1024, 9);
    // Send without ever reading, until the send buffer stays full for a
    // quarter of a second: the server has stopped taking our bytes.
    std::size_t sent = 0;  // the stream is `chunk`, over and over
    for (;;) {
      const std::size_t at = sent % chunk.size();
      const ssize_t n = ::send(c.get(), chunk.data() + at, chunk.size() - at, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        REQUIRE(sent < (512u << 20));  // an unbounded server would take all of it
        continue;
      }
      REQUIRE(errno == EAGAIN);
      pollfd p{c.get(), POLLOUT, 0};
      if (::poll(&p, 1, 250) == 0) break;  // no room for 250 ms: stalled
    }
    // The bytes are in the kernel's buffers (ours, the server's, both
    // ways), bounded by their sizes; the server itself holds at most one
    // buffer it has read and not yet written back.
    const std::uint64_t held = s.stats().bytes.read - s.stats().bytes.written;
    MESSAGE("stalled after " << sent << " bytes; the server holds " << held << " of them");
    CHECK(held <= cfs::kEchoBuffer);
    CHECK(sent > 0);

    // Now read: the server goes on where it stopped, and every byte comes back.
    ::shutdown(c.get(), SHUT_WR);
    std::vector<std::byte> echo = read_in_pieces(c.get(), 4);
    REQUIRE(echo.size() == sent);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < sent; ++i) wrong += echo[i] != chunk[i % chunk.size()];
    CHECK(wrong == 0);
  }
  test.check_all_closed();
}
//! [test-backpressure]

TEST_CASE("many clients at once, each with its own bytes") {
  SocketTest test("many clients");
  {
    RunningServer s;
    const std::size_t clients = heavy(200, 40);
    std::vector<cfs::Fd> c;
    for (std::size_t i = 0; i < clients; ++i) c.push_back(s.connect());
    for (std::size_t i = 0; i < clients; ++i) {  // all connected before any writes
      cfs::write_all(c[i].get(), pattern(1000 + i, static_cast<unsigned>(i)), patience());
    }
    std::size_t verified = 0;
    for (std::size_t i = clients; i-- > 0;) {    // read back in the other order
      verified += read_n(c[i].get(), 1000 + i) == pattern(1000 + i, static_cast<unsigned>(i));
    }
    CHECK(verified == clients);
    CHECK(s.stats().peak == clients);
  }
  test.check_all_closed();
}

//! [test-take-turns]
TEST_CASE("a connection whose client always has more to send still lets the others run") {
  SocketTest test("take turns");
  {
    // A stream socket pair: one end the client's, one the server's. The
    // client has written 12 buffers' worth before the loop starts, so the
    // echo task finds data at every read and room at every write: it never
    // has to wait.
    int pair[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) == 0);
    cfs::Fd client(pair[0]), server(pair[1]);
    const int big = 1 << 20;  // the kernel caps it at its maximum; enough here
    setsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(server.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    const std::size_t total = 12 * cfs::kEchoBuffer;
    const std::vector<std::byte> data = pattern(total, 12);
    REQUIRE(::send(client.get(), data.data(), data.size(), 0) == static_cast<ssize_t>(total));
    ::shutdown(client.get(), SHUT_WR);

    cfs::ByteCounts counts;
    std::uint64_t echoed_when_other_ran = 0;
    cfs::Loop loop;
    loop.spawn("busy", [&] { cfs::echo_connection(server.get(), std::chrono::seconds(0), counts); });
    loop.spawn("other", [&] { echoed_when_other_ran = counts.written; });
    loop.run();

    // The other task ran after the first buffer, not after all twelve.
    CHECK(echoed_when_other_ran == cfs::kEchoBuffer);
    CHECK(counts.written == total);
    std::vector<std::byte> echo(total + 1);
    CHECK(::recv(client.get(), echo.data(), echo.size(), 0) == static_cast<ssize_t>(total));
    echo.resize(total);
    CHECK(echo == data);
  }
  test.check_all_closed();
}
//! [test-take-turns]
