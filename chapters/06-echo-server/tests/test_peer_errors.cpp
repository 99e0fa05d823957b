// tests/test_peer_errors.cpp: peers that close, reset, or are not there, and
// names that do not resolve: each a clear error, never a dead process.
#include <doctest/doctest.h>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "../../../common/child_process.h"
#include "../io.h"
#include "../socket_error.h"
#include "../tcp.h"
#include "socket_test.h"

using namespace std::chrono_literals;

namespace {

/// A connected pair on loopback: `client` connected to `served`.
struct Pair {
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  cfs::Fd client = cfs::connect_tcp("127.0.0.1", listener.address.port());
  cfs::Fd served = cfs::accept_client(listener.fd.get());
};

/// A port on which nobody listens: one the kernel just gave us, given back.
std::uint16_t unused_port(const std::string& host) {
  return cfs::listen_tcp(host, 0).address.port();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a peer that closes early: read_exact returns what came, then read_some returns 0") {
  SocketTest test("early close");
  {
    Pair pair;
    cfs::write_all(pair.served.get(), std::as_bytes(std::span("12345", 5)));
    pair.served.reset();  // close: the client reads the 5 bytes, then end of file
    std::array<std::byte, 10> buffer;
    CHECK(cfs::read_exact(pair.client.get(), buffer) == 5);
    CHECK(std::memcmp(buffer.data(), "12345", 5) == 0);
    CHECK(cfs::read_some(pair.client.get(), buffer) == 0);
    CHECK(cfs::read_some(pair.client.get(), buffer) == 0);  // and stays at end of file
    CHECK_THROWS_AS(cfs::read_some(pair.client.get(), std::span<std::byte>()), std::invalid_argument);
  }
  test.check_all_closed();
}

//! [reset]
TEST_CASE("a peer that resets the connection: ECONNRESET, reported clearly") {
  SocketTest test("reset");
  {
    Pair pair;
    // SO_LINGER with a zero timeout: close() throws the connection away and
    // sends a reset (RST) instead of the orderly end of file (FIN).
    const linger abort_on_close{1, 0};
    REQUIRE(setsockopt(pair.served.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
    pair.served.reset();
    std::array<std::byte, 16> buffer;
    try {
      cfs::read_some(pair.client.get(), buffer);
      FAIL("read_some() after a reset returned instead of throwing");
    } catch (const cfs::SocketError& e) {
      CHECK(e.code() == std::errc::connection_reset);
      CHECK(e.errno_value() == ECONNRESET);
      CHECK(e.call() == "recv");
      CHECK(contains(e.what(), "cfs: recv(fd "));
      CHECK(contains(e.what(), std::strerror(ECONNRESET)));  // "Connection reset by peer"
    }
  }
  test.check_all_closed();
}
//! [reset]

//! [no-sigpipe]
TEST_CASE("writing to a closed peer is an error (EPIPE or ECONNRESET), never a SIGPIPE") {
  SocketTest test("no SIGPIPE");
  // In a child process: were SIGPIPE raised, its default action would end
  // the process, and the test should see that rather than die of it.
  auto write_until_it_fails = [](bool through_write_all) {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    cfs::Fd mine;
    if (through_write_all) {
      mine = cfs::connect_tcp("127.0.0.1", listener.address.port());
    } else {  // the control: a socket made and written without any precaution
      mine.reset(::socket(AF_INET, SOCK_STREAM, 0));
    }
    const int fd = mine.get();
    if (!through_write_all) {
      if (::connect(fd, listener.address.get(), listener.address.length) != 0) _exit(3);
    }
    cfs::accept_client(listener.fd.get()).reset();  // the peer closes at once
    const char data[1024] = {};
    int status = 6;  // never failed
    for (int i = 0; i < 1000 && status == 6; ++i) {
      // The first writes may succeed: the data is queued before the peer's
      // answer, a reset, arrives. The write after that fails.
      try {
        if (through_write_all) {
          cfs::write_all(fd, std::as_bytes(std::span(data)));
        } else if (::send(fd, data, sizeof data, 0) < 0) {
          status = 4;
        }
      } catch (const cfs::SocketError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        status = e.code() == std::errc::broken_pipe || e.code() == std::errc::connection_reset ? 0 : 5;
      }
      std::this_thread::sleep_for(1ms);
    }
    std::fflush(stderr);
    _exit(status);
  };
  const cfs::ChildResult ours = cfs::run_in_child([&] { write_until_it_fails(true); });
  INFO("the child wrote: " << ours.err);
  CHECK_MESSAGE(ours.exited, "killed by signal " << ours.signal << " (SIGPIPE is " << SIGPIPE << ")");
  CHECK(ours.code == 0);
  CHECK((contains(ours.err, "cfs: send(fd ") &&
         (contains(ours.err, std::strerror(EPIPE)) || contains(ours.err, std::strerror(ECONNRESET)))));
  // Without MSG_NOSIGNAL or SO_NOSIGPIPE the same writes end the process:
  // the precaution is what makes the difference.
  const cfs::ChildResult control = cfs::run_in_child([&] { write_until_it_fails(false); });
  CHECK(control.signaled);
  CHECK(control.signal == SIGPIPE);
  test.check_all_closed();
}
//! [no-sigpipe]

//! [refused]
TEST_CASE("connecting to a port nobody listens on: an error that names the address") {
  SocketTest test("connection refused");
  for (const std::string host : {"127.0.0.1", "::1"}) {
    const std::uint16_t port = unused_port(host);
    const std::string address = cfs::host_port(host, port);  // "[::1]:port" for IPv6
    try {
      cfs::connect_tcp(host, port);
      FAIL("connect_tcp() to " << address << " succeeded");
    } catch (const cfs::SocketError& e) {
      CHECK(e.code() == std::errc::connection_refused);
      CHECK(e.address() == address);
      CHECK(std::string(e.what()) == "cfs: connect(" + address + "): " + std::strerror(ECONNREFUSED));
    }
  }
  test.check_all_closed();
}
//! [refused]

TEST_CASE("a host name that does not resolve: getaddrinfo's error, with the name") {
  SocketTest test("bad host");
  // A name with an empty label is malformed: the resolver rejects it
  // without asking any name server, so this test stays off the network.
  try {
    cfs::connect_tcp("bad..host", 80);
    FAIL("connect_tcp(\"bad..host\") succeeded");
  } catch (const cfs::SocketError& e) {
    CHECK(e.call() == "getaddrinfo");
    CHECK(e.address() == "bad..host:80");
    CHECK(e.code().category() == cfs::resolver_category());
    CHECK(e.errno_value() == 0);  // not an errno: an EAI_* code
    CHECK(std::string(e.what()) == "cfs: getaddrinfo(bad..host:80): " + std::string(gai_strerror(e.code().value())));
    MESSAGE("getaddrinfo said: " << std::string(e.what()));
  }
  CHECK_THROWS_AS(cfs::listen_tcp("bad..host", 0), cfs::SocketError);
  test.check_all_closed();
}
