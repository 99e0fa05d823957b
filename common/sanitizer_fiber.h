// common/sanitizer_fiber.h: tell AddressSanitizer that the stack changes.
//
// ASan keeps track of which stack a thread runs on (to poison and unpoison
// stack memory, and for its "fake stacks" that catch use after return). A
// hand-made switch moves sp behind its back, so every switch is wrapped:
//
//   start_switch(&my_fake, to_bottom, to_size);   // about to leave
//   cfs_switch(...);                              // ... away and back ...
//   finish_switch(my_fake, &from_bottom, &from_size); // arrived
//
// The first code on a fresh stack calls finish_switch(nullptr, ...), and a
// context that leaves for the last time passes nullptr to start_switch so
// ASan frees its fake stack. In builds without ASan these are empty inline
// functions and cost nothing.
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define CFS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CFS_ASAN 1
#endif
#endif

#if defined(CFS_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace cfs::sanitizer {

/// Call right before switching to the stack [bottom, bottom + size).
/// `fake_stack_save` receives this side's fake-stack handle; pass nullptr
/// when this side will never run again.
inline void start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
#if defined(CFS_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save, (void)bottom, (void)size;
#endif
}

/// Call right after arriving on a stack. `fake_stack_save` is what this
/// side's start_switch stored (nullptr on a fresh stack); the bounds of the
/// stack we came from are written to `*old_bottom`/`*old_size` if non-null.
inline void finish_switch(void* fake_stack_save, const void** old_bottom, std::size_t* old_size) {
#if defined(CFS_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, old_bottom, old_size);
#else
  (void)fake_stack_save, (void)old_bottom, (void)old_size;
#endif
}

/// Forgets ASan's poisoning of [lo, lo + size): a stack whose frames never
/// returned (its coroutine was abandoned or ended with a final switch) still
/// has poisoned red zones, which must not trouble the stack's next user.
inline void unpoison(const void* lo, std::size_t size) {
#if defined(CFS_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(lo, size);
#else
  (void)lo, (void)size;
#endif
}

}  // namespace cfs::sanitizer
