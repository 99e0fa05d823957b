// tests/test_coroutine.cpp: create, resume, yield, finish; states; nesting.
#include <doctest/doctest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../coroutine.h"
#include "../probe.h"

using cfs::Coroutine;
using cfs::Status;

TEST_CASE("the function and its arguments are copied in, and run at the first resume") {
  int calls = 0;
  std::string text = "abc";
  Coroutine<char> chars(
      [&calls](std::string s, int repeat) {
        ++calls;
        for (int r = 0; r < repeat; ++r)
          for (char c : s) cfs::yield(c);
      },
      text, 2);
  text = "changed";  // the coroutine has its own copy
  CHECK(calls == 0);  // nothing runs before the first resume()
  std::string got;
  while (auto c = chars.resume()) got += *c;
  CHECK(got == "abcabc");
  CHECK(calls == 1);
}

TEST_CASE("std::ref passes a reference, as with std::thread") {
  std::vector<int> sink;
  Coroutine<void> fill(
      [](std::vector<int>& out, int n) {
        for (int i = 0; i < n; ++i) {
          out.push_back(i);
          cfs::yield();
        }
      },
      std::ref(sink), 3);
  CHECK(fill.resume());
  CHECK(sink == std::vector<int>{0});
  CHECK(fill.resume());
  CHECK(fill.resume());
  CHECK(sink == std::vector<int>{0, 1, 2});
  CHECK_FALSE(fill.resume());  // the body returned: not alive any more
  CHECK(fill.status() == Status::dead);
}

namespace {
int depth_sum = 0;
void deep(int depth, int value) {
  if (depth == 0) {
    cfs::yield(value);
    return;
  }
  depth_sum += depth;
  deep(depth - 1, value);
}
}  // namespace

TEST_CASE("yield works from any depth of ordinary calls, and resume continues there") {
  depth_sum = 0;
  Coroutine<int> c([] {
    deep(10, 1);
    deep(50, 2);
    deep(0, 3);
  });
  CHECK(c.resume() == 1);
  CHECK(depth_sum == 55);  // the first descent ran up to the yield
  CHECK(c.resume() == 2);
  CHECK(depth_sum == 55 + 1275);
  CHECK(c.resume() == 3);
  CHECK(c.resume() == std::nullopt);
}

namespace {
struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  int value;
};
}  // namespace

TEST_CASE("the yielded type needs no default constructor, and may be move-only") {
  Coroutine<NoDefault> a([] { cfs::yield(NoDefault(7)); });
  auto v = a.resume();
  REQUIRE(v.has_value());
  CHECK(v->value == 7);

  Coroutine<std::unique_ptr<int>> b([] {
    for (int i = 0; i < 3; ++i) cfs::yield(std::make_unique<int>(i * 100));
  });
  int sum = 0;
  while (auto p = b.resume()) sum += **p;
  CHECK(sum == 300);
}

TEST_CASE("status: suspended before the start, running inside, suspended at a yield, dead at the end") {
  Coroutine<Status>* self = nullptr;
  Coroutine<Status> c([&self] {
    cfs::yield(self->status());  // seen from inside: running
  });
  self = &c;
  CHECK(c.status() == Status::suspended);
  CHECK(c.resume() == Status::running);
  CHECK(c.status() == Status::suspended);
  CHECK(c.resume() == std::nullopt);
  CHECK(c.status() == Status::dead);
  CHECK(cfs::to_string(Status::normal) == std::string("normal"));
}

TEST_CASE("nested coroutines: the resumer is normal, and yield returns to the last resumer") {
  std::vector<std::string> log;
  Coroutine<int>* outer_ptr = nullptr;
  Coroutine<int> inner([&] {
    log.push_back(std::string("inner sees outer ") + cfs::to_string(outer_ptr->status()));
    cfs::yield(1);
    cfs::yield(2);
  });
  Coroutine<int> outer([&] {
    CHECK(cfs::in_coroutine());
    auto a = inner.resume();  // outer is normal while inner runs
    log.push_back("outer got " + std::to_string(*a));
    cfs::yield(10);           // to main, not to inner
    auto b = inner.resume();
    log.push_back("outer got " + std::to_string(*b));
    cfs::yield(20);
  });
  outer_ptr = &outer;
  CHECK_FALSE(cfs::in_coroutine());
  CHECK(outer.resume() == 10);
  CHECK(inner.status() == Status::suspended);
  CHECK(outer.resume() == 20);
  CHECK(inner.resume() == std::nullopt);  // main may resume inner directly too
  CHECK(outer.resume() == std::nullopt);
  CHECK(log == std::vector<std::string>{"inner sees outer normal", "outer got 1", "outer got 2"});
}

TEST_CASE("a coroutine is move-only, and a moved-from one reports itself empty") {
  static_assert(!std::is_copy_constructible_v<Coroutine<int>>);
  static_assert(std::is_nothrow_move_constructible_v<Coroutine<int>>);
  Coroutine<int> a([] {
    cfs::yield(1);
    cfs::yield(2);
  });
  CHECK(a.resume() == 1);
  Coroutine<int> b(std::move(a));  // a suspended coroutine moves with its stack
  CHECK(a.empty());
  CHECK(a.status() == Status::dead);
  CHECK_FALSE(b.empty());
  CHECK(b.resume() == 2);
  Coroutine<int> c([] { cfs::yield(3); });
  c = std::move(b);  // c's own coroutine (never started) is destroyed
  CHECK(c.resume() == std::nullopt);
}

