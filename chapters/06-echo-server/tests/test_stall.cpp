// tests/test_stall.cpp: coroutines over blocking I/O. One coroutine blocked
// in recv() stops every other one, the heartbeat included; over
// non-blocking sockets that yield, the heartbeat goes on.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "../heartbeat.h"
#include "../io.h"
#include "../polling_io.h"
#include "../round_robin.h"
#include "../slow_servers.h"
#include "../tcp.h"
#include "../timeline.h"
#include "socket_test.h"

using namespace std::chrono_literals;

namespace {

/// The demo's client coroutine, with a choice of I/O: connects to its
/// greeter, lets the others run until `read_at`, then reads the greeting.
template <bool kPolling>
void visit_greeter(cfs::Timeline& timeline, const std::string& name, std::uint16_t port, double read_at) {
  cfs::Fd fd = kPolling ? cfs::polling::connect_tcp("127.0.0.1", port) : cfs::connect_tcp("127.0.0.1", port);
  while (timeline.now() < read_at) cfs::yield();
  timeline.note(name + " reads");
  std::array<std::byte, 64> buffer;
  std::string greeting;
  for (;;) {
    const std::size_t n = kPolling ? cfs::polling::read_some(fd.get(), buffer) : cfs::read_some(fd.get(), buffer);
    if (n == 0) break;
    greeting.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  timeline.note(name + " got " + greeting);
}

struct Scene {
  std::vector<cfs::Timeline::Event> events;
  double at(const std::string& text) const {
    for (const auto& e : events) {
      if (e.text == text) return e.at;
    }
    FAIL("no event '" << text << "'");
    return -1;
  }
  std::vector<double> beats() const {
    std::vector<double> at;
    for (const auto& e : events) {
      if (e.text.rfind("heartbeat", 0) == 0) at.push_back(e.at);
    }
    return at;
  }
  int beats_between(double from, double to) const {
    int n = 0;
    for (double b : beats()) n += from < b && b < to;
    return n;
  }
};

/// The demo's scene: a heartbeat every 100 ms; Alice's greeter answers
/// 600 ms after she connects and she reads at 0.15 s; Bob's answers at
/// once and he reads at 0.3 s.
template <bool kPolling>
Scene scene() {
  cfs::Timeline timeline(false);
  cfs::OneClientServer alices(cfs::greeter("hello", 600ms, &timeline, "alice"));
  cfs::OneClientServer bobs(cfs::greeter("hello", 0ms));
  cfs::RoundRobin dispatcher;
  dispatcher.spawn([&] { cfs::heartbeat(timeline, 100ms, 10); });
  dispatcher.spawn([&] { visit_greeter<kPolling>(timeline, "alice", alices.port(), 0.15); });
  dispatcher.spawn([&] { visit_greeter<kPolling>(timeline, "bob", bobs.port(), 0.30); });
  dispatcher.run();
  CHECK(alices.error() == "");
  CHECK(bobs.error() == "");
  return Scene{timeline.events()};
}

}  // namespace

//! [stall-test]
TEST_CASE("a coroutine blocked in recv() stops all the others: no heartbeat while it waits") {
  SocketTest test("stall");
  const Scene s = scene<false>();
  const double reads = s.at("alice reads"), sent = s.at("alice's greeter: sent its greeting"),
               got = s.at("alice got hello");
  INFO("alice reads at " << reads << " s, her greeter sends at " << sent << " s, she has it at " << got << " s");
  REQUIRE(sent > reads + 0.2);  // she really had to wait (0.45 s unless the machine stalls)
  // While she waited in recv(), nothing else ran: not one heartbeat ...
  CHECK(s.beats_between(reads, got) == 0);
  // ... so the gap between two beats is at least her whole wait.
  double largest_gap = 0;
  const std::vector<double> beats = s.beats();
  for (std::size_t i = 1; i < beats.size(); ++i) largest_gap = std::max(largest_gap, beats[i] - beats[i - 1]);
  CHECK(largest_gap >= 0.9 * (sent - reads));
  // Bob wanted to read at 0.3 s and his greeting was there: he read it
  // only after Alice had hers.
  CHECK(s.at("bob got hello") > got);
  test.check_all_closed();
}
//! [stall-test]

TEST_CASE("over non-blocking sockets that yield, the heartbeat goes on while a coroutine waits") {
  SocketTest test("busy polling keeps the heartbeat");
  const std::uint64_t polls = cfs::polling::polls_not_ready();
  const Scene s = scene<true>();
  const double reads = s.at("alice reads"), got = s.at("alice got hello");
  INFO("alice reads at " << reads << " s and has her greeting at " << got << " s");
  REQUIRE(got > reads + 0.2);
  CHECK(s.beats_between(reads, got) >= 2);     // the heartbeat went on
  CHECK(s.at("bob got hello") < got);          // and Bob was not held up
  CHECK(cfs::polling::polls_not_ready() - polls > 100);  // at the price of asking, over and over
  test.check_all_closed();
}
