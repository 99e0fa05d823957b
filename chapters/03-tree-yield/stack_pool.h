// stack_pool.h: reuse stacks instead of mapping and unmapping them.
//
// mmap + mprotect + munmap are system calls, about a microsecond each here;
// a coroutine that lives for a few hundred nanoseconds should not pay them.
// Each thread keeps a small pool of released stacks and hands them out
// again to coroutines asking for the same size and guard.
#pragma once

#include <cstddef>

#include "stack_memory.h"

namespace cfs {

namespace stack_pool {

/// How many released stacks one thread keeps at most.
inline constexpr std::size_t kCapacity = 64;

/// A stack as `options` say: from this thread's pool if `options.pooled`
/// and one fits, else freshly mapped.
StackMemory acquire(const StackOptions& options);

/// Gives a stack back: kept in this thread's pool if `pooled` and there is
/// room, else unmapped.
void release(StackMemory stack, bool pooled);

/// Stacks in this thread's pool right now.
std::size_t size();

}  // namespace stack_pool

}  // namespace cfs
