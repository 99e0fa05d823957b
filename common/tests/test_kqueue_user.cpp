// common/tests/test_kqueue_user.cpp: EVFILT_USER, and waking a kevent()
// that waits in another thread. kqueue API and POSIX only: the same file
// runs against macOS's and FreeBSD's <sys/event.h>.
#include <doctest/doctest.h>

#include <thread>

#include "kqueue_test_support.h"

using namespace kqtest;

TEST_CASE("EVFILT_USER fires on NOTE_TRIGGER, with EV_CLEAR once per trigger") {
  Guard guard;
  Fd kq = make_kqueue();
  int tag = 0;
  REQUIRE(change(kq.get(), 7, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, &tag) == 0);
  CHECK(poll_events(kq.get()).empty());
  for (int round = 0; round < 2; ++round) {
    REQUIRE(change(kq.get(), 7, EVFILT_USER, 0, NOTE_TRIGGER, 0, &tag) == 0);
    const auto events = poll_events(kq.get());
    REQUIRE(events.size() == 1);
    CHECK(events[0].ident == 7);
    CHECK(events[0].filter == EVFILT_USER);
    CHECK(events[0].udata == &tag);
    CHECK(poll_events(kq.get()).empty());
  }
}

TEST_CASE("EVFILT_USER without EV_CLEAR stays triggered") {
  Guard guard;
  Fd kq = make_kqueue();
  REQUIRE(change(kq.get(), 8, EVFILT_USER, EV_ADD) == 0);
  REQUIRE(change(kq.get(), 8, EVFILT_USER, 0, NOTE_TRIGGER) == 0);
  CHECK(poll_events(kq.get()).size() == 1);
  CHECK(poll_events(kq.get()).size() == 1);
  REQUIRE(change(kq.get(), 8, EVFILT_USER, EV_DELETE) == 0);
  CHECK(poll_events(kq.get()).empty());
}

TEST_CASE("EVFILT_USER keeps 24 bits of the user's own, set by NOTE_FFOR, NOTE_FFAND, NOTE_FFCOPY") {
  Guard guard;
  Fd kq = make_kqueue();
  REQUIRE(change(kq.get(), 9, EVFILT_USER, EV_ADD | EV_CLEAR) == 0);
  REQUIRE(change(kq.get(), 9, EVFILT_USER, 0, NOTE_FFOR | 0x1) == 0);
  REQUIRE(change(kq.get(), 9, EVFILT_USER, 0, NOTE_FFOR | NOTE_TRIGGER | 0x4) == 0);
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK((events[0].fflags & NOTE_FFLAGSMASK) == 0x5);
  REQUIRE(change(kq.get(), 9, EVFILT_USER, 0, NOTE_FFCOPY | NOTE_TRIGGER | 0x6) == 0);
  REQUIRE(change(kq.get(), 9, EVFILT_USER, 0, NOTE_FFAND | 0x3) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK((events[0].fflags & NOTE_FFLAGSMASK) == 0x2);
}

TEST_CASE("every change to a knote sets its udata, a NOTE_TRIGGER included") {
  Guard guard;
  Fd kq = make_kqueue();
  int at_add = 0, at_trigger = 0;
  REQUIRE(change(kq.get(), 10, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, &at_add) == 0);
  REQUIRE(change(kq.get(), 10, EVFILT_USER, 0, NOTE_TRIGGER, 0, &at_trigger) == 0);
  const auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].udata == &at_trigger);
}

TEST_CASE("a NULL timeout waits as long as it takes: a trigger from another thread ends the wait") {
  Guard guard;
  Fd kq = make_kqueue();
  REQUIRE(change(kq.get(), 11, EVFILT_USER, EV_ADD | EV_CLEAR) == 0);
  const int kq_fd = kq.get();
  const auto start = Clock::now();
  std::thread helper([kq_fd] {
    std::this_thread::sleep_for(150ms);  // the main thread is inside kevent() by then
    CHECK(change(kq_fd, 11, EVFILT_USER, 0, NOTE_TRIGGER) == 0);
  });
  struct kevent ev {};
  const int n = kevent(kq.get(), nullptr, 0, &ev, 1, nullptr);  // the Guard ends a hang
  const double waited = ms_since(start);
  helper.join();
  REQUIRE(n == 1);
  CHECK(ev.ident == 11);
  CHECK(waited >= 150);  // it ended with the trigger, not before
}

TEST_CASE("a timer added from another thread shortens a wait already under way") {
  Guard guard;
  Fd kq = make_kqueue();
  const int kq_fd = kq.get();
  const auto start = Clock::now();
  std::thread helper([kq_fd] {
    std::this_thread::sleep_for(100ms);
    CHECK(change(kq_fd, 12, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 10) == 0);
  });
  struct kevent ev {};
  const int n = kevent(kq.get(), nullptr, 0, &ev, 1, nullptr);
  const double waited = ms_since(start);
  helper.join();
  REQUIRE(n == 1);
  CHECK(ev.filter == EVFILT_TIMER);
  CHECK(waited >= 110);
  CHECK(waited < 10'000);
}
