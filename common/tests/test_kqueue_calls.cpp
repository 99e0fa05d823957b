// common/tests/test_kqueue_calls.cpp: how one kevent() call treats its
// change list, its event list and its timeout. kqueue API and POSIX only:
// the same file runs against macOS's and FreeBSD's <sys/event.h>.
//
// Where FreeBSD and macOS differ these tests keep to the common ground:
//  - an EV_ERROR entry's flags: FreeBSD sets them to EV_ERROR alone, macOS
//    ORs EV_ERROR into the change's flags (so test the bit);
//  - a bad timeout: macOS rejects it before making the changes, FreeBSD
//    after (so pass no changes with one);
//  - EV_RECEIPT without room: FreeBSD stops at that change, macOS goes on
//    (so always leave room).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <utility>
#include <vector>

#include "kqueue_test_support.h"

using namespace kqtest;

namespace {

// A descriptor number that is not open.
int closed_number() {
  auto [in, out] = make_pipe();
  return in.get();  // closed when `in` goes
}

}  // namespace

TEST_CASE("a change that fails becomes an EV_ERROR entry with data = errno, and kevent() returns at once") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(out.get(), "x");  // an event is ready, yet only the errors come back
  const int closed = closed_number();

  struct kevent changes[3];
  EV_SET(&changes[0], closed, EVFILT_READ, EV_ADD, 0, 0, nullptr);      // EBADF
  EV_SET(&changes[1], 42, EVFILT_USER, EV_DELETE, 0, 0, nullptr);       // ENOENT
  EV_SET(&changes[2], out.get(), EVFILT_WRITE, EV_ADD, 0, 0, nullptr);  // fine
  struct kevent events[4];
  const timespec two_seconds{2, 0};
  const auto start = Clock::now();
  const int n = kevent(kq.get(), changes, 3, events, 4, &two_seconds);
  CHECK(ms_since(start) < 1000);
  REQUIRE(n == 2);
  CHECK((events[0].flags & EV_ERROR) != 0);
  CHECK(events[0].ident == static_cast<std::uintptr_t>(closed));
  CHECK(events[0].data == EBADF);
  CHECK((events[1].flags & EV_ERROR) != 0);
  CHECK(events[1].ident == 42);
  CHECK(events[1].data == ENOENT);

  // The change that was fine was made, and the pending event is still there.
  const auto pending = poll_events(kq.get());
  CHECK(find(pending, out.get(), EVFILT_WRITE) != nullptr);
  CHECK(find(pending, in.get(), EVFILT_READ) != nullptr);
}

TEST_CASE("EV_RECEIPT: a change that worked gets an EV_ERROR entry too, with data 0") {
  Guard guard;
  Fd kq = make_kqueue();
  REQUIRE(change(kq.get(), 1, EVFILT_USER, EV_ADD) == 0);
  REQUIRE(change(kq.get(), 1, EVFILT_USER, 0, NOTE_TRIGGER) == 0);  // an event is ready

  struct kevent changes[2];
  EV_SET(&changes[0], 2, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, nullptr);
  EV_SET(&changes[1], 3, EVFILT_USER, EV_ADD | EV_RECEIPT, 0, 0, nullptr);
  struct kevent events[4];
  const timespec zero{0, 0};
  REQUIRE(kevent(kq.get(), changes, 2, events, 4, &zero) == 2);  // receipts only
  for (int i = 0; i < 2; ++i) {
    CHECK((events[i].flags & EV_ERROR) != 0);
    CHECK(events[i].data == 0);
    CHECK(events[i].ident == static_cast<std::uintptr_t>(2 + i));
  }
  CHECK(change_error(kq.get(), 3, EVFILT_USER, EV_DELETE) == 0);  // it was added
}

TEST_CASE("without room for an error entry, kevent() returns -1 with errno, after making the changes before it") {
  Guard guard;
  Fd kq = make_kqueue();
  struct kevent changes[2];
  EV_SET(&changes[0], 1, EVFILT_USER, EV_ADD, 0, 0, nullptr);
  EV_SET(&changes[1], 99, EVFILT_USER, EV_DELETE, 0, 0, nullptr);
  errno = 0;
  CHECK(kevent(kq.get(), changes, 2, nullptr, 0, nullptr) == -1);
  CHECK(errno == ENOENT);
  CHECK(change(kq.get(), 1, EVFILT_USER, 0, NOTE_TRIGGER) == 0);  // user event 1 exists
}

TEST_CASE("the errors of bad changes: EBADF, ENOENT, EINVAL") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  const int closed = closed_number();
  CHECK(change_error(kq.get(), closed, EVFILT_READ, EV_ADD) == EBADF);
  CHECK(change_error(kq.get(), closed, EVFILT_WRITE, EV_DELETE) == EBADF);
  CHECK(change_error(kq.get(), in.get(), EVFILT_READ, EV_DELETE) == ENOENT);
  CHECK(change_error(kq.get(), in.get(), EVFILT_READ, EV_ENABLE) == ENOENT);
  CHECK(change_error(kq.get(), in.get(), EVFILT_READ, EV_DISABLE) == ENOENT);
  CHECK(change_error(kq.get(), 5, EVFILT_TIMER, EV_DELETE) == ENOENT);
  CHECK(change_error(kq.get(), 5, EVFILT_USER, 0, NOTE_TRIGGER) == ENOENT);
  CHECK(change_error(kq.get(), in.get(), -100, EV_ADD) == EINVAL);  // no such filter
}

