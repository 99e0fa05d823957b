// tests/test_loop.cpp: tasks on one kqueue loop: waits, deadlines,
// cancellation, run_blocking, and nothing left behind.
#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../../common/watchdog.h"
#include "../loop.h"
#include "../pull.h"
#include "../stack_memory.h"
#include "../stack_pool.h"

using namespace std::chrono_literals;
using cfs::Loop;

namespace {

int count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) dir = opendir("/dev/fd");
  int n = 0;
  while (readdir(dir) != nullptr) ++n;
  closedir(dir);
  return n;
}

/// A connected pair of non-blocking stream sockets, closed at the end.
struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() {
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
  }
  ~SocketPair() {
    for (int f : fd)
      if (f >= 0) close(f);
  }
};

/// Reads one byte, waiting on the loop as long as there is none.
char read_byte(int fd, cfs::Deadline deadline = cfs::no_deadline) {
  char c;
  for (;;) {
    ssize_t n = read(fd, &c, 1);
    if (n == 1) return c;
    if (n == 0) throw std::runtime_error("end of file");
    if (errno != EAGAIN) throw std::runtime_error("read failed");
    Loop::current().wait_readable(fd, deadline);
  }
}

void write_byte(int fd, char c) { REQUIRE(write(fd, &c, 1) == 1); }

/// Coroutines alive in this process: stacks mapped, less those that wait
/// in this thread's pool for a coroutine to come.
std::size_t live_coroutines() { return cfs::StackMemory::live_count() - cfs::stack_pool::size(); }

double seconds_since(cfs::Deadline t0) {
  return std::chrono::duration<double>(cfs::Clock::now() - t0).count();
}

}  // namespace

//! [ping-pong-test]
TEST_CASE("thousands of tasks ping-pong over socketpairs on one thread") {
  const int fds_before = count_open_fds();
  const std::size_t coroutines_before = live_coroutines();
  constexpr int kPairs = 1000, kRounds = 20;
  std::atomic<long> exchanged{0};
  {
    Loop loop;
    std::vector<SocketPair> pairs(kPairs);
    for (auto& p : pairs) {
      loop.spawn("ping", [&exchanged](int fd) {
        for (int i = 0; i < kRounds; ++i) {
          write_byte(fd, 'p');
          CHECK(read_byte(fd) == 'q');
          ++exchanged;
        }
      }, p.fd[0]);
      loop.spawn("pong", [](int fd) {
        for (int i = 0; i < kRounds; ++i) {
          CHECK(read_byte(fd) == 'p');
          write_byte(fd, 'q');
        }
      }, p.fd[1]);
    }
    CHECK(loop.size() == 2 * kPairs);
    CHECK(live_coroutines() == coroutines_before + 2 * kPairs);
    loop.run();
    CHECK(loop.size() == 0);
  }
  CHECK(exchanged == long{kPairs} * kRounds);
  CHECK(count_open_fds() == fds_before);
  CHECK(live_coroutines() == coroutines_before);
}
//! [ping-pong-test]

TEST_CASE("every task whose descriptor is ready runs in the next turn, more than one kevent() list of them too") {
  // 300 readers, more than the 256 events one kevent() call returns. Their
  // bytes arrive at once; a task that only yields counts the turns. Each
  // reader notes the turn it ran in: all the same one, none left for later.
  constexpr int kReaders = 300;
  Loop loop;
  std::vector<SocketPair> pairs(kReaders);
  std::vector<int> ran_in_turn;
  int turn = 0;
  for (auto& p : pairs) {
    loop.spawn("reader", [&](int fd) {
      CHECK(read_byte(fd, cfs::after(10s)) == 'r');  // a lost event fails, not hangs
      ran_in_turn.push_back(turn);
    }, p.fd[0]);
  }
  loop.spawn("writer", [&] {
    for (auto& p : pairs) write_byte(p.fd[1], 'r');  // every reader has parked by now
    while (ran_in_turn.size() < kReaders && turn < 10) {
      ++turn;
      cfs::yield();  // to the back of the queue: once a turn
    }
  });
  loop.run();
  REQUIRE(ran_in_turn.size() == kReaders);
  // The writer wrote, counted turn 1 and yielded; the readers, woken by
  // the kernel, run before it in the next turn (chapter 06: a task that
  // only yielded goes after those), so they all note turn 1. (Chapter
  // 05's loop ran the writer first: turn 2.)
  CHECK(ran_in_turn.front() == 1);
  CHECK(ran_in_turn.back() == 1);  // not 2: the 44 past the first list ran in the same turn
}

