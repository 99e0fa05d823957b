// overflow_handler.h: turn a hit on a guard page into a clear message.
//
// A stack overflow in a coroutine touches its guard page and the kernel
// sends SIGSEGV. The handler cannot run on the overflowed stack (it is
// full: that is the problem), so every thread that runs coroutines gets an
// alternate signal stack (sigaltstack). The handler asks "is the faulting
// address in the guard page of the coroutine running on this thread?" If
// so it prints the stack's bounds and the address and ends the process with
// SIGSEGV; if not, the fault is somebody else's and goes to the handler that
// was installed before ours (or the default: a crash). A SIGSEGV that was
// sent (kill, raise) rather than raised by a fault is never ours either.
#pragma once

#include <atomic>

namespace cfs::overflow {

/// The guard page and stack bounds of the coroutine running on this
/// thread, for the handler to look at. Set by the coroutine code at every
/// switch; nullptr outside any coroutine.
struct RunningStack {
  const void* guard_lo;
  const void* lo;
  const void* hi;
};

/// Makes sure the SIGSEGV/SIGBUS handler is installed (unless it is ours
/// already) and gives this thread its alternate signal stack; the slow path
/// of prepare_thread(). Throws StackError if the alternate stack cannot be
/// made: without it an overflow could not be reported.
void prepare_thread_first_time();

//! [prepare-thread]
/// True once prepare_thread_first_time() has run on this thread (and in
/// this process: a fork()ed child checks again).
extern constinit thread_local bool t_prepared;  // constinit: no TLS wrapper call

/// prepare_thread_first_time(), unless done already: one load when it is.
inline void prepare_thread() {
  if (!t_prepared) prepare_thread_first_time();
}
//! [prepare-thread]

/// The stack this thread runs on, as the handler sees it. The handler runs
/// on this same thread, in the middle of whatever it interrupted; a
/// lock-free atomic is what C++ allows both to share (a plain pointer would
/// be a data race), and a relaxed store compiles to a plain store.
extern constinit thread_local std::atomic<const RunningStack*> t_running;
static_assert(std::atomic<const RunningStack*>::is_always_lock_free);

/// Tells the handler which stack this thread runs on (nullptr: a stack that
/// is not a coroutine's, such as the thread's own).
inline void set_running(const RunningStack* stack) {
  t_running.store(stack, std::memory_order_relaxed);
}

}  // namespace cfs::overflow
