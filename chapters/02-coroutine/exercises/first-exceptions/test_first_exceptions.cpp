// exercises/first-exceptions/test_first_exceptions.cpp: what the first
// coroutine must do with an exception its body throws. Each test runs in a
// child process, because on the starter code the exception ends the
// process (std::terminate); the child reports what happened on stderr.
// `make exercise-02 EX=first-exceptions` runs them against your
// first_coroutine.h.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include <first_coroutine.h>  // <>: yours, or the solution's (see cfs_exercise())

#include "../../../../common/child_process.h"

namespace first = cfs::first;

namespace {

/// Runs `body` in a child; fails with a guiding message if the child died.
cfs::ChildResult run(void (*body)()) {
  cfs::ChildResult r = cfs::run_in_child(body);
  INFO("the child's stderr: " << r.err);
  if (r.signaled && r.signal == SIGABRT &&
      r.err.find("terminate called") != std::string::npos) {
    FAIL("the exception ended the process (std::terminate): nothing on the coroutine's "
         "stack catches it. Wrap the body's call in entry() in try { ... } catch (...), "
         "keep std::current_exception() in a member, and rethrow it with "
         "std::rethrow_exception in resume(), after the switch back");
  }
  REQUIRE_MESSAGE(r.exited, "the child did not exit normally (signal " << r.signal << ")");
  REQUIRE_MESSAGE(r.code == 0, "the child exited with " << r.code);
  return r;
}

bool has(const cfs::ChildResult& r, const char* text) {
  return r.err.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("an exception thrown in the body comes out of resume()") {
  cfs::ChildResult r = run([] {
    first::Coroutine<int> c([] { throw std::runtime_error("from the body"); });
    try {
      c.resume();
      std::fputs("resume returned\n", stderr);
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "caught: %s\n", e.what());
    }
  });
  CHECK_MESSAGE(!has(r, "resume returned"),
                "resume() returned normally: it must rethrow what the body threw");
  CHECK_MESSAGE(has(r, "caught: from the body"),
                "the resumer must catch the very exception the body threw, "
                "type and message");
}

TEST_CASE("values yielded before the throw arrive, then the exception, then nothing") {
  cfs::ChildResult r = run([] {
    first::Coroutine<int> c([] {
      first::yield(1);
      first::yield(2);
      throw std::logic_error("third");
    });
    std::fprintf(stderr, "got %d\n", *c.resume());
    std::fprintf(stderr, "got %d\n", *c.resume());
    try {
      c.resume();
    } catch (const std::logic_error& e) {
      std::fprintf(stderr, "caught: %s\n", e.what());
    }
    // Finished now: resuming again gives nothing, and does not throw again.
    try {
      std::fprintf(stderr, "after: %s\n", c.resume() ? "a value" : "nothing");
    } catch (...) {
      std::fputs("after: threw again\n", stderr);
    }
  });
  CHECK(has(r, "got 1\ngot 2\n"));
  CHECK(has(r, "caught: third"));
  CHECK_MESSAGE(!has(r, "after: threw again"),
                "the exception is thrown once: clear the stored exception_ptr when you "
                "rethrow it (std::exchange(error, nullptr))");
  CHECK_MESSAGE(has(r, "after: nothing"),
                "a coroutine whose body threw is finished: resume() returns nullopt");
}

TEST_CASE("after the rethrown exception is caught, no exception is left in flight") {
  cfs::ChildResult r = run([] {
    {
      first::Coroutine<int> c([] { throw std::runtime_error("once"); });
      try {
        c.resume();
      } catch (const std::exception&) {
      }
    }
    // Outside any catch block: the thread handles no exception now.
    std::fprintf(stderr, "current_exception: %s\n",
                 std::current_exception() ? "still set" : "null");
    std::fprintf(stderr, "uncaught_exceptions: %d\n", std::uncaught_exceptions());
  });
  CHECK_MESSAGE(has(r, "current_exception: null"),
                "after its catch block ended, the resumer still finds an exception being "
                "handled on this thread: entry() switched away from *inside* its catch "
                "block, which leaves the exception on the thread's list of caught exceptions "
                "(the C++ runtime keeps that list per thread, and the switch does not carry "
                "it). Leave the catch block first, then leave()");
  CHECK(has(r, "uncaught_exceptions: 0"));
}

TEST_CASE("an exception passes through two coroutines, one inside the other") {
  cfs::ChildResult r = run([] {
    first::Coroutine<int> outer([] {
      first::Coroutine<int> inner([] { throw std::out_of_range("deep"); });
      inner.resume();  // rethrows here, on outer's stack, and outer's body ends
    });
    try {
      outer.resume();
    } catch (const std::out_of_range& e) {
      std::fprintf(stderr, "caught: %s\n", e.what());
    }
  });
  CHECK_MESSAGE(has(r, "caught: deep"),
                "inner's exception is rethrown in outer's body, which does not catch it, so "
                "outer's resume() must rethrow it in turn");
}