TEST_CASE("busy tasks whose descriptors get more data do not hold back the ones the kernel woke") {
  // The turn above, with busy tasks besides: each was woken once and then
  // only yields, never waiting again (its EV_DISPATCH knote stays
  // disabled), while more data comes for it just before the readers'
  // bytes. Those arrivals are no events; the readers' are, and all of them
  // run in the same turn. (The Linux shim once let the busy descriptors
  // take up its look at epoll, 256 at a time, and returned a short list:
  // the loop took it for all there was, and the readers past it waited
  // for the next turn; under 10,000 connections a group of them waited
  // seconds. common/tests has the shim's own test.) 300 socket pairs in
  // all, so that the default limit of 1,024 descriptors is enough.
  constexpr int kBusy = 150, kReaders = 150;
  Loop loop;
  std::vector<SocketPair> busy(kBusy), readers(kReaders);
  std::vector<int> ran_in_turn;
  int turn = 0;
  bool done = false;
  for (auto& p : busy) {
    loop.spawn("busy", [&](int fd) {
      CHECK(read_byte(fd, cfs::after(10s)) == 'b');
      while (!done) cfs::yield();  // busy from now on: never waits again
    }, p.fd[0]);
  }
  for (auto& p : readers) {
    loop.spawn("reader", [&](int fd) {
      CHECK(read_byte(fd, cfs::after(10s)) == 'r');
      ran_in_turn.push_back(turn);
    }, p.fd[0]);
  }
  loop.spawn("writer", [&] {
    for (auto& p : busy) write_byte(p.fd[1], 'b');  // wakes the busy tasks
    cfs::yield();  // they are woken by this turn's look at the kernel
    for (auto& p : busy) write_byte(p.fd[1], 'x');  // more for them: first in line
    for (auto& p : readers) write_byte(p.fd[1], 'r');
    while (ran_in_turn.size() < kReaders && turn < 10) {
      ++turn;
      cfs::yield();
    }
    done = true;
  });
  loop.run();
  REQUIRE(ran_in_turn.size() == kReaders);
  CHECK(ran_in_turn.front() == 1);  // as above: before the writer's turn 2
  CHECK(ran_in_turn.back() == 1);
}

//! [test-woken-first]
TEST_CASE("the tasks the kernel woke run before those that only yielded") {
  // Three tasks yield, turn after turn; a reader's byte comes while they
  // do. In the turn after the byte, the reader runs first: it was waiting,
  // they could have gone on. Each yielder's turns keep their order.
  Loop loop;
  SocketPair pair;
  std::string order;  // who ran, in order
  int turn = 0;
  loop.spawn("reader", [&](int fd) {
    CHECK(read_byte(fd, cfs::after(10s)) == 'r');
    order += "reader(turn " + std::to_string(turn) + ") ";
  }, pair.fd[0]);
  for (const char* name : {"a", "b", "c"}) {
    loop.spawn(name, [&, name] {
      for (int i = 0; i < 3; ++i) {
        if (name[0] == 'a' && i == 1) write_byte(pair.fd[1], 'r');
        order += name + std::to_string(i) + " ";
        if (name[0] == 'c') ++turn;
        cfs::yield();
      }
    });
  }
  loop.run();
  // The byte goes out in a1; the reader runs in the next turn, first.
  CHECK(order == "a0 b0 c0 a1 b1 c1 reader(turn 2) a2 b2 c2 ");
}
//! [test-woken-first]

