// common/valgrind.h: tell Valgrind about stacks it cannot see.
//
// Valgrind follows the stack pointer to know which memory is live stack.
// A switch to memory it does not know as a stack looks like a wild jump of
// sp; registering each coroutine stack tells it what is going on. Reading a
// suspended stack's dead area on purpose (tests do, to measure how much was
// used) needs make_defined(). Without Valgrind's header (macOS), or for a
// CPU Valgrind does not know (riscv64), these are empty; under no Valgrind
// they cost a few instructions.
#pragma once

#include <cstddef>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>) && __has_include(<valgrind/memcheck.h>)
#define CFS_HAVE_VALGRIND 1
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
// valgrind.h defines NVALGRIND for a CPU Valgrind does not run on (RISC-V
// 64 in Valgrind 3.19; Debian's cross compilers still find the host's
// header in /usr/include): its macros then ignore their arguments, so we
// treat it as no Valgrind at all.
#if defined(NVALGRIND)
#undef CFS_HAVE_VALGRIND
#endif
#endif
#endif

namespace cfs::valgrind {

/// Registers [lo, hi) as a stack; returns an id for stack_deregister().
inline unsigned stack_register(const void* lo, const void* hi) {
#if defined(CFS_HAVE_VALGRIND)
  return VALGRIND_STACK_REGISTER(lo, hi);
#else
  (void)lo, (void)hi;
  return 0;
#endif
}

inline void stack_deregister(unsigned id) {
#if defined(CFS_HAVE_VALGRIND)
  VALGRIND_STACK_DEREGISTER(id);
#else
  (void)id;
#endif
}

/// Declares [p, p + n) initialised, whatever Valgrind believed.
inline void make_defined(const void* p, std::size_t n) {
#if defined(CFS_HAVE_VALGRIND)
  VALGRIND_MAKE_MEM_DEFINED(p, n);
#else
  (void)p, (void)n;
#endif
}

/// True when this process runs under Valgrind (tests that look at things
/// Valgrind itself changes, such as exit statuses or where mappings go).
inline bool running_on_valgrind() {
#if defined(CFS_HAVE_VALGRIND)
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

}  // namespace cfs::valgrind
