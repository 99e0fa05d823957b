// common/tests/test_kqueue_close.cpp: close() and kqueue: of a watched
// descriptor, and of the kqueue itself. kqueue API and POSIX only: the same
// file runs against macOS's and FreeBSD's <sys/event.h>.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "kqueue_test_support.h"

using namespace kqtest;

TEST_CASE("close() removes a descriptor's knotes, even with an event pending") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  send_text(out.get(), "x");
  const int number = in.get();
  in.reset();
  CHECK(poll_events(kq.get()).empty());
  CHECK(change_error(kq.get(), number, EVFILT_READ, EV_DELETE) == EBADF);  // closed
}

TEST_CASE("a new descriptor that reuses the number starts with no knotes and gets no stale event") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [old_in, old_out] = make_pipe();
  int old_tag = 0, new_tag = 0;
  REQUIRE(change(kq.get(), old_in.get(), EVFILT_READ, EV_ADD, 0, 0, &old_tag) == 0);
  send_text(old_out.get(), "x");
  const int number = old_in.get();

  // Close the watched descriptor and give its number to another pipe,
  // which has data too.
  auto [new_in, new_out] = make_pipe();
  send_text(new_out.get(), "yy");
  old_in.reset();
  REQUIRE(dup2(new_in.get(), number) == number);
  Fd reused(number);
  new_in.reset();

  CHECK(poll_events(kq.get()).empty());
  CHECK(change_error(kq.get(), number, EVFILT_READ, EV_DELETE) == ENOENT);
  REQUIRE(change(kq.get(), number, EVFILT_READ, EV_ADD, 0, 0, &new_tag) == 0);
  const auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].udata == &new_tag);
  CHECK(events[0].data == 2);
}

TEST_CASE("knotes belong to the descriptor, not the open file: close() removes them while a dup keeps the file open") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  Fd copy(dup(mine.get()));
  REQUIRE(copy.get() >= 0);
  REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
  mine.reset();  // the socket stays open through `copy`
  send_text(peer.get(), "x");
  CHECK(wait_events(kq.get(), 100ms).empty());
  REQUIRE(change(kq.get(), copy.get(), EVFILT_READ, EV_ADD) == 0);
  CHECK(wait_for(kq.get(), copy.get(), EVFILT_READ).data == 1);
}

TEST_CASE("close() leaves timers and user events alone, whatever their ident") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  const auto id = static_cast<std::uintptr_t>(in.get());
  REQUIRE(change(kq.get(), id, EVFILT_READ, EV_ADD) == 0);
  REQUIRE(change(kq.get(), id, EVFILT_USER, EV_ADD | EV_CLEAR) == 0);
  in.reset();
  REQUIRE(change(kq.get(), id, EVFILT_USER, 0, NOTE_TRIGGER) == 0);
  const auto events = poll_events(kq.get());
  REQUIRE(events.size() == 1);
  CHECK(events[0].filter == EVFILT_USER);
}

TEST_CASE("closing a kqueue releases everything it used") {
  Guard guard;
  const int before = open_fds();
  {
    Fd kq = make_kqueue();
    auto [mine, peer] = tcp_pair();
    auto [in, out] = make_pipe();
    REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
    REQUIRE(change(kq.get(), mine.get(), EVFILT_WRITE, EV_ADD | EV_CLEAR) == 0);
    REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
    REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD, 0, 5) == 0);
    REQUIRE(change(kq.get(), 2, EVFILT_USER, EV_ADD | EV_CLEAR) == 0);
    send_text(out.get(), "x");
    CHECK(!wait_events(kq.get(), 20ms).empty());

    // A wait ended from another thread, with knotes left in place.
    REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_DELETE) == 0);
    REQUIRE(change(kq.get(), mine.get(), EVFILT_WRITE, EV_DELETE) == 0);
    const int kq_fd = kq.get();
    std::thread helper([kq_fd] {
      std::this_thread::sleep_for(50ms);
      CHECK(change(kq_fd, 2, EVFILT_USER, 0, NOTE_TRIGGER) == 0);
    });
    struct kevent ev {};
    while (kevent(kq.get(), nullptr, 0, &ev, 1, nullptr) == 1 && ev.filter != EVFILT_USER) {
    }
    helper.join();
    CHECK(ev.filter == EVFILT_USER);
    kq.reset();  // with knotes still in it; the watched descriptors close after
  }
  CHECK(open_fds() == before);

  // And a kqueue made afterwards starts empty.
  Fd kq = make_kqueue();
  CHECK(poll_events(kq.get()).empty());
}