TEST_CASE("300 waits that time out in one turn, their descriptors then closed: the loop goes on") {
  // Each timed-out wait takes its interest back (EV_DELETE, sent with the
  // next kevent()); the task closes its descriptor first, so each of those
  // changes fails, and kqueue reports a failed change as an event. 300 of
  // them do not fit one 256-event list: the loop must not fail for that.
  constexpr int kTasks = 300;
  Loop loop;
  std::vector<SocketPair> pairs(kTasks);
  const cfs::Deadline deadline = cfs::after(50ms);  // the same one for all
  int timed_out = 0;
  for (auto& p : pairs) {
    loop.spawn("reader", [&](int& fd) {
      try {
        read_byte(fd, deadline);
      } catch (const cfs::TimedOut&) {
        ++timed_out;
        ::close(std::exchange(fd, -1));
      }
    }, std::ref(p.fd[0]));
  }
  bool after = false;
  loop.spawn("after", [&] {
    Loop::current().sleep_for(100ms);
    after = true;
  });
  CHECK_NOTHROW(loop.run());
  CHECK(timed_out == kTasks);
  CHECK(after);
}

TEST_CASE("a task woken while more than one list of changes goes out runs in the next turn") {
  // The first task waits for a byte that the last one writes in the same
  // turn; 300 more wait on silent descriptors. Their 301 changes go in two
  // calls: the first one's events wake the first task, and the second call
  // must not then sleep. If it does, only the watchdog's deadline ends it.
  constexpr int kSilent = 300;
  Loop loop;
  SocketPair ready;
  std::vector<SocketPair> silent(kSilent);
  bool read = false, watchdog_fired = false;
  loop.spawn("ready", [&] {
    read = read_byte(ready.fd[0]) == 'r';
    Loop::current().stop();  // cancels the silent ones and the watchdog
  });
  for (auto& p : silent) loop.spawn("silent", [](int fd) { read_byte(fd); }, p.fd[0]);
  loop.spawn("writer", [&] { write_byte(ready.fd[1], 'r'); });  // all the others have parked
  loop.spawn("watchdog", [&] {
    Loop::current().sleep_for(10s);
    watchdog_fired = true;
    Loop::current().stop();
  });
  loop.run();
  CHECK(read);
  CHECK_FALSE(watchdog_fired);  // it fired: the loop slept with a task ready
}

TEST_CASE("sleeping tasks wake in deadline order, not in the order they slept") {
  Loop loop;
  std::vector<int> woke;
  // Every deadline from the same moment: however long the tasks take to
  // start (under Valgrind, on a busy machine), the order is the deadlines'.
  const auto t0 = cfs::Clock::now();
  for (int ms : {50, 10, 30, 20, 40}) {
    loop.spawn("sleeper", [&woke, t0, ms] {
      Loop::current().sleep_until(t0 + std::chrono::milliseconds(ms));
      woke.push_back(ms);
    });
  }
  loop.run();
  CHECK(woke == std::vector<int>{10, 20, 30, 40, 50});
  CHECK(seconds_since(t0) >= 0.050);
}

//! [deadline-test]
TEST_CASE("a wait whose deadline passes throws TimedOut: a silent peer times out") {
  SocketPair p;  // nobody ever writes to p.fd[0]
  Loop loop;
  std::string what;
  const auto t0 = cfs::Clock::now();
  loop.spawn("reader", [&] {
    try {
      read_byte(p.fd[0], cfs::after(50ms));
    } catch (const cfs::TimedOut& e) {
      what = e.what();
    }
  });
  loop.run();
  CHECK(what == "cfs: waiting read on fd " + std::to_string(p.fd[0]) + ": the deadline passed");
  CHECK(seconds_since(t0) >= 0.050);
  // And no stale event reaches anybody later: the same descriptor, now
  // readable, with a new task waiting for something else.
  write_byte(p.fd[1], 'x');
  loop.spawn("sleeper", [] { Loop::current().sleep_for(20ms); });
  loop.run();
  CHECK(loop.stale_events() == 0);
}
//! [deadline-test]

