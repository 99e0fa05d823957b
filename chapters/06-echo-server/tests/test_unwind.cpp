// tests/test_unwind.cpp: destroying a suspended coroutine unwinds its stack.
#include <doctest/doctest.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../../common/child_process.h"
#include "../coroutine.h"

using cfs::Coroutine;
using cfs::Status;

namespace {
struct Noisy {
  std::vector<std::string>* log;
  std::string name;
  ~Noisy() { log->push_back("~" + name); }
};
}  // namespace

TEST_CASE("destroying a suspended coroutine runs the destructors of its locals, innermost first") {
  std::vector<std::string> log;
  {
    Coroutine<int> c([&log] {
      Noisy outer{&log, "outer"};
      auto helper = [&log] {
        Noisy inner{&log, "inner"};
        cfs::yield(1);
        log.push_back("not reached");
      };
      helper();
    });
    CHECK(c.resume() == 1);
    CHECK(log.empty());
  }  // ~Coroutine: forced unwind
  CHECK(log == std::vector<std::string>{"~inner", "~outer"});
}

TEST_CASE("destroying a coroutine that never started never runs its body, but frees its arguments") {
  std::vector<std::string> log;
  bool ran = false;
  {
    Coroutine<int> c([&ran](Noisy) { ran = true; }, Noisy{&log, "arg"});
    log.clear();  // the temporary's destructor; the coroutine holds a copy
  }
  CHECK_FALSE(ran);
  CHECK(log == std::vector<std::string>{"~arg"});
}

//! [catch-rethrow]
TEST_CASE("a catch (...) in the body sees the forced unwind and must rethrow it") {
  std::vector<std::string> log;
  {
    Coroutine<int> c([&log] {
      try {
        Noisy n{&log, "local"};
        cfs::yield(1);
      } catch (const cfs::ForcedUnwind&) {
        log.push_back("saw ForcedUnwind");
        throw;  // what a catch (...) must do too
      }
    });
    c.resume();
  }
  CHECK(log == std::vector<std::string>{"~local", "saw ForcedUnwind"});
}
//! [catch-rethrow]

TEST_CASE("a body that swallows the forced unwind cannot yield again: it is unwound to the end") {
  int yields_after = 0;
  bool finished = false;
  {
    Coroutine<int> c([&] {
      try {
        cfs::yield(1);
      } catch (...) {
        // swallowed: wrong, but must not hang or crash
      }
      try {
        cfs::yield(2);  // throws ForcedUnwind again at once
        ++yields_after;
      } catch (...) {
      }
      finished = true;
    });
    c.resume();
  }
  CHECK(yields_after == 0);
  CHECK(finished);
}

//! [cancel]
TEST_CASE("resume_throwing makes the pending yield throw, and the stack unwinds to a handler") {
  std::vector<std::string> log;
  Coroutine<int> c([&log] {
    try {
      Noisy n{&log, "waiting"};
      cfs::yield(1);  // e.g. waiting for I/O, in chapter 05
      log.push_back("not reached");
    } catch (const std::runtime_error& e) {
      log.push_back(std::string("cancelled: ") + e.what());
    }
    cfs::yield(2);
  });
  CHECK(c.resume() == 1);
  CHECK(c.resume_throwing(std::make_exception_ptr(std::runtime_error("timeout"))) == 2);
  CHECK(log == std::vector<std::string>{"~waiting", "cancelled: timeout"});
  CHECK(c.resume() == std::nullopt);
}
//! [cancel]

TEST_CASE("an unhandled exception from resume_throwing comes out of it, once") {
  Coroutine<int> c([] { cfs::yield(1); });
  c.resume();
  CHECK_THROWS_WITH_AS(c.resume_throwing(std::make_exception_ptr(std::runtime_error("stop"))),
                       "stop", std::runtime_error);
  CHECK(c.status() == Status::dead);
}

TEST_CASE("resume_throwing before the first resume: the error escapes at the first line") {
  // One rule: the error is thrown where the coroutine waits. One that never
  // ran waits before its first line, where no handler of its body is in
  // place yet, so the error escapes at once: the body never runs, the
  // coroutine is dead, and resume_throwing() rethrows the error.
  bool ran = false;
  Coroutine<int> c([&ran] {
    try {
      ran = true;
      cfs::yield(1);
    } catch (...) {
      cfs::yield(2);
    }
  });
  CHECK_THROWS_WITH_AS(c.resume_throwing(std::make_exception_ptr(std::runtime_error("x"))), "x",
                       std::runtime_error);
  CHECK_FALSE(ran);
  CHECK(c.status() == Status::dead);
}

TEST_CASE("resume_throwing with a null exception_ptr is an error, and the coroutine goes on") {
  Coroutine<int> c([] {
    cfs::yield(1);
    cfs::yield(2);
  });
  std::string what;
  try {
    c.resume_throwing(nullptr);
  } catch (const cfs::CoroutineError& e) {
    what = e.what();
  }
  CHECK(what ==
        "cfs: resume_throwing() with a null exception_ptr: there is nothing to throw in the "
        "coroutine; pass std::make_exception_ptr(some_exception)");
  CHECK(c.status() == Status::suspended);  // untouched: it never started
  CHECK(c.resume() == 1);
  CHECK_THROWS_AS(c.resume_throwing(std::exception_ptr()), cfs::CoroutineError);
  CHECK(c.resume() == 2);  // still waiting where it was
}

//! [yield-in-destructor]
TEST_CASE("yield() from a destructor while the stack unwinds aborts with a message") {
  cfs::ChildResult r = cfs::run_in_child([] {
    struct YieldsInDestructor {
      ~YieldsInDestructor() { cfs::yield(2); }
    };
    Coroutine<int> c([] {
      YieldsInDestructor bad;
      cfs::yield(1);
    });
    c.resume();
  });  // the child's ~Coroutine unwinds c: ~YieldsInDestructor yields
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("cfs: yield() while an exception is propagating") != std::string::npos);
}
//! [yield-in-destructor]
