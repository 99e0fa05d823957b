// common/tests/test_kqueue_knotes.cpp: what a knote is, and what its flags
// do when it is reported. kqueue API and POSIX only: the same file runs
// against macOS's and FreeBSD's <sys/event.h>.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "kqueue_test_support.h"

using namespace kqtest;

TEST_CASE("a knote is keyed by (ident, filter): read and write interest in one socket are independent") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  const int fd = mine.get();
  int on_read = 0, on_write = 0;
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ADD, 0, 0, &on_read) == 0);
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD, 0, 0, &on_write) == 0);

  // Writable at once; readable once the peer has written.
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);
  CHECK(events[0].udata == &on_write);
  send_text(peer.get(), "x");
  CHECK(wait_for(kq.get(), fd, EVFILT_READ).udata == &on_read);
  CHECK(poll_events(kq.get()).size() == 2);  // two knotes, one descriptor

  // Deleting the write knote leaves the read knote working ...
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_DELETE) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_READ);

  // ... and the other way round.
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD, 0, 0, &on_write) == 0);
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_DELETE) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);
  CHECK(change_error(kq.get(), fd, EVFILT_READ, EV_DELETE) == ENOENT);
}

TEST_CASE("the same ident under another filter is another knote") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  const auto id = static_cast<std::uintptr_t>(in.get());
  int read_tag = 0, user_tag = 0, timer_tag = 0;
  REQUIRE(change(kq.get(), id, EVFILT_READ, EV_ADD, 0, 0, &read_tag) == 0);
  REQUIRE(change(kq.get(), id, EVFILT_USER, EV_ADD, 0, 0, &user_tag) == 0);
  REQUIRE(change(kq.get(), id, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 1, &timer_tag) == 0);
  REQUIRE(change(kq.get(), id, EVFILT_USER, 0, NOTE_TRIGGER, 0, &user_tag) == 0);
  send_text(out.get(), "x");
  std::this_thread::sleep_for(20ms);  // the 1 ms timer has expired

  auto events = poll_events(kq.get());
  CHECK(events.size() == 3);
  REQUIRE(find(events, id, EVFILT_READ));
  REQUIRE(find(events, id, EVFILT_USER));
  REQUIRE(find(events, id, EVFILT_TIMER));
  CHECK(find(events, id, EVFILT_READ)->udata == &read_tag);
  CHECK(find(events, id, EVFILT_USER)->udata == &user_tag);
  CHECK(find(events, id, EVFILT_TIMER)->udata == &timer_tag);

  // Deleting one leaves the others (the one-shot timer went by itself).
  REQUIRE(change(kq.get(), id, EVFILT_USER, EV_DELETE) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_READ);
}

TEST_CASE("re-adding a knote modifies it: one event, with the new udata") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  int first = 0, second = 0;
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD, 0, 0, &first) == 0);
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD, 0, 0, &second) == 0);
  send_text(out.get(), "x");
  const auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].udata == &second);
}

TEST_CASE("EV_DISABLE holds a knote's events back and EV_ENABLE lets them through") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_DISABLE) == 0);
  send_text(out.get(), "x");
  CHECK(poll_events(kq.get()).empty());
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ENABLE) == 0);
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == 1);

  // EV_ADD | EV_DISABLE makes a knote that starts disabled.
  REQUIRE(change(kq.get(), out.get(), EVFILT_WRITE, EV_ADD | EV_DISABLE) == 0);
  events = poll_events(kq.get());
  CHECK(find(events, out.get(), EVFILT_WRITE) == nullptr);
  REQUIRE(change(kq.get(), out.get(), EVFILT_WRITE, EV_ENABLE) == 0);
  CHECK(find(poll_events(kq.get()), out.get(), EVFILT_WRITE) != nullptr);
}

