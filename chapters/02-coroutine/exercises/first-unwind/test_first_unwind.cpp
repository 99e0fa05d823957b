// exercises/first-unwind/test_first_unwind.cpp: what destroying a first
// coroutine must do to its suspended body. `make exercise-02
// EX=first-unwind` runs them against your first_coroutine.h.
#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <first_coroutine.h>  // <>: yours, or the solution's (see cfs_exercise())

#include "../../../../common/child_process.h"

namespace first = cfs::first;

namespace {

/// Records its id in `log` when destroyed.
struct Noisy {
  std::vector<int>* log;
  int id;
  ~Noisy() { log->push_back(id); }
};

std::string show(const std::vector<int>& v) {
  std::string s = "{";
  for (int x : v) s += (s.size() > 1 ? ", " : "") + std::to_string(x);
  return s + "}";
}

/// Runs `body` in a child process first; if it dies there, fails with a
/// message that says where to look (doctest's own report of a crash says
/// only which test case it was).
void require_no_crash(const std::function<void()>& body) {
  const cfs::ChildResult r = cfs::run_in_child(body);
  if (!r.signaled) return;
  INFO("the child's stderr: " << r.err);
  if (r.signal == SIGABRT) {
    FAIL("it died of SIGABRT (std::terminate?): what yield() throws to unwind the body got out "
         "of entry(), where nothing catches it. Catch exactly that type in entry(), then "
         "leave() after the catch block");
  }
  FAIL("it crashed (signal " << r.signal << "). Does the destructor set running() to this "
       "coroutine while the body unwinds, and put back what it found afterwards, as resume() "
       "does? yield() switches to the resumer of the coroutine running() names");
}

void three_deep(std::vector<int>* log, int depth) {
  Noisy here{log, depth};
  if (depth == 3) {
    first::yield(depth);  // suspended here, three frames deep
    return;
  }
  three_deep(log, depth + 1);
}

}  // namespace

TEST_CASE("destroying a suspended coroutine destroys its body's locals") {
  require_no_crash([] {
    std::vector<int> log;
    first::Coroutine<int> c([&log] {
      Noisy local{&log, 1};
      first::yield(1);
    });
    c.resume();
  });
  std::vector<int> log;
  {
    first::Coroutine<int> c([&log] {
      Noisy local{&log, 1};
      first::yield(1);
      first::yield(2);  // never reached: the coroutine is destroyed first
    });
    REQUIRE(c.resume().value_or(-1) == 1);
  }  // c is destroyed here
  INFO("destroyed: " << show(log));
  if (log.empty()) {
    FAIL("the body's local was never destroyed: the stack was unmapped with it still on it. "
         "In ~Coroutine, if the body has started and not finished, resume it one last time "
         "with a flag set; make yield() see the flag when its switch returns and throw a "
         "type of your own; catch that type in entry() and leave() for good");
  }
  CHECK_MESSAGE(log == std::vector<int>{1}, "the local must be destroyed exactly once");
}

TEST_CASE("every frame of the body is unwound, innermost first") {
  require_no_crash([] {
    std::vector<int> log;
    first::Coroutine<int> c([&log] { three_deep(&log, 1); });
    c.resume();
  });
  std::vector<int> log;
  {
    first::Coroutine<int> c([&log] { three_deep(&log, 1); });
    REQUIRE(c.resume().value_or(-1) == 3);
  }
  INFO("destroyed, in order: " << show(log));
  CHECK_MESSAGE(log == std::vector<int>({3, 2, 1}),
                "a throw from the innermost yield() unwinds all three frames, innermost first, "
                "as any C++ exception would");
}

TEST_CASE("a coroutine that never started, or has finished, is destroyed without running") {
  int runs = 0;
  { first::Coroutine<int> never([&runs] { ++runs; }); }
  CHECK_MESSAGE(runs == 0, "a body that never started must not run when it is destroyed: "
                           "nothing is on its stack yet, so there is nothing to unwind");
  {
    first::Coroutine<int> done([&runs] { ++runs; });
    CHECK(!done.resume().has_value());
  }
  CHECK_MESSAGE(runs == 1, "a finished body must not run again when it is destroyed");
}

/// Outer's body makes inner, takes one value from it, destroys it, then
/// yields 42 itself. Returns what outer's resumes gave (-1: nothing);
/// `log` gets inner's local's id when it is destroyed.
namespace {
std::vector<int> destroy_inside(std::vector<int>& log) {
  first::Coroutine<int> outer([&log] {
    {
      first::Coroutine<int> inner([&log] {
        Noisy local{&log, 7};
        first::yield(70);
      });
      first::yield(*inner.resume());
    }  // inner is destroyed here, on outer's stack
    first::yield(42);  // back in outer: yield must reach outer's resumer
  });
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) got.push_back(outer.resume().value_or(-1));
  return got;
}
}  // namespace

TEST_CASE("a coroutine destroyed inside another's body: the outer one goes on") {
  require_no_crash([] {
    std::vector<int> log;
    destroy_inside(log);
  });
  std::vector<int> log;
  const std::vector<int> got = destroy_inside(log);
  INFO("outer's three resumes gave " << show(got) << "; destroyed: " << show(log));
  CHECK(got[0] == 70);
  CHECK_MESSAGE(got[1] == 42,
                "after destroying inner, outer's body must still yield to its own resumer: "
                "the destructor must put back the running coroutine it found, as resume() "
                "does");
  CHECK_MESSAGE(got[2] == -1, "then outer's body ends");
  CHECK_MESSAGE(log == std::vector<int>{7}, "inner's local must be destroyed when inner is");
}
