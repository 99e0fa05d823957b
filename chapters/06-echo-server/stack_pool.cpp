// stack_pool.cpp: a per-thread free list of stacks, bounded in bytes.
#include "stack_pool.h"

#include <sys/mman.h>

#include <utility>
#include <vector>

#include "../../common/sanitizer_fiber.h"

namespace cfs::stack_pool {

namespace {

//! [pool-lifetime]
// Per thread: no locks. A stack released on another thread than the one
// that made it simply joins that other thread's pool.
//
// A thread's thread_local objects are destroyed before the objects with
// static storage (at exit(), the main thread's too), so a Coroutine with
// static storage is destroyed after its thread's pool is gone. Touching the
// pool then would be a use after free; `t_pool_gone` says so instead. It is
// a plain bool with constant initialisation: no constructor or destructor,
// so it stays readable for the whole life of the thread.
constinit thread_local bool t_pool_gone = false;

struct Pool {
  std::vector<StackMemory> stacks;  // newest last
  std::size_t bytes = 0;
  Limits limits;
  ~Pool() { t_pool_gone = true; }   // the stacks are unmapped right after
};
thread_local Pool t_pool;
//! [pool-lifetime]

std::size_t footprint(const StackMemory& s) { return s.size() + s.guard_size(); }

//! [pool-trim]
/// Gives a stack's touched pages back to the kernel; the mapping (and its
/// guard page) stays, and the pages read as zeros when next touched.
void give_pages_back(const StackMemory& s) {
#if defined(__linux__)
  madvise(s.lo(), s.size(), MADV_DONTNEED);  // immediate: RSS drops now
#else
  madvise(s.lo(), s.size(), MADV_FREE);  // macOS: reclaimed when needed
#endif
}

/// Unmaps the oldest stacks until the pool fits its byte limit.
void trim(Pool& pool) {
  std::size_t drop = 0;
  while (drop < pool.stacks.size() && pool.bytes > pool.limits.max_bytes) {
    pool.bytes -= footprint(pool.stacks[drop]);
    ++drop;
  }
  pool.stacks.erase(pool.stacks.begin(), pool.stacks.begin() + static_cast<std::ptrdiff_t>(drop));
}
//! [pool-trim]

}  // namespace

Limits limits() { return t_pool_gone ? Limits{} : t_pool.limits; }

void set_limits(const Limits& limits) {
  if (t_pool_gone) return;
  t_pool.limits = limits;
  trim(t_pool);
}

//! [pool]
StackMemory acquire(const StackOptions& options) {
  if (options.pooled && !t_pool_gone) {
    Pool& pool = t_pool;
    const std::size_t want = (options.size + page_size() - 1) / page_size() * page_size();
    const std::size_t want_guard = options.guard ? page_size() : 0;
    for (auto it = pool.stacks.rbegin(); it != pool.stacks.rend(); ++it) {
      if (it->size() == want && it->guard_size() == want_guard) {
        StackMemory found = std::move(*it);
        pool.stacks.erase(std::next(it).base());
        pool.bytes -= footprint(found);
        return found;
      }
    }
  }
  return StackMemory(options);
}

void release(StackMemory stack, bool pooled) {
  if (!pooled || stack.empty() || t_pool_gone) return;  // unmapped here
  Pool& pool = t_pool;
  if (footprint(stack) > pool.limits.max_bytes) return;  // too big to keep
  sanitizer::unpoison(stack.lo(), stack.size());
  if (pool.stacks.size() >= pool.limits.max_resident) give_pages_back(stack);
  pool.bytes += footprint(stack);
  pool.stacks.push_back(std::move(stack));
  trim(pool);  // the oldest go first
}
//! [pool]

std::size_t size() { return t_pool_gone ? 0 : t_pool.stacks.size(); }
std::size_t bytes() { return t_pool_gone ? 0 : t_pool.bytes; }

}  // namespace cfs::stack_pool
