// tests/test_tcp.cpp: Fd, listening on a free port, connecting and accepting,
// over IPv4 and IPv6 loopback.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "../socket_error.h"
#include "../tcp.h"
#include "socket_test.h"

namespace {
bool is_open(int fd) {
  const std::vector<int> fds = cfs::open_fds();
  return std::find(fds.begin(), fds.end(), fd) != fds.end();
}
}  // namespace

TEST_CASE("Fd closes its descriptor when destroyed, and moving it moves the ownership") {
  SocketTest test("Fd");
  int number = -1;
  {
    cfs::Fd a = cfs::tcp_socket(AF_INET, "test");
    number = a.get();
    CHECK(is_open(number));
    cfs::Fd b = std::move(a);
    CHECK_FALSE(a);
    CHECK(a.get() == -1);
    CHECK(b.get() == number);
    cfs::Fd c;
    c = std::move(b);
    CHECK(is_open(number));
  }
  CHECK_FALSE(is_open(number));
  {
    cfs::Fd d = cfs::tcp_socket(AF_INET, "test");
    const int raw = d.release();  // the caller owns it now
    CHECK(is_open(raw));
    cfs::Fd e(raw);
  }
  test.check_all_closed();
}

TEST_CASE("listen_tcp on port 0 gets a free port and reports it, over IPv4 and IPv6 loopback") {
  SocketTest test("listen on port 0");
  for (const std::string host : {"127.0.0.1", "::1"}) {
    CAPTURE(host);
    const int family = host == "::1" ? AF_INET6 : AF_INET;
    cfs::Listener listener = cfs::listen_tcp(host, 0);
    const std::uint16_t port = listener.address.port();
    CHECK(port != 0);
    CHECK(listener.address.family() == family);
    CHECK(listener.address.to_string() == cfs::host_port(host, port));
    CHECK(cfs::local_address(listener.fd.get()).port() == port);

    cfs::Fd client = cfs::connect_tcp(host, port);
    cfs::Address peer;
    cfs::Fd served = cfs::accept_client(listener.fd.get(), &peer);
    // The server sees the client's address: the client's own local address.
    const cfs::Address client_side = cfs::local_address(client.get());
    CHECK(peer.family() == family);
    CHECK(peer.to_string() == client_side.to_string());
    CHECK(client_side.port() != port);  // the client got an ephemeral port of its own
  }
  CHECK(cfs::host_port("::1", 80) == "[::1]:80");
  CHECK(cfs::host_port("127.0.0.1", 80) == "127.0.0.1:80");
  test.check_all_closed();
}

TEST_CASE("listening twice on one port is a SocketError that names bind and the address") {
  SocketTest test("address in use");
  {
    cfs::Listener first = cfs::listen_tcp("127.0.0.1", 0);
    const std::uint16_t port = first.address.port();
    try {
      cfs::listen_tcp("127.0.0.1", port);
      FAIL("the second listen_tcp() on port " << port << " succeeded");
    } catch (const cfs::SocketError& e) {
      CHECK(e.call() == "bind");
      CHECK(e.address() == "127.0.0.1:" + std::to_string(port));
      CHECK(e.code() == std::errc::address_in_use);
      CHECK(e.errno_value() == EADDRINUSE);
      CHECK(std::string(e.what()) ==
            "cfs: bind(127.0.0.1:" + std::to_string(port) + "): " + std::strerror(EADDRINUSE));
    }
  }
  test.check_all_closed();
}
