// tests/test_first_coroutine.cpp: what the first, smallest coroutine does,
// and what it cannot do yet. Each gap is pinned by a test that shows it;
// coroutine.h closes them one at a time, and its own tests show them closed.
#include <doctest/doctest.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../../common/child_process.h"
#include "../first_coroutine.h"

namespace first = cfs::first;

namespace {
void count_to(int n) {
  for (int i = 1; i <= n; ++i) first::yield(i);
}
}  // namespace

//! [first-works]
TEST_CASE("first coroutine: create, resume, yield from any depth, finish") {
  first::Coroutine<int> c([] { count_to(3); });  // yields two calls deep
  std::vector<int> got;
  while (std::optional<int> v = c.resume()) got.push_back(*v);
  CHECK(got == std::vector<int>{1, 2, 3});
  CHECK(c.resume() == std::nullopt);  // finished: stays finished
}
//! [first-works]

TEST_CASE("first coroutine: one may resume another, and yield returns to it") {
  first::Coroutine<int> inner([] { count_to(2); });
  first::Coroutine<int> outer([&inner] {
    while (std::optional<int> v = inner.resume()) first::yield(*v * 10);
  });
  CHECK(outer.resume() == 10);
  CHECK(outer.resume() == 20);
  CHECK(outer.resume() == std::nullopt);
}

// --- What it cannot do yet ---------------------------------------------------

//! [first-gaps]
namespace {
struct Counted {
  int* destroyed;
  ~Counted() { ++*destroyed; }
};
}  // namespace

TEST_CASE("gap: a suspended body's locals are never destroyed when it is thrown away") {
  int destroyed = 0;
  {
    first::Coroutine<int> c([&destroyed] {
      Counted local{&destroyed};
      first::yield(1);
    });
    c.resume();
  }  // the stack is unmapped with `local` still on it
  CHECK(destroyed == 0);  // coroutine.h: a forced unwind runs it (test_unwind.cpp)
}

TEST_CASE("gap: an exception thrown in the body ends the whole process") {
  cfs::ChildResult r = cfs::run_in_child([] {
    first::Coroutine<int> c([] { throw std::runtime_error("lost"); });
    c.resume();
  });
  // Nothing above entry() on the coroutine's stack can catch it: std::terminate.
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("terminate called after throwing an instance of 'std::runtime_error'") !=
        std::string::npos);  // coroutine.h: resume() rethrows it (test_errors.cpp)
}

TEST_CASE("gap: yield outside any coroutine is undefined behaviour, not an error") {
  cfs::ChildResult r = cfs::run_in_child([] { first::yield(1); });
  // running() is null and yield() writes through it: a crash here (UBSan
  // stops it one step earlier). coroutine.h throws a CoroutineError instead.
  CHECK_FALSE((r.exited && r.code == 0));
  CHECK(r.err.find("cfs: ") == std::string::npos);  // no message of ours
}
//! [first-gaps]
