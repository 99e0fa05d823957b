// overflow_handler.h: turn a hit on a guard page into a clear message.
//
// A stack overflow in a coroutine touches its guard page and the kernel
// sends SIGSEGV. The handler cannot run on the overflowed stack (it is
// full: that is the problem), so every thread that runs coroutines gets an
// alternate signal stack (sigaltstack). The handler asks "is the faulting
// address in the guard page of the coroutine running on this thread?" If
// so it prints the stack's bounds and the address and ends the process with
// SIGSEGV; if not, the fault is somebody else's and goes to the handler that
// was installed before ours (or the default: a crash).
#pragma once

namespace cfs::overflow {

/// The guard page and stack bounds of the coroutine running on this
/// thread, for the handler to look at. Set by the coroutine code at every
/// switch; nullptr outside any coroutine.
struct RunningStack {
  const void* guard_lo;
  const void* lo;
  const void* hi;
};

/// Installs the SIGSEGV/SIGBUS handler (once per process) and this thread's
/// alternate signal stack (once per thread); the slow path of prepare_thread().
void prepare_thread_first_time();

//! [prepare-thread]
/// True once prepare_thread_first_time() has run on this thread (and in
/// this process: a fork()ed child starts over).
extern constinit thread_local bool t_prepared;  // constinit: no TLS wrapper call

/// prepare_thread_first_time(), unless done already: one load when it is.
inline void prepare_thread() {
  if (!t_prepared) prepare_thread_first_time();
}
//! [prepare-thread]

/// The stack this thread runs on, as the handler sees it.
extern constinit thread_local const RunningStack* t_running;

/// Tells the handler which stack this thread runs on (nullptr: a stack that
/// is not a coroutine's, such as the thread's own).
inline void set_running(const RunningStack* stack) { t_running = stack; }

}  // namespace cfs::overflow
