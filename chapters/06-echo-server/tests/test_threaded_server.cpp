// tests/test_threaded_server.cpp: a thread per connection serves several
// clients at once, and stops cleanly.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../echo.h"
#include "../io.h"
#include "../socket_error.h"
#include "../threaded_echo_server.h"
#include "socket_test.h"
#include "two_clients.h"

using namespace std::chrono_literals;

namespace {

/// A recv() on `fd` that waits longer than `seconds` fails (EAGAIN) instead
/// of waiting on: a server that does not answer fails the test, clearly.
void receive_timeout(int fd, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  REQUIRE(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
}

template <class Predicate>
bool eventually(Predicate p) {
  for (int i = 0; i < 2000 && !p(); ++i) std::this_thread::sleep_for(10ms);
  return p();
}

}  // namespace

TEST_CASE("a thread per connection: the second client's echo does not wait for the first") {
  SocketTest test("thread per connection, two clients");
  cfs::ThreadedEchoServer server("127.0.0.1", 0);
  const auto events = alice_then_bob(server.address().port());
  REQUIRE(events.size() == 3);
  CHECK(events[0].text == "bob connected");
  CHECK(events[1].text == "bob has his echo");  // while Alice is still connected
  CHECK(events[2].text == "alice leaves");
  server.stop();
  test.check_all_closed();
}

//! [several-at-once]
TEST_CASE("the threaded server serves several clients at once") {
  SocketTest test("thread per connection, several clients");
  constexpr int kClients = 8;
  cfs::ThreadedEchoServer server("127.0.0.1", 0);
  std::vector<cfs::Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(cfs::connect_tcp("127.0.0.1", server.address().port()));
    receive_timeout(clients.back().get(), 30);
  }
  // Every client is connected. Now each one, last first, has a message
  // echoed while all the others stay connected and silent: a server that
  // serves one at a time would still be busy with client 0, and the recv()
  // below would time out.
  for (int i = kClients - 1; i >= 0; --i) {
    const std::string message = "client " + std::to_string(i);
    const auto echo = cfs::echo_round_trip(clients[i].get(), std::as_bytes(std::span(message)));
    CHECK(std::string(reinterpret_cast<const char*>(echo.data()), echo.size()) == message);
  }
  CHECK(server.accepted() == kClients);
  CHECK(server.active() == kClients);  // a thread each, all alive at once
  clients.clear();                     // everyone leaves
  CHECK(eventually([&] { return server.active() == 0; }));
  server.stop();
  test.check_all_closed();
}
//! [several-at-once]

TEST_CASE("stop() ends the connections still open and joins every thread") {
  SocketTest test("stop with clients connected");
  cfs::Fd a, b;
  {
    cfs::ThreadedEchoServer server("::1", 0);
    a = cfs::connect_tcp("::1", server.address().port());
    b = cfs::connect_tcp("::1", server.address().port());
    receive_timeout(a.get(), 30);
    receive_timeout(b.get(), 30);
    CHECK(cfs::echo_round_trip(a.get(), std::as_bytes(std::span("x", 1))).size() == 1);
    CHECK(eventually([&] { return server.active() == 2; }));
    server.stop();
    CHECK(server.active() == 0);
    server.stop();  // again: nothing to do
  }
  // The server shut both connections down: each client reads end of file.
  std::array<std::byte, 8> buffer;
  CHECK(cfs::read_some(a.get(), buffer) == 0);
  CHECK(cfs::read_some(b.get(), buffer) == 0);
  a.reset();
  b.reset();
  test.check_all_closed();
}
