// context.h: a named side of a switch, and the switch wrapped for tools.
//
// cfs_switch only needs a saved stack pointer. A Context adds what tools
// need to know: which stack memory that side runs on (AddressSanitizer
// tracks stacks, see common/sanitizer_fiber.h). In a normal build jump() is
// exactly one call to cfs_switch.
#pragma once

#include <cstddef>

#include "../../common/sanitizer_fiber.h"
#include "stack.h"
#include "switch.h"

namespace cfs {

//! [context]
/// One side of a switch: a suspended (or running) computation.
struct Context {
  void* sp = nullptr;              ///< saved stack pointer while suspended
  const void* stack_lo = nullptr;  ///< its stack's lowest address (for tools)
  std::size_t stack_size = 0;      ///< its stack's size (for tools)
  void* fake_stack = nullptr;      ///< AddressSanitizer's bookkeeping
};

/// Makes `ctx` start at the top of `stack`: the first jump() to it calls
/// entry(arg) there.
inline void prepare(Context& ctx, Stack& stack, void (*entry)(void*)) {
  ctx.sp = cfs_prepare(stack.hi(), entry);
  ctx.stack_lo = stack.lo();
  ctx.stack_size = stack.size();
}

/// Suspends `from`, resumes `to` handing it `arg`; returns the `arg` of
/// whoever resumes `from` later.
inline void* jump(Context& from, Context& to, void* arg) {
  sanitizer::start_switch(&from.fake_stack, to.stack_lo, to.stack_size);
  void* back = cfs_switch(&from.sp, to.sp, arg);
  sanitizer::finish_switch(from.fake_stack, nullptr, nullptr);
  return back;
}
//! [context]

/// The first line of every entry function: completes the switch that
/// started us and records the bounds of the resumer's stack (the main
/// thread's stack has no Stack object; this is how tools learn them).
inline void arrived_first_time(Context& resumer) {
  sanitizer::finish_switch(nullptr, &resumer.stack_lo, &resumer.stack_size);
}

/// Leaves `from` for good: like jump(), but `from` is never resumed, so
/// its tool bookkeeping is released. Does not return.
[[noreturn]] inline void leave(Context& from, Context& to, void* arg) {
  sanitizer::start_switch(nullptr, to.stack_lo, to.stack_size);
  cfs_switch(&from.sp, to.sp, arg);
  __builtin_unreachable();
}

}  // namespace cfs
