// common/tests/test_kqueue_timers.cpp: EVFILT_TIMER. kqueue API and POSIX
// only: the same file runs against macOS's and FreeBSD's <sys/event.h>.
//
// Timing bounds: a timer must never fire early (2 ms of slack for clocks of
// different granularity); the upper bounds are loose, for valgrind and qemu.
#include <doctest/doctest.h>

#include <cerrno>
#include <thread>

#include "kqueue_test_support.h"

using namespace kqtest;

TEST_CASE("EVFILT_TIMER: milliseconds unless fflags name the unit") {
  Guard guard;
  Fd kq = make_kqueue();
  struct Case {
    unsigned fflags;
    std::intptr_t data;
    double ms;
  };
  const Case cases[] = {
      {0, 40, 40},                     // milliseconds
      {NOTE_SECONDS, 1, 1000},
      {NOTE_USECONDS, 40'000, 40},
      {NOTE_NSECONDS, 40'000'000, 40},
  };
  std::uintptr_t id = 0;
  for (const Case& c : cases) {
    CAPTURE(c.fflags);
    const auto start = Clock::now();
    REQUIRE(change(kq.get(), ++id, EVFILT_TIMER, EV_ADD | EV_ONESHOT, c.fflags, c.data) == 0);
    const struct kevent ev = wait_for(kq.get(), id, EVFILT_TIMER);
    const double elapsed = ms_since(start);
    CHECK(elapsed >= c.ms - 2);
    CHECK(elapsed < c.ms + 2000);  // a wrong unit is 1000 times off
    CHECK(ev.data == 1);
  }
}

TEST_CASE("EVFILT_TIMER is periodic unless EV_ONESHOT, and data counts the expirations since the last delivery") {
  Guard guard;
  Fd kq = make_kqueue();
  constexpr double kPeriod = 20;
  const auto start = Clock::now();
  REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD, 0, 20) == 0);
  std::this_thread::sleep_for(210ms);  // about ten periods, unread
  const auto first_look = Clock::now();
  struct kevent ev = wait_for(kq.get(), 1, EVFILT_TIMER);
  CHECK(ev.data >= 8);  // ten, less a little for a slow machine
  CHECK(ev.data <= ms_since(start) / kPeriod + 1);

  // Counting starts again at that delivery, which came after first_look.
  ev = wait_for(kq.get(), 1, EVFILT_TIMER);
  const double elapsed = ms_since(first_look);
  CHECK(ev.data >= 1);
  CHECK(ev.data <= elapsed / kPeriod + 1);
  CHECK(change(kq.get(), 1, EVFILT_TIMER, EV_DELETE) == 0);  // still there

  // EV_ONESHOT: one expiry, then the knote is gone.
  REQUIRE(change(kq.get(), 2, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 10) == 0);
  CHECK(wait_for(kq.get(), 2, EVFILT_TIMER).data == 1);
  CHECK(wait_events(kq.get(), 50ms).empty());
  CHECK(change_error(kq.get(), 2, EVFILT_TIMER, EV_DELETE) == ENOENT);
}

TEST_CASE("re-adding a timer restarts it and forgets expirations not yet delivered") {
  Guard guard;
  Fd kq = make_kqueue();
  REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 200) == 0);
  std::this_thread::sleep_for(120ms);
  const auto restart = Clock::now();
  REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 200) == 0);
  wait_for(kq.get(), 1, EVFILT_TIMER);
  CHECK(ms_since(restart) >= 198);  // 200 ms from the re-add, not from the first add

  REQUIRE(change(kq.get(), 2, EVFILT_TIMER, EV_ADD, 0, 5) == 0);
  std::this_thread::sleep_for(50ms);  // several expirations, unread
  REQUIRE(change(kq.get(), 2, EVFILT_TIMER, EV_ADD, NOTE_SECONDS, 10) == 0);
  CHECK(poll_events(kq.get()).empty());
  CHECK(change(kq.get(), 2, EVFILT_TIMER, EV_DELETE) == 0);
}