TEST_CASE("the live-coroutine registry shows each stack and the saved sp inside it") {
  std::uintptr_t inside = 0;
  cfs::StackOptions options;
  options.size = 32 * 1024;
  Coroutine<int> c(options, [&inside] {
    inside = cfs_stack_pointer();
    cfs::yield(0);
  });
  // The newest coroutine is first in the list the debugger command reads.
  cfs::detail::cfs_coroutine_record* rec = cfs_live_coroutines;
  REQUIRE(rec != nullptr);
  auto lo = reinterpret_cast<std::uintptr_t>(rec->stack_lo);
  auto hi = reinterpret_cast<std::uintptr_t>(rec->stack_hi);
  CHECK(hi - lo == options.size);
  CHECK(rec->status == static_cast<int>(Status::suspended));
  c.resume();
  CHECK(rec->status == static_cast<int>(Status::suspended));
  auto saved = reinterpret_cast<std::uintptr_t>(*rec->saved_sp);
  CHECK(inside >= lo);  // the body ran on the coroutine's stack
  CHECK(inside < hi);
  CHECK(saved >= lo);   // and its registers are saved there, not on the heap
  CHECK(saved < inside);
  CHECK(std::string(rec->body_type).size() > 0);  // typeid(body).name(), for the debugger
  {
    Coroutine<int> newer([] {});
    CHECK(cfs_live_coroutines != rec);  // the newest is first
    CHECK(cfs_live_coroutines->next == rec);
  }
  CHECK(cfs_live_coroutines == rec);  // destroyed ones leave the list
}

namespace {
/// An allocator that fills memory with 0xdb before giving it back, so that
/// reading freed memory reads garbage at once, in every build (AddressSanitizer
/// reports it by name; without it, freed memory often still looks right).
template <class T>
struct ScribblingAllocator {
  using value_type = T;
  ScribblingAllocator() = default;
  template <class U>
  ScribblingAllocator(const ScribblingAllocator<U>&) {}
  T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, std::size_t n) {
    std::memset(static_cast<void*>(p), 0xdb, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  friend bool operator==(const ScribblingAllocator&, const ScribblingAllocator&) { return true; }
};
template <class Y>
using TaskList = std::vector<Coroutine<Y>, ScribblingAllocator<Coroutine<Y>>>;
}  // namespace

//! [handle-moves]
TEST_CASE("a running coroutine's handle may move: its body grows the vector that holds it") {
  // An event loop's task list: a task spawns more tasks into the list it
  // lives in. The vector reallocates, so the running task's own handle
  // moves to new memory while its body runs, and the old one is freed.
  TaskList<void> tasks;
  int ran = 0;
  tasks.reserve(1);
  tasks.emplace_back([&] {
    for (int i = 0; i < 100; ++i) tasks.emplace_back([&ran] { ++ran; });
    cfs::yield();
  });
  CHECK(tasks[0].resume());  // true: it yielded and is alive
  REQUIRE(tasks.size() == 101);
  for (std::size_t i = 1; i < tasks.size(); ++i) CHECK_FALSE(tasks[i].resume());
  CHECK(ran == 100);
  CHECK_FALSE(tasks[0].resume());  // the moved handle still owns the coroutine
  CHECK(tasks[0].status() == Status::dead);

  TaskList<int> values;
  values.reserve(1);
  values.emplace_back([&] {
    for (int i = 0; i < 100; ++i) values.emplace_back([] {});
    cfs::yield(7);
  });
  CHECK(values[0].resume() == 7);
  CHECK(values[0].resume() == std::nullopt);
}
//! [handle-moves]

TEST_CASE("the registry says where a coroutine in state normal saved its sp") {
  // A coroutine that resumed another is in state normal: its registers are
  // saved in the other one's resumer context, which the record points to.
  using Record = cfs::detail::cfs_coroutine_record;
  Record* outer_rec = nullptr;
  Record* inner_rec = nullptr;
  std::uintptr_t outer_sp = 0;
  Coroutine<int> inner([&] {
    CHECK(inner_rec->status == static_cast<int>(Status::running));
    CHECK(outer_rec->status == static_cast<int>(Status::normal));
    CHECK(inner_rec->resumer == outer_rec);
    auto saved = reinterpret_cast<std::uintptr_t>(*inner_rec->resumer_sp);
    CHECK(saved < outer_sp);  // below where outer's body was: on its stack,
    CHECK(saved >= reinterpret_cast<std::uintptr_t>(outer_rec->stack_lo));  // inside it
    cfs::yield(1);
  });
  Coroutine<int> outer([&] {
    outer_sp = cfs_stack_pointer();
    cfs::yield(*inner.resume());
  });
  outer_rec = cfs_live_coroutines;  // the newest is first in the list
  inner_rec = outer_rec->next;
  CHECK(outer.resume() == 1);
  CHECK(inner_rec->status == static_cast<int>(Status::suspended));
  CHECK(outer_rec->status == static_cast<int>(Status::suspended));
  CHECK(outer_rec->resumer == nullptr);  // resumed from the thread's own stack
}
