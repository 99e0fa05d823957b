// tests/lldb_nested.cpp: the program lldb_nested_check.py debugs. Three
// coroutines, and a few plain functions with names to look for in a
// backtrace:
//
//   main resumes `idle` once (it stays suspended in its body to the end),
//   then resumes A (outer_body). A resumes B (inner_body) through
//   resume_inner(); B stops in b_stops_here(): main -> A -> B, so B is
//   running, A normal, idle suspended. B yields from its body.
//   A then resumes B again, this time through resume_inner_deep(), three
//   calls deeper: the resume() the check single-steps (after the marker
//   step_next_switch()). B goes on, passes the marker again and yields from
//   inner_yield_deep(), three calls deep: the yield() it single-steps.
//
// Each stepped switch leaves from another stack depth than the same
// coroutine's switch before it, so a saved sp that is read before the
// switch has stored the new one is a different, stale address.
#include <cstdio>

#include "../coroutine.h"

// Where the check sets its breakpoints: empty, never inlined, and extern
// "C" so that their names are plain.
extern "C" {
[[gnu::noinline]] void b_stops_here() { asm volatile(""); }
[[gnu::noinline]] void step_next_switch() { asm volatile(""); }
}

namespace {

/// B's second yield(), `depth` calls deep.
[[gnu::noinline]] void inner_yield_deep(int depth) {
  if (depth > 0) inner_yield_deep(depth - 1);
  else cfs::yield();
  asm volatile("");  // a call, not a jump: each level keeps its frame
}

/// B: stops for the first check, yields from its body, then from deeper.
void inner_body() {
  b_stops_here();
  cfs::yield();
  step_next_switch();  // the check steps the yield that follows
  inner_yield_deep(3);
}

[[gnu::noinline]] void resume_inner(cfs::Coroutine<void>& inner) { inner.resume(); }

/// A's second resume() of B, `depth` calls deep.
[[gnu::noinline]] void resume_inner_deep(cfs::Coroutine<void>& inner, int depth) {
  if (depth > 0) resume_inner_deep(inner, depth - 1);
  else inner.resume();
  asm volatile("");
}

/// A: resumes B three times, so B runs to its end.
void outer_body() {
  cfs::Coroutine<void> inner(inner_body);
  resume_inner(inner);  // B stops in b_stops_here(), then yields
  step_next_switch();   // the check steps the resume that follows
  resume_inner_deep(inner, 3);
  inner.resume();  // B finishes
}

/// A coroutine that waits, suspended in its body, the whole time.
void idle_body() { cfs::yield(); }

}  // namespace

int main() {
  cfs::Coroutine<void> idle(idle_body);
  idle.resume();
  cfs::Coroutine<void> outer(outer_body);
  outer.resume();
  bool idle_alive = idle.resume();
  std::printf("done: A and B finished (%s), idle finished (%s)\n", to_string(outer.status()),
              idle_alive ? "no" : "yes");
  return outer.status() == cfs::Status::dead && !idle_alive ? 0 : 1;
}
