// stack_pool.cpp: a per-thread free list of stacks.
#include "stack_pool.h"

#include <utility>
#include <vector>

#include "../../common/sanitizer_fiber.h"

namespace cfs::stack_pool {

namespace {
// Per thread: no locks. A stack released on another thread than the one
// that made it simply joins that other thread's pool.
thread_local std::vector<StackMemory> t_pool;
}  // namespace

//! [pool]
StackMemory acquire(const StackOptions& options) {
  if (options.pooled) {
    const std::size_t want = (options.size + page_size() - 1) / page_size() * page_size();
    const std::size_t want_guard = options.guard ? page_size() : 0;
    for (auto it = t_pool.rbegin(); it != t_pool.rend(); ++it) {
      if (it->size() == want && it->guard_size() == want_guard) {
        StackMemory found = std::move(*it);
        t_pool.erase(std::next(it).base());
        return found;
      }
    }
  }
  return StackMemory(options);
}

void release(StackMemory stack, bool pooled) {
  if (!pooled || stack.empty() || t_pool.size() >= kCapacity) return;  // unmapped here
  sanitizer::unpoison(stack.lo(), stack.size());
  t_pool.push_back(std::move(stack));
}
//! [pool]

std::size_t size() { return t_pool.size(); }

}  // namespace cfs::stack_pool
