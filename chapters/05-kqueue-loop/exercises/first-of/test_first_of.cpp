// exercises/first-of/test_first_of.cpp: a race of two waits on chapter 05's
// loop (exercise 5), with real sockets over loopback. `make exercise-05
// EX=first-of` runs them against your first_of.cpp.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

// <>: your first_of.h, or the reference solution's.
#include <first_of.h>

#include "io.h"
#include "loop.h"
#include "tcp.h"
#include "tests/socket_test.h"

using namespace std::chrono_literals;
using cfs::Loop;

namespace {

/// A connected TCP pair on loopback, made outside the loop.
struct Pair {
  cfs::Fd a, b;
  static Pair make() {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    Pair p;
    p.a = cfs::connect_tcp("127.0.0.1", listener.address.port());
    p.b = cfs::accept_client(listener.fd.get());
    return p;
  }
};

/// Sets `flag` when destroyed: shows that a body's stack has unwound.
struct Unwound {
  bool& flag;
  ~Unwound() { flag = true; }
};

double seconds_since(cfs::Deadline start) {
  return std::chrono::duration<double>(cfs::Clock::now() - start).count();
}

/// What a call of first_of() in a task came to, for the checks after run().
struct Outcome {
  std::optional<int> winner;
  std::string error;  // what it threw, if it did
  double seconds = 0;
};

constexpr char kRunBoth[] =
    "run each body in a task of its own (Loop::current().spawn), so that both wait at once, and "
    "wait until the first of them ends";

}  // namespace

