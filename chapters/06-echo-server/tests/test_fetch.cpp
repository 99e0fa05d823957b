// tests/test_fetch.cpp: Programming in Lua 9.4 on loopback: three slow
// servers, fetched one after another, by coroutines over blocking sockets,
// and by busy polling.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../fetch.h"
#include "../polling_io.h"
#include "../slow_servers.h"
#include "../timeline.h"
#include "socket_test.h"

using namespace std::chrono_literals;

namespace {

constexpr int kChunks = 3;
constexpr auto kDelay = 100ms;
constexpr double kSum = 3 * kChunks * 0.1;  // every delay of every server
constexpr double kLongest = kChunks * 0.1;  // one server's delays

/// Three slow servers ('a', 'b', 'c'), fetched with `fetch_all`; checks
/// the payloads and returns the seconds it took.
double fetch_three(std::vector<std::string> (*fetch_all)(const std::vector<std::uint16_t>&)) {
  cfs::OneClientServer a(cfs::slow_chunks('a', kChunks, kDelay)), b(cfs::slow_chunks('b', kChunks, kDelay)),
      c(cfs::slow_chunks('c', kChunks, kDelay));
  cfs::Timeline timeline(false);
  const std::vector<std::string> got = fetch_all({a.port(), b.port(), c.port()});
  const double seconds = timeline.now();
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::string(kChunks * cfs::kChunkSize, 'a'));
  CHECK(got[1] == std::string(kChunks * cfs::kChunkSize, 'b'));
  CHECK(got[2] == std::string(kChunks * cfs::kChunkSize, 'c'));
  CHECK(a.error() == "");
  return seconds;
}

}  // namespace

//! [sum-of-delays]
TEST_CASE("one after another, the fetch takes the sum of the delays") {
  SocketTest test("fetch sequentially");
  const double seconds = fetch_three(cfs::fetch_sequentially);
  MESSAGE("one after another: " << seconds << " s; sum of the delays " << kSum << " s");
  CHECK(seconds >= 0.9 * kSum);
  test.check_all_closed();
}

TEST_CASE("coroutines over blocking sockets take the sum of the delays too") {
  SocketTest test("fetch in coroutines");
  const double seconds = fetch_three(cfs::fetch_in_coroutines);
  MESSAGE("coroutines, blocking: " << seconds << " s; sum of the delays " << kSum << " s");
  CHECK(seconds >= 0.9 * kSum);      // at least 0.9 x the sum of the delays,
  CHECK(seconds > 2.5 * kLongest);  // which is clearly more than the longest
  test.check_all_closed();
}
//! [sum-of-delays]

TEST_CASE("busy polling takes about the longest server's delays, asking all the while") {
  SocketTest test("fetch by busy polling");
  const std::uint64_t polls = cfs::polling::polls_not_ready();
  const double seconds = fetch_three(cfs::fetch_polling_all);
  const std::uint64_t wasted = cfs::polling::polls_not_ready() - polls;
  MESSAGE("busy polling: " << seconds << " s; longest server " << kLongest << " s; " << wasted
                           << " polls found nothing");
  CHECK(seconds >= 0.9 * kLongest);
  CHECK(seconds < 0.7 * kSum);  // the waits overlapped (loose: twice the expected time)
  CHECK(wasted > 100);          // and the dispatcher never stopped asking
  test.check_all_closed();
}
