// tests/test_echo.cpp: the blocking echo server and client: round trips of
// every size, and a second client that waits for the first.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "../echo.h"
#include "../tcp.h"
#include "socket_test.h"
#include "two_clients.h"

using namespace std::chrono_literals;

namespace {

std::vector<std::byte> pattern(std::size_t size, unsigned seed) {
  std::vector<std::byte> data(size);
  for (std::size_t i = 0; i < size; ++i) data[i] = std::byte((i * 31 + seed) % 251);
  return data;
}

}  // namespace

TEST_CASE("echo round trips of 1 byte to 1 MiB, over IPv4 and IPv6 loopback") {
  SocketTest test("echo round trips");
  const std::vector<std::size_t> sizes = {1, 2, 100, 1460, 4096, 16384, 16385, 65536, 65537, 1 << 20};
  for (const std::string host : {"127.0.0.1", "::1"}) {
    CAPTURE(host);
    cfs::Listener listener = cfs::listen_tcp(host, 0);
    std::thread server([&] { cfs::serve_one_at_a_time(listener.fd.get(), 1); });
    {
      cfs::Fd client = cfs::connect_tcp(host, listener.address.port());
      unsigned seed = 0;
      for (std::size_t size : sizes) {
        CAPTURE(size);
        const std::vector<std::byte> data = pattern(size, ++seed);
        const std::vector<std::byte> echo = cfs::echo_round_trip(client.get(), data);
        REQUIRE(echo.size() == size);
        CHECK(echo == data);
      }
    }  // the client leaves: the server's read_some() returns 0, and it returns
    server.join();
  }
  test.check_all_closed();
}

//! [second-client-waits]
TEST_CASE("the blocking server makes a second client wait until the first one leaves") {
  SocketTest test("one at a time");
  std::vector<cfs::Timeline::Event> events;
  {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    std::thread server([&] { cfs::serve_one_at_a_time(listener.fd.get(), 2); });
    events = alice_then_bob(listener.address.port());
    server.join();
  }
  REQUIRE(events.size() == 3);
  CHECK(events[0].text == "bob connected");  // the kernel accepted him at once ...
  CHECK(events[1].text == "alice leaves");   // ... but his echo came only after this
  CHECK(events[2].text == "bob has his echo");
  CHECK(events[2].at - events[0].at >= 0.9 * 0.2);  // he waited Alice's 200 ms
  test.check_all_closed();
}
//! [second-client-waits]