TEST_CASE("EV_ONESHOT: reported once, then deleted (a later EV_DELETE gives ENOENT)") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD | EV_ONESHOT) == 0);
  send_text(out.get(), "ab");
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == 2);
  send_text(out.get(), "c");
  CHECK(poll_events(kq.get()).empty());  // still readable, but the knote is gone
  CHECK(change_error(kq.get(), in.get(), EVFILT_READ, EV_DELETE) == ENOENT);
  errno = 0;
  CHECK(change(kq.get(), in.get(), EVFILT_READ, EV_DELETE) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("EV_CLEAR: reported once per change of state, not while the state lasts") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
  send_text(out.get(), "a");
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == 1);
  CHECK(poll_events(kq.get()).empty());  // the byte is still there, unread
  send_text(out.get(), "b");
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == 2);  // data is the state now, not the change
  CHECK(poll_events(kq.get()).empty());
}

TEST_CASE("EV_CLEAR: adding or enabling the descriptor's other knote does not report it again") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  const int fd = mine.get();
  int on_read = 0, on_write = 0;
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, &on_read) == 0);
  send_text(peer.get(), "x");
  CHECK(wait_for(kq.get(), fd, EVFILT_READ).udata == &on_read);
  CHECK(poll_events(kq.get()).empty());  // the byte is still there, unread

  // The write knote comes and goes; the read state has not changed.
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD | EV_DISPATCH, 0, 0, &on_write) == 0);
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ENABLE, 0, 0, &on_write) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);

  // A new byte is a change: reported once, with both bytes counted.
  send_text(peer.get(), "y");
  const struct kevent ev = wait_for(kq.get(), fd, EVFILT_READ);
  CHECK(ev.data == 2);
  CHECK(poll_events(kq.get()).empty());
}

TEST_CASE("EV_DISPATCH knotes of both filters on one socket, enabled in turn") {
  // The way an event loop waits: one knote enabled at a time, re-enabled
  // for each wait. Enabling runs the filter: what is ready then is reported
  // at once, what is not is reported when it happens.
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  const int fd = mine.get();
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
  CHECK(poll_events(kq.get()).empty());  // nothing to read yet
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD | EV_DISPATCH) == 0);
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);  // writable at once; disabled now

  send_text(peer.get(), "ab");
  CHECK(wait_for(kq.get(), fd, EVFILT_READ).data == 2);  // disabled now
  CHECK(poll_events(kq.get()).empty());

  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ENABLE) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_WRITE);  // the read knote stays disabled

  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ENABLE) == 0);
  events = poll_events(kq.get());
  REQUIRE(events.size() == 1);               // the bytes were not read:
  CHECK(events[0].filter == EVFILT_READ);    // still readable, so reported
  char buffer[4];
  REQUIRE(read(fd, buffer, sizeof buffer) == 2);
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ENABLE) == 0);
  CHECK(poll_events(kq.get()).empty());      // nothing left to read
  send_text(peer.get(), "c");
  CHECK(wait_for(kq.get(), fd, EVFILT_READ).data == 1);
}

TEST_CASE("EV_DISPATCH: disabled after each delivery until EV_ENABLE") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
  send_text(out.get(), "a");
  REQUIRE(poll_events(kq.get()).size() == 1);
  CHECK(poll_events(kq.get()).empty());  // readable, but disabled
  send_text(out.get(), "b");
  CHECK(poll_events(kq.get()).empty());  // new data does not enable it
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ENABLE) == 0);
  auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].data == 2);
  CHECK(poll_events(kq.get()).empty());  // and disabled again
  CHECK(change(kq.get(), in.get(), EVFILT_READ, EV_DELETE) == 0);  // still there
}

TEST_CASE("level-triggered by default: reported while the condition holds, not once it went away") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(out.get(), "a");
  CHECK(poll_events(kq.get()).size() == 1);
  CHECK(poll_events(kq.get()).size() == 1);  // again: the byte is still there
  char byte;
  REQUIRE(read(in.get(), &byte, 1) == 1);
  CHECK(poll_events(kq.get()).empty());

  // The condition comes and goes between two calls: nothing to report.
  send_text(out.get(), "b");
  REQUIRE(read(in.get(), &byte, 1) == 1);
  CHECK(poll_events(kq.get()).empty());
}
