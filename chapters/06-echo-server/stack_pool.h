// stack_pool.h: reuse stacks instead of mapping and unmapping them.
//
// mmap + mprotect + munmap are system calls, about a microsecond each here;
// a coroutine that lives for a few hundred nanoseconds should not pay them.
// Each thread keeps a pool of released stacks and hands them out again to
// coroutines asking for the same size and guard.
//
// A pool must not become a leak. It is bounded in bytes, not only in count
// (one 64 MiB stack is worth a thousand default ones), and the pages a
// pooled stack touched stay resident only for the first few stacks in the
// pool: beyond that mark they are given back to the kernel (madvise), so an
// idle pool holds address space, not memory.
#pragma once

#include <cstddef>

#include "stack_memory.h"

namespace cfs {

namespace stack_pool {

//! [pool-limits]
/// How much one thread's pool keeps. Settable per thread: a server that
/// makes and ends a coroutine per connection (chapter 06) wants more.
struct Limits {
  /// The most bytes of stack (usable size plus guard) the pool holds; a
  /// stack that does not fit is unmapped. 0 turns pooling off.
  std::size_t max_bytes = 4 * 1024 * 1024;
  /// The high-water mark: this many pooled stacks keep their touched pages,
  /// ready to run; the pages of any further stack are given back first.
  std::size_t max_resident = 16;
};

/// This thread's limits. Setting them trims the pool to fit at once.
Limits limits();
void set_limits(const Limits& limits);
//! [pool-limits]

/// A stack as `options` say: from this thread's pool if `options.pooled`
/// and one fits, else freshly mapped.
StackMemory acquire(const StackOptions& options);

/// Gives a stack back: kept in this thread's pool if `pooled` and it fits
/// the limits, else unmapped. After the thread's pool has been destroyed
/// (a coroutine with static storage, destroyed at exit), always unmapped.
void release(StackMemory stack, bool pooled);

/// Stacks in this thread's pool right now, and their bytes (with guards).
std::size_t size();
std::size_t bytes();

}  // namespace stack_pool

}  // namespace cfs
