// exercises/reuseport/test_sharded_server.cpp: one loop per thread, all
// listening on one port with SO_REUSEPORT (chapter 06, exercise 3); clients
// on real sockets over loopback. `make exercise-06 EX=reuseport` runs them
// against your sharded_server.cpp.
#include <doctest/doctest.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

// <>: your sharded_server.h, or the reference solution's.
#include <sharded_server.h>

#include "io.h"
#include "loop_errors.h"
#include "socket_error.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;

namespace {

/// The server, or a failure that says why it could not be made.
std::unique_ptr<cfs::ShardedEchoServer> start(std::size_t shards) {
  try {
    return std::make_unique<cfs::ShardedEchoServer>(shards);
  } catch (const cfs::SocketError& e) {
    if (e.errno_value() == EADDRINUSE) {
      FAIL("a second listener could not bind the first one's port: " << std::string(e.what()) << ". Set "
           "SO_REUSEPORT on each listening socket (setsockopt, SOL_SOCKET) before bind(): the "
           "kernel shares a port only among sockets that all asked for it");
    }
    throw;
  }
}

/// Connects, sends `text`, and reads back as many bytes (or what comes
/// within 3 s): the echo.
std::string echo_of(std::uint16_t port, const std::string& text) {
  cfs::Fd c = cfs::connect_tcp("127.0.0.1", port, cfs::after(10s));
  cfs::write_all(c.get(), std::as_bytes(std::span(text)), cfs::after(10s));
  std::string got(text.size(), '\0');
  try {
    got.resize(cfs::read_exact(c.get(), std::as_writable_bytes(std::span(got)), cfs::after(3s)));
  } catch (const cfs::TimedOut&) {
    return "";
  }
  return got;
}

}  // namespace

TEST_CASE("four listeners on one port, and every connection is echoed") {
  SocketTest test("reuseport: one port", 60s);
  {
    auto server = start(4);
    REQUIRE(server->shards() == 4);
    CHECK(server->port() != 0);
    const std::string got = echo_of(server->port(), "hello, shards");
    CHECK_MESSAGE(got == "hello, shards",
                  "nothing came back within 3 s: the kernel queued the connection on one of the "
                  "listeners, but nobody accepted it there; each shard's loop must accept from "
                  "its own listener and echo (run_shard)");
  }
  test.check_all_closed();
}

TEST_CASE("the kernel spreads 60 connections over two shards, and each is served by its own loop") {
  SocketTest test("reuseport: spread", 60s);
  {
    auto server = start(2);
    int echoed = 0;
    for (int i = 0; i < 60; ++i) {
      const std::string text = "message " + std::to_string(i);
      if (echo_of(server->port(), text) != text) {
        FAIL("connection " << i << " was not echoed within 3 s (" << server->accepted(0) << " and "
             << server->accepted(1) << " accepted so far): each shard's loop must accept from its "
             "own listener and echo (run_shard)");
      }
      ++echoed;
    }
    const std::size_t a = server->accepted(0), b = server->accepted(1);
    INFO("shard 0 accepted " << a << ", shard 1 accepted " << b);
    CHECK_MESSAGE(echoed == 60, echoed << " of 60 connections were echoed");
    CHECK_MESSAGE(a + b == 60, "count each accepted connection in its shard's `accepted`");
    CHECK_MESSAGE((a > 0 && b > 0), "one shard took every connection: with SO_REUSEPORT on both "
                                    "listeners, Linux picks one by a hash of each connection's "
                                    "addresses, so 60 connections land on both");
  }
  test.check_all_closed();
}

TEST_CASE("stop() ends every shard's loop, with clients still connected, and they read end of file") {
  SocketTest test("reuseport: stop", 60s);
  {
    auto server = start(3);
    std::vector<cfs::Fd> clients;
    for (int i = 0; i < 6; ++i) {
      clients.push_back(cfs::connect_tcp("127.0.0.1", server->port(), cfs::after(10s)));
      cfs::write_all(clients.back().get(), std::as_bytes(std::span("x", 1)), cfs::after(10s));
      std::byte b[1];
      REQUIRE_MESSAGE(cfs::read_exact(clients.back().get(), b, cfs::after(3s)) == 1,
                      "a connection was not echoed");
    }
    const cfs::Deadline start_stop = cfs::Clock::now();
    server.reset();  // stop(), then join every shard's thread
    const double took = std::chrono::duration<double>(cfs::Clock::now() - start_stop).count();
    CHECK_MESSAGE(took < 5.0, "stopping took " << took << " s: each shard's loop should stop at once "
                              "(a task that waits on the shard's stop pipe, then Loop::stop())");
    int ended = 0;
    for (cfs::Fd& c : clients) {
      std::byte b[1];
      try {
        if (cfs::read_some(c.get(), b, cfs::after(3s)) == 0) ++ended;
      } catch (const cfs::SocketError&) {
        ++ended;  // a reset ends it too
      } catch (const cfs::TimedOut&) {
        // still open: counted below
      }
    }
    CHECK_MESSAGE(ended == 6, ended << " of 6 clients saw their connection end: a stopped loop "
                              "cancels its tasks, whose sockets close as they unwind");
  }
  test.check_all_closed();
}
