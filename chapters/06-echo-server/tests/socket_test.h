// tests/socket_test.h: what every socket test starts with.
//
//   TEST_CASE("...") {
//     SocketTest test("echo round trips");
//     ... open sockets, start threads, join them ...
//     test.check_all_closed();
//   }
//
// A watchdog bounds the test's time (a blocking call that never returns
// fails the test instead of hanging it), and the open descriptors are
// listed at the start, so that the end can check they are all closed again.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "../../../common/open_fds.h"
#include "../../../common/watchdog.h"

struct SocketTest {
  explicit SocketTest(const std::string& name, std::chrono::seconds limit = std::chrono::seconds(120))
      : watchdog(limit, name) {}

  void check_all_closed() const {
    const std::vector<int> after = cfs::open_fds();
    CHECK_MESSAGE(after == fds_before, "open before: " << cfs::describe_fds(fds_before)
                                                       << "\nopen after:  " << cfs::describe_fds(after));
  }

  cfs::Watchdog watchdog;
  const std::vector<int> fds_before = cfs::open_fds();
};