namespace {
struct Noted {
  std::vector<std::string>* log;
  const char* name;
  ~Noted() { log->push_back(name); }
};

void deep(int depth, int fd, std::vector<std::string>* log) {
  Noted n{log, depth == 0 ? "~innermost" : "~frame"};
  if (depth == 0) {
    read_byte(fd);  // parked here, five calls deep
    log->push_back("not reached");
  } else {
    deep(depth - 1, fd, log);
  }
}
}  // namespace

//! [cancel-test]
TEST_CASE("cancelling a task parked deep in its calls unwinds it, and no stale event follows") {
  SocketPair p;
  Loop loop;
  std::vector<std::string> log;
  cfs::CoroutineRef victim = loop.spawn("victim", [&] {
    try {
      deep(4, p.fd[0], &log);
    } catch (const cfs::Cancelled&) {
      log.push_back("caught Cancelled");
      throw;  // cleanup done; let it go on
    }
  });
  loop.spawn("canceller", [&] {
    Loop::current().sleep_for(10ms);
    CHECK(Loop::current().cancel(victim));
    write_byte(p.fd[1], 'x');  // the victim's descriptor gets ready now
    Loop::current().sleep_for(10ms);  // a turn of the loop with that event
  });
  loop.run();
  CHECK(log == std::vector<std::string>{"~innermost", "~frame", "~frame", "~frame", "~frame",
                                        "caught Cancelled"});
  CHECK_FALSE(loop.cancel(victim));  // gone: not a live task any more
  CHECK(loop.stale_events() == 0);   // its interest went with it
}
//! [cancel-test]

TEST_CASE("a peer that closes mid-wait wakes the reader with the end of file") {
  SocketPair p;
  Loop loop;
  std::string got;
  loop.spawn("reader", [&] {
    try {
      read_byte(p.fd[0]);
    } catch (const std::runtime_error& e) {
      got = e.what();
    }
  });
  loop.spawn("closer", [&] {
    Loop::current().sleep_for(10ms);
    close(p.fd[1]);
    p.fd[1] = -1;
  });
  loop.run();
  CHECK(got == "end of file");
}

//! [run-blocking-test]
TEST_CASE("run_blocking keeps the loop responsive: a heartbeat ticks while it runs") {
  Loop loop;
  int beats = 0;
  bool done = false;
  int answer = 0;
  loop.spawn("blocking", [&] {
    answer = Loop::current().run_blocking([] {
      std::this_thread::sleep_for(200ms);  // a call that blocks its thread
      return 42;
    });
    done = true;
  });
  loop.spawn("heartbeat", [&] {
    while (!done) {
      Loop::current().sleep_for(10ms);
      ++beats;
    }
  });
  loop.run();
  CHECK(answer == 42);
  CHECK(beats >= 5);  // 20 if the machine is idle; at least some, never 0
}
//! [run-blocking-test]

