// stack_memory.h: coroutine stacks from mmap, with a guard page below.
//
// A stack grows down. If it grows past its end it must hit memory that
// faults, not somebody else's data: so below every stack we map one page
// with no access rights (PROT_NONE), the guard page. Touching it raises
// SIGSEGV, which overflow_handler.h turns into a clear message.
//
//     hi() ->  +--------------------+
//              |  usable stack      |  read/write, grows down
//     lo() ->  +--------------------+
//              |  guard page        |  PROT_NONE: any access faults
//   guard_lo ->+--------------------+  (the start of the mapping)
//
// Pages are only backed by memory when touched, so a 64 KiB stack whose
// coroutine only ever used 1 KiB costs one page of RAM.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace cfs {

/// The system's page size: 4 KiB on x86-64 and most AArch64 Linux, 16 KiB
/// on Apple Silicon. Guard pages and stack sizes are multiples of it.
std::size_t page_size();

//! [stack-options]
/// How a coroutine's stack is made.
struct StackOptions {
  /// Usable bytes, rounded up to whole pages.
  std::size_t size = 64 * 1024;
  /// A PROT_NONE page below the stack, so that an overflow faults. Each
  /// guarded stack costs two kernel memory mappings (Linux allows 65530 per
  /// process by default, `vm.max_map_count`): turn this off to hold far more
  /// coroutines, at the price of silent corruption on overflow.
  bool guard = true;
  /// Reuse stacks of the same size and guard from a per-thread pool.
  bool pooled = true;
};
//! [stack-options]

/// Thrown when the memory for a stack cannot be had.
class StackError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One mapping: an optional guard page and the usable stack above it.
class StackMemory {
 public:
  StackMemory() = default;
  /// Maps a stack as `options` say (its `pooled` is not looked at here).
  /// Throws StackError, with the reason and the live-stack count, on failure.
  explicit StackMemory(const StackOptions& options);
  ~StackMemory();
  StackMemory(StackMemory&& other) noexcept;
  StackMemory& operator=(StackMemory&& other) noexcept;
  StackMemory(const StackMemory&) = delete;
  StackMemory& operator=(const StackMemory&) = delete;

  std::byte* lo() const { return lo_; }            ///< lowest usable byte
  std::byte* hi() const { return lo_ + size_; }    ///< one past the top
  std::size_t size() const { return size_; }       ///< usable bytes
  std::size_t guard_size() const { return guard_; }  ///< 0 if unguarded
  bool empty() const { return lo_ == nullptr; }
  /// True if `addr` lies in this stack's guard page.
  bool in_guard(const void* addr) const;

  /// Stacks mapped and not yet unmapped, in this process.
  static std::size_t live_count();

 private:
  void release() noexcept;
  std::byte* lo_ = nullptr;
  std::size_t size_ = 0;
  std::size_t guard_ = 0;
  unsigned valgrind_id_ = 0;
};

}  // namespace cfs
