// tests/two_clients.h: Alice and Bob at one echo server, in a fixed order.
//
// Alice connects and has an echo. Then Bob connects and sends; Alice stays
// connected 200 ms longer and leaves. The order of "alice leaves" and "bob
// has his echo" on the timeline tells how the server serves: one at a time
// (Bob's echo waits until Alice leaves) or all at once (it does not).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <string_view>
#include <thread>
#include <vector>

#include "../echo.h"
#include "../tcp.h"
#include "../timeline.h"

inline std::vector<cfs::Timeline::Event> alice_then_bob(std::uint16_t port) {
  using namespace std::chrono_literals;
  auto bytes = [](std::string_view s) { return std::as_bytes(std::span(s)); };
  cfs::Timeline timeline(false);
  std::promise<void> alice_served, bob_connected;
  std::thread alice([&] {
    cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
    CHECK(cfs::echo_round_trip(fd.get(), bytes("hello")).size() == 5);
    alice_served.set_value();
    bob_connected.get_future().wait();
    std::this_thread::sleep_for(200ms);  // Bob is connected all this time
    timeline.note("alice leaves");
  });
  std::thread bob([&] {
    alice_served.get_future().wait();
    cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);  // succeeds at once either way
    timeline.note("bob connected");
    bob_connected.set_value();
    CHECK(cfs::echo_round_trip(fd.get(), bytes("hi")).size() == 2);
    timeline.note("bob has his echo");
  });
  alice.join();
  bob.join();
  return timeline.events();
}
