// tests/test_deep_tree.cpp: a degenerate tree 100k levels deep overflows the
// default stack with chapter 02's clear message, and works with a stack
// sized from a measurement.
#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include "../../../common/child_process.h"
#include "../pull.h"
#include "../traversals.h"

namespace {
constexpr int kDeep = 100'000;

// The signal a guard-page hit raises: SIGSEGV on Linux, SIGBUS on macOS.
#if defined(__APPLE__)
constexpr int kGuardSignal = SIGBUS;
#else
constexpr int kGuardSignal = SIGSEGV;
#endif

//! [stack-used]
/// Stack bytes the in-order walk of a left spine `depth` deep uses when it
/// reaches its first yield (the deepest node), read from the saved sp.
std::size_t stack_used(int depth) {
  cfs::Tree<int> spine = cfs::left_spine(depth);
  cfs::StackOptions big;
  big.size = 64 * 1024 * 1024;
  cfs::Pull<int> walk(big, cfs::yield_in_order<int>, spine.get());
  CHECK(walk.next() == 0);
  const cfs::detail::cfs_coroutine_record* rec = cfs_live_coroutines;  // the newest: walk's
  auto hi = reinterpret_cast<std::uintptr_t>(rec->stack_hi);
  return hi - reinterpret_cast<std::uintptr_t>(*rec->saved_sp);
}
//! [stack-used]
}  // namespace

//! [overflow-100k]
TEST_CASE("a 100k-level walk on the default stack ends in the stack-overflow message") {
  cfs::ChildResult r = cfs::run_in_child([] {
    cfs::Tree<int> spine = cfs::left_spine(kDeep);
    cfs::Pull<int> walk(cfs::yield_in_order<int>, spine.get());
    walk.next();
    std::fprintf(stderr, "walked: must not happen\n");
  });
  INFO("child stderr: " << r.err);
  CHECK(r.signaled);
  CHECK(r.signal == kGuardSignal);
  CHECK(r.err.find("cfs: stack overflow in a coroutine: its stack is [") != std::string::npos);
  CHECK(r.err.find("must not happen") == std::string::npos);
}
//! [overflow-100k]

//! [size-a-stack]
TEST_CASE("a stack sized from the measured bytes per level walks all 100k levels") {
  // Measure what one level of recursion costs in this build...
  const std::size_t per_level = (stack_used(2000) - stack_used(1000)) / 1000;
  CHECK(per_level > 0);     // optimised builds inline some levels: a few bytes
  CHECK(per_level <= 512);  // and no runaway frames
  // ...then size the stack for the deepest tree, plus room for the rest.
  cfs::StackOptions options;
  options.size = kDeep * per_level + 256 * 1024;
  MESSAGE("bytes per level: " << per_level << ", stack for 100k levels: " << options.size / 1024 << " KiB");

  cfs::Tree<int> spine = cfs::left_spine(kDeep);
  cfs::Pull<int> walk(options, cfs::yield_in_order<int>, spine.get());
  int expected = 0;
  while (std::optional<int> v = walk.next()) {
    if (*v != expected) break;
    ++expected;
  }
  CHECK(expected == kDeep);
}
//! [size-a-stack]