TEST_CASE("a read whose data comes at 50 ms beats a sleep of 2 s, which is cancelled and unwound") {
  SocketTest test("first-of: the read wins", 60s);
  {
    Pair pair = Pair::make();
    Outcome out;
    bool sleeper_started = false, sleeper_unwound = false, unwound_at_return = false;
    Loop loop;
    loop.spawn("racing", [&] {
      const cfs::Deadline start = cfs::Clock::now();
      try {
        out.winner = cfs::first_of(
            [&] {
              std::array<std::byte, 8> buffer;
              cfs::read_some(pair.b.get(), buffer, cfs::after(5s));
            },
            [&] {
              sleeper_started = true;
              Unwound guard{sleeper_unwound};
              Loop::current().sleep_for(2s);
            });
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      out.seconds = seconds_since(start);
      unwound_at_return = sleeper_unwound;
    });
    loop.spawn("writer", [&] {
      Loop::current().sleep_for(50ms);
      cfs::write_all(pair.a.get(), std::as_bytes(std::span("x", 1)));
    });
    loop.run();
    INFO("first_of() " << (out.error.empty() ? "returned" : "threw " + out.error) << " after "
                       << out.seconds << " s");
    CHECK_MESSAGE(out.winner == std::optional<int>(0), "the read (a, 0) ended first");
    CHECK_MESSAGE(sleeper_started, "the second body never ran: " << kRunBoth);
    CHECK_MESSAGE(out.seconds < 1.5, "it should return soon after the read's data came at 50 ms: cancel the loser (Loop::cancel), then wait for it to unwind");
    CHECK_MESSAGE(unwound_at_return, "when first_of() returned, the sleeper had not unwound yet: "
                                     "cancel the loser (Loop::cancel) and wait until its task has "
                                     "ended, so that nothing it uses outlives the call");
    CHECK(loop.size() == 0);
  }
  test.check_all_closed();
}

TEST_CASE("a sleep of 50 ms beats a read from a silent peer, whose wait throws Cancelled") {
  SocketTest test("first-of: the sleep wins", 60s);
  {
    Pair pair = Pair::make();
    Outcome out;
    bool reader_cancelled = false;
    Loop loop;
    loop.spawn("racing", [&] {
      const cfs::Deadline start = cfs::Clock::now();
      try {
        out.winner = cfs::first_of(
            [&] {
              std::array<std::byte, 8> buffer;
              try {
                cfs::read_some(pair.b.get(), buffer, cfs::after(3s));  // nothing comes
              } catch (const cfs::Cancelled&) {
                reader_cancelled = true;
                throw;
              }
            },
            [] { Loop::current().sleep_for(50ms); });
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      out.seconds = seconds_since(start);
    });
    loop.run();
    if (out.error.find("deadline") != std::string::npos) {
      FAIL("first_of() threw \"" << out.error << "\" after " << out.seconds << " s: it waited for "
           "the first body to end (by its own deadline) before the second could win; " << kRunBoth);
    }
    INFO("first_of() " << (out.error.empty() ? "returned" : "threw " + out.error) << " after "
                       << out.seconds << " s");
    CHECK_MESSAGE(out.winner == std::optional<int>(1), "the sleep (b, 1) ended first");
    CHECK_MESSAGE(out.seconds < 1.5, "it should return soon after the sleep of 50 ms: cancel the loser (Loop::cancel), then wait for it to unwind");
    CHECK_MESSAGE(reader_cancelled, "the losing read should end by Cancelled (Loop::cancel on its "
                                    "task), not by its own deadline");
  }
  test.check_all_closed();
}

TEST_CASE("the winner's exception comes out of first_of, once the loser has unwound") {
  SocketTest test("first-of: the winner throws", 60s);
  {
    Outcome out;
    bool loser_unwound = false, unwound_at_throw = false;
    Loop loop;
    loop.spawn("racing", [&] {
      const cfs::Deadline start = cfs::Clock::now();
      try {
        out.winner = cfs::first_of(
            [] {
              Loop::current().sleep_for(20ms);
              throw std::runtime_error("a failed");
            },
            [&] {
              Unwound guard{loser_unwound};
              Loop::current().sleep_for(5s);
            });
      } catch (const std::runtime_error& e) {
        out.error = e.what();
        unwound_at_throw = loser_unwound;
      }
      out.seconds = seconds_since(start);
    });
    loop.run();
    CHECK_MESSAGE(out.error == "a failed", "the first body to end threw std::runtime_error(\"a "
                                           "failed\"): first_of() should rethrow it (keep it in "
                                           "a std::exception_ptr)"
                                               << (out.winner ? "; it returned " + std::to_string(*out.winner) : ""));
    CHECK_MESSAGE(out.seconds < 1.5, "first_of() took " << out.seconds << " s; the winner ended at 20 ms: cancel the loser (Loop::cancel), then wait for it to unwind");
    CHECK_MESSAGE(unwound_at_throw, "the loser had not unwound when the exception came out");
  }
  test.check_all_closed();
}

TEST_CASE("a cancelled caller cancels both racers, and 50 races in a row leave nothing behind") {
  SocketTest test("first-of: cancelled, and many", 60s);
  {
    Pair pair = Pair::make();
    bool caller_cancelled = false, a_unwound = false, b_unwound = false;
    Loop loop;
    const cfs::Deadline start = cfs::Clock::now();
    cfs::CoroutineRef caller = loop.spawn("racing", [&] {
      try {
        cfs::first_of(
            [&] {
              Unwound guard{a_unwound};
              std::array<std::byte, 8> buffer;
              cfs::read_some(pair.b.get(), buffer, cfs::after(5s));
            },
            [&] {
              Unwound guard{b_unwound};
              Loop::current().sleep_for(5s);
            });
      } catch (const cfs::Cancelled&) {
        caller_cancelled = true;
        throw;
      }
    });
    loop.spawn("canceller", [&] {
      Loop::current().sleep_for(50ms);
      Loop::current().cancel(caller);
    });
    loop.run();
    const double took = seconds_since(start);
    CHECK_MESSAGE(caller_cancelled, "the task in first_of() was cancelled: its wait should throw "
                                    "Cancelled, and first_of() let it go on up");
    CHECK_MESSAGE(took < 2.5, "the loop ran " << took << " s after the caller was cancelled at "
                              "50 ms: when the wait in first_of() throws Cancelled, cancel both "
                              "racers before it goes on up");
    CHECK_MESSAGE(a_unwound, "the first body's stack never unwound");
    CHECK_MESSAGE(b_unwound, "the second body's stack never unwound (did it run at all?)");
  }
  {
    Loop loop;
    int wins = 0;
    loop.spawn("racing", [&] {
      for (int i = 0; i < 50; ++i) {
        wins += cfs::first_of([] { Loop::current().sleep_for(2ms); },
                              [] { Loop::current().sleep_for(1s); }) == 0;
      }
    });
    loop.run();
    CHECK(wins == 50);
    CHECK_MESSAGE(loop.size() == 0, "tasks left after 50 races");
  }
  test.check_all_closed();
}
