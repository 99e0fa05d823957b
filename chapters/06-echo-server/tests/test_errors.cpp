// tests/test_errors.cpp: misuse gets a clear error, and exceptions cross
// from the body to the resumer exactly once.
#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "../../../common/child_process.h"
#include "../coroutine.h"

using cfs::Coroutine;
using cfs::CoroutineError;
using cfs::Status;

namespace {
/// The message of the CoroutineError that `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const CoroutineError& e) {
    return e.what();
  }
  return "";
}
bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("resuming a dead coroutine is an error that says it is dead") {
  Coroutine<int> c([] {});
  CHECK(c.resume() == std::nullopt);
  std::string msg = error_of([&] { c.resume(); });
  CHECK(contains(msg, "resume() of a dead coroutine"));
  CHECK(c.status() == Status::dead);
}

TEST_CASE("a coroutine cannot resume itself: the error names the running state") {
  Coroutine<int>* self = nullptr;
  std::string msg;
  Coroutine<int> c([&] {
    msg = error_of([&] { self->resume(); });
    cfs::yield(1);
  });
  self = &c;
  CHECK(c.resume() == 1);  // the error was caught inside; the coroutine went on
  CHECK(contains(msg, "resume() of a coroutine that is running"));
  CHECK(contains(msg, "cannot resume itself"));
}

TEST_CASE("resuming a coroutine in state normal is an error") {
  Coroutine<int>* outer_ptr = nullptr;
  std::string msg;
  Coroutine<int> inner([&] { msg = error_of([&] { outer_ptr->resume(); }); });
  Coroutine<int> outer([&] { inner.resume(); });
  outer_ptr = &outer;
  outer.resume();
  CHECK(contains(msg, "in state normal"));
}

TEST_CASE("yield outside any coroutine is an error, and nothing is lost") {
  std::string msg = error_of([] { cfs::yield(1); });
  CHECK(contains(msg, "yield() called outside any coroutine"));
  msg = error_of([] { cfs::yield(); });
  CHECK(contains(msg, "outside any coroutine"));
  CHECK_FALSE(cfs::in_coroutine());
}

TEST_CASE("yielding the wrong type names both types") {
  std::string msg;
  Coroutine<long> c([&] {
    msg = error_of([] { cfs::yield(1); });  // an int in a Coroutine<long>
    cfs::yield(2L);
  });
  CHECK(c.resume() == 2L);
  CHECK(contains(msg, "yield<int>() inside a Coroutine<long>"));
}

TEST_CASE("yield inside a catch block is an error") {
  std::string msg;
  Coroutine<int> c([&] {
    try {
      throw std::runtime_error("x");
    } catch (const std::runtime_error&) {
      msg = error_of([] { cfs::yield(1); });
    }
    cfs::yield(2);  // after the catch block: fine
  });
  CHECK(c.resume() == 2);
  CHECK(contains(msg, "yield() inside a catch block"));
}

TEST_CASE("resume() of an empty (moved-from) coroutine is an error") {
  Coroutine<int> a([] {});
  Coroutine<int> b(std::move(a));
  CHECK(contains(error_of([&] { a.resume(); }), "empty Coroutine"));
}

TEST_CASE("a function and arguments too big for the stack are an error, and nothing leaks") {
  struct Big {
    char bytes[40 * 1024];
  };
  cfs::StackOptions small;
  small.size = 64 * 1024;
  std::size_t live = cfs::StackMemory::live_count();
  std::string msg = error_of([&] { Coroutine<int> c(small, [](const Big&) {}, Big{}); });
  CHECK(contains(msg, "take more than half its stack"));
  CHECK(cfs::StackMemory::live_count() <= live);  // its stack was unmapped, not leaked
}

TEST_CASE("destroying a running coroutine aborts with a message") {
  cfs::ChildResult r = cfs::run_in_child([] {
    auto* c = new Coroutine<int>([] {});
    *c = Coroutine<int>([&c] { delete c; });  // the body destroys its own handle
    c->resume();
  });
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  CHECK(contains(r.err, "a Coroutine was destroyed while running"));
}

TEST_CASE("an exception thrown in the body comes out of resume() once, then it is dead") {
  Coroutine<int> c([] {
    cfs::yield(1);
    throw std::runtime_error("body failed");
  });
  CHECK(c.resume() == 1);
  CHECK_THROWS_WITH_AS(c.resume(), "body failed", std::runtime_error);
  CHECK(c.status() == Status::dead);
  CHECK(contains(error_of([&] { c.resume(); }), "dead"));  // not thrown again
}

TEST_CASE("throw and catch on both sides of a yield leave the runtime's exception state intact") {
  Coroutine<int> c([] {
    for (int i = 0; i < 3; ++i) {
      int caught = 0;
      try {
        throw i;
      } catch (int v) {
        caught = v;
        CHECK(std::current_exception() != nullptr);
      }
      cfs::yield(caught);
    }
  });
  CHECK(c.resume() == 0);
  try {
    throw std::logic_error("resumer's own");
  } catch (const std::logic_error& e) {
    // Resume from inside our catch block: the coroutine throws and catches
    // its own exceptions; ours must still be the one being handled.
    std::exception_ptr mine = std::current_exception();
    CHECK(c.resume() == 1);
    CHECK(std::current_exception() == mine);
    CHECK(std::string(e.what()) == "resumer's own");
  }
  CHECK(std::current_exception() == nullptr);
  CHECK(std::uncaught_exceptions() == 0);
  CHECK(c.resume() == 2);
  CHECK(c.resume() == std::nullopt);
}

namespace {
int twice(int x) { return 2 * x; }
void takes_ref(std::string&) {}
}  // namespace

//! [constructor-constraints]
TEST_CASE("the constructors take only a callable body with matching arguments") {
  // A coroutine is move-only: a copy is the plain "deleted" error, because
  // the forwarding constructor does not accept a Coroutine as a body.
  static_assert(!std::is_constructible_v<Coroutine<int>, Coroutine<int>&>);
  static_assert(!std::is_constructible_v<Coroutine<int>, const Coroutine<int>&>);
  static_assert(std::is_constructible_v<Coroutine<int>, Coroutine<int>&&>);
  // A body must be callable with the (decayed) arguments.
  static_assert(std::is_constructible_v<Coroutine<int>, int (*)(int), int>);
  static_assert(!std::is_constructible_v<Coroutine<int>, int (*)(int)>);  // too few
  static_assert(!std::is_constructible_v<Coroutine<int>, int (*)(int), const char*>);
  static_assert(!std::is_constructible_v<Coroutine<int>, int>);  // not callable
  // Arguments are copied in: a body taking a reference needs std::ref.
  static_assert(!std::is_constructible_v<Coroutine<void>, void (*)(std::string&), std::string&>);
  static_assert(std::is_constructible_v<Coroutine<void>, void (*)(std::string&),
                                        std::reference_wrapper<std::string>>);
  static_assert(std::is_constructible_v<Coroutine<int>, cfs::StackOptions, int (*)(int), int>);
  static_assert(!std::is_constructible_v<Coroutine<int>, cfs::StackOptions>);
  Coroutine<int> c(twice, 21);  // used, so the functions above are odr-used
  CHECK(c.resume() == std::nullopt);
  std::string s;
  Coroutine<void> r(takes_ref, std::ref(s));
  CHECK_FALSE(r.resume());
}
//! [constructor-constraints]