TEST_CASE("nevents == 0: kevent() makes the changes and returns at once, even with no timeout") {
  Guard guard;
  Fd kq = make_kqueue();
  const auto start = Clock::now();
  struct kevent ev;
  EV_SET(&ev, 1, EVFILT_USER, EV_ADD, 0, 0, nullptr);
  CHECK(kevent(kq.get(), &ev, 1, nullptr, 0, nullptr) == 0);
  CHECK(kevent(kq.get(), nullptr, 0, nullptr, 0, nullptr) == 0);
  CHECK(ms_since(start) < 1000);
  CHECK(change(kq.get(), 1, EVFILT_USER, EV_DELETE) == 0);  // the change was made
}

TEST_CASE("a zero timeout polls, and a timeout bounds the wait") {
  Guard guard;
  Fd kq = make_kqueue();
  struct kevent ev;
  auto start = Clock::now();
  const timespec zero{0, 0};
  CHECK(kevent(kq.get(), nullptr, 0, &ev, 1, &zero) == 0);
  CHECK(ms_since(start) < 1000);

  start = Clock::now();
  const timespec quarter_second{0, 250'000'000};
  CHECK(kevent(kq.get(), nullptr, 0, &ev, 1, &quarter_second) == 0);
  const double waited = ms_since(start);
  CHECK(waited >= 248);
  CHECK(waited < 5000);
}

TEST_CASE("a bad timespec is EINVAL") {
  Guard guard;
  Fd kq = make_kqueue();
  struct kevent ev;
  const timespec bad[] = {{0, 1'000'000'000}, {0, -1000}, {-1, 0}};
  for (const timespec& timeout : bad) {
    CAPTURE(timeout.tv_sec);
    CAPTURE(timeout.tv_nsec);
    errno = 0;
    CHECK(kevent(kq.get(), nullptr, 0, &ev, 1, &timeout) == -1);
    CHECK(errno == EINVAL);
  }
}

TEST_CASE("one call returns as many ready events as its list holds, and the next call the rest") {
  // kqueue's scan fills the caller's list from every knote that is ready.
  // (The Linux shim once took 64 descriptors from epoll per look: a loop
  // asking for 256 events got 64, and busy descriptors waited their turn.)
  Guard guard;
  Fd kq = make_kqueue();
  constexpr int kPipes = 300, kList = 256;
  std::vector<std::pair<Fd, Fd>> pipes;
  for (int i = 0; i < kPipes; ++i) {
    pipes.push_back(make_pipe());
    REQUIRE(change(kq.get(), pipes.back().first.get(), EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
  }
  for (auto& [in, out] : pipes) send_text(out.get(), "x");
  std::vector<struct kevent> events(kList);
  const timespec zero{0, 0};
  CHECK(kevent(kq.get(), nullptr, 0, events.data(), kList, &zero) == kList);
  CHECK(kevent(kq.get(), nullptr, 0, events.data(), kList, &zero) == kPipes - kList);
  CHECK(kevent(kq.get(), nullptr, 0, events.data(), kList, &zero) == 0);  // each once (EV_DISPATCH)
}

TEST_CASE("descriptors whose knotes are disabled take no room from those that are ready") {
  // A busy server's tasks: their EV_DISPATCH knotes were delivered, and
  // more data has come to them since. Only the ready, enabled knotes count.
  // (The Linux shim once took one look of 128 edges from epoll, all of the
  // disabled ones, and returned nothing while 200 descriptors were ready.)
  Guard guard;
  Fd kq = make_kqueue();
  constexpr int kBusy = 130, kReady = 200, kList = 128;
  std::vector<std::pair<Fd, Fd>> busy, ready;
  std::vector<struct kevent> events(kList + 1);
  const timespec zero{0, 0};
  for (int i = 0; i < kBusy; ++i) {
    busy.push_back(make_pipe());
    REQUIRE(change(kq.get(), busy.back().first.get(), EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
    send_text(busy.back().second.get(), "x");
  }
  int delivered = 0;  // each busy knote once; now disabled
  for (int n; (n = kevent(kq.get(), nullptr, 0, events.data(), kList, &zero)) > 0;) delivered += n;
  REQUIRE(delivered == kBusy);
  char byte;
  for (auto& [in, out] : busy) REQUIRE(read(in.get(), &byte, 1) == 1);  // empty again, as a task would
  for (auto& [in, out] : busy) send_text(out.get(), "y");  // more for the busy ones: first in line
  for (int i = 0; i < kReady; ++i) {
    ready.push_back(make_pipe());
    REQUIRE(change(kq.get(), ready.back().first.get(), EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
    send_text(ready.back().second.get(), "x");
  }
  int n = kevent(kq.get(), nullptr, 0, events.data(), kList, &zero);
  CHECK(n == kList);
  std::vector<int> seen;
  for (int i = 0; i < std::max(n, 0); ++i) seen.push_back(static_cast<int>(events[i].ident));
  n = kevent(kq.get(), nullptr, 0, events.data(), kList, &zero);
  CHECK(n == kReady - kList);
  for (int i = 0; i < std::max(n, 0); ++i) seen.push_back(static_cast<int>(events[i].ident));
  std::vector<int> expected;
  for (auto& [in, out] : ready) expected.push_back(in.get());
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  CHECK(seen == expected);  // the ready ones, each once; none of the busy
  CHECK(kevent(kq.get(), nullptr, 0, events.data(), kList, &zero) == 0);
}