TEST_CASE("run_blocking passes an exception back to the task") {
  Loop loop;
  std::string what;
  loop.spawn("blocking", [&] {
    try {
      Loop::current().run_blocking([]() -> int { throw std::runtime_error("from the helper"); });
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
  });
  loop.run();
  CHECK(what == "from the helper");
}

TEST_CASE("tasks may spawn tasks while they run: the task list grows under them") {
  Loop loop;
  int ran = 0;
  loop.spawn("parent", [&] {
    for (int i = 0; i < 100; ++i) Loop::current().spawn("child", [&ran] { ++ran; });
    Loop::current().sleep_for(1ms);  // the parent's own handle has moved by now
    ++ran;
  });
  loop.run();
  CHECK(ran == 101);
}

//! [nested-wait-test]
TEST_CASE("a wait from inside a nested coroutine is a clear error") {
  Loop loop;
  std::string what;
  loop.spawn("task", [&] {
    cfs::Pull<int> inner([] {
      Loop::current().sleep_for(1ms);  // would yield to the task, not to the loop
      cfs::yield(1);
    });
    try {
      inner.next();
    } catch (const cfs::CoroutineError& e) {
      what = e.what();
    }
  });
  loop.run();
  CHECK(what.find("cfs: a task waited from inside a nested coroutine") == 0);
}
//! [nested-wait-test]

TEST_CASE("a wait outside any task is a clear error") {
  CHECK_THROWS_WITH_AS(Loop::current(), doctest::Contains("cfs: no loop runs on this thread"),
                       cfs::CoroutineError);
  Loop loop;
  std::string what;
  loop.spawn("task", [&] {
    std::thread([&] {
      try {
        Loop::current();
      } catch (const cfs::CoroutineError& e) {
        what = e.what();
      }
    }).join();
  });
  loop.run();
  CHECK(what.find("cfs: no loop runs on this thread") == 0);
}

//! [stop-test]
TEST_CASE("stop() returns with every parked task cancelled and unwound, no descriptor left") {
  const int fds_before = count_open_fds();
  const std::size_t coroutines_before = live_coroutines();
  std::vector<std::string> log;
  {
    Loop loop;
    auto p = std::make_shared<SocketPair>();
    for (int i = 0; i < 3; ++i) {
      loop.spawn("parked", [&log, p] {
        Noted n{&log, "~parked"};
        read_byte(p->fd[0]);
      });
    }
    loop.spawn("stopper", [] {
      Loop::current().sleep_for(10ms);
      Loop::current().stop();
    });
    loop.run();
    CHECK(loop.size() == 0);
    CHECK(log == std::vector<std::string>{"~parked", "~parked", "~parked"});
    CHECK(live_coroutines() == coroutines_before);  // ended, not only forgotten
  }
  CHECK(count_open_fds() == fds_before);
}
//! [stop-test]

TEST_CASE("stop() before run(): run() cancels the tasks at its first turn") {
  SocketPair p;  // nobody writes: only a cancellation (or the deadline) ends the wait
  Loop loop;
  std::string ended;
  loop.spawn("reader", [&] {
    try {
      read_byte(p.fd[0], cfs::after(10s));
    } catch (const cfs::Cancelled&) {
      ended = "cancelled";
    } catch (const cfs::TimedOut&) {
      ended = "timed out";  // the stop() was forgotten
    }
  });
  loop.stop();
  loop.run();
  CHECK(ended == "cancelled");
}

TEST_CASE("stop() ends a task that waits for nothing too: its cfs::yield() throws Cancelled") {
  cfs::Watchdog watchdog(std::chrono::seconds(60), "stop() with a task that only yields");
  Loop loop;
  std::vector<std::string> log;
  long spins = 0;
  loop.spawn("spinner", [&] {
    Noted n{&log, "~spinner"};
    try {
      for (;;) {
        ++spins;
        cfs::yield();  // lets the others run; never parks
      }
    } catch (const cfs::Cancelled&) {
      log.push_back("caught Cancelled");
      throw;
    }
  });
  loop.spawn("stopper", [] {
    Loop::current().sleep_for(10ms);
    Loop::current().stop();
  });
  loop.run();  // returns: the spinner is cancelled at its next yield()
  CHECK(loop.size() == 0);
  CHECK(spins > 1);
  CHECK(log == std::vector<std::string>{"caught Cancelled", "~spinner"});
}

TEST_CASE("a task's escaping exception is reported with its label, and the loop goes on") {
  Loop loop;
  std::string seen;
  loop.on_task_error([&seen](const std::string& label, std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      seen = label + ": " + x.what();
    }
  });
  bool other_ran = false;
  loop.spawn("conn 17", [] { throw std::runtime_error("boom"); });
  loop.spawn("other", [&] {
    Loop::current().sleep_for(1ms);
    other_ran = true;
  });
  loop.run();
  CHECK(seen == "conn 17: boom");
  CHECK(other_ran);
}
