// stack.h: a block of memory to run a context on.
//
// Chapter 01 keeps it simple: one anonymous mapping from mmap, the way
// threads get their stacks, rather than heap memory from new/malloc (a
// stack pointer in the middle of the heap confuses tools that walk the heap,
// and a program that frees the block while a context still runs on it would
// be hard to debug). 16-byte aligned at both ends. There is no guard page
// yet: a stack overflow here runs off the bottom into whatever is mapped
// below. Chapter 02 adds the guard.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "../../common/valgrind.h"

namespace cfs {

class Stack {
 public:
  /// Maps `size` bytes (rounded up to a multiple of 16) of fresh memory.
  explicit Stack(std::size_t size = 64 * 1024) : size_((size + 15) & ~std::size_t{15}) {
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mem_ = static_cast<std::byte*>(p);
    // Valgrind follows sp to know what is stack; a jump of sp into memory
    // it does not know as a stack looks to it like a frame of that size
    // (common/valgrind.h). Nothing happens outside Valgrind.
    valgrind_id_ = valgrind::stack_register(lo(), hi());
  }
  ~Stack() {
    valgrind::stack_deregister(valgrind_id_);
    munmap(mem_, size_);
  }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  /// Lowest address: the stack ends here (it grows down towards it).
  std::byte* lo() const { return mem_; }
  /// One past the highest address: a fresh stack starts here.
  std::byte* hi() const { return mem_ + size_; }
  std::size_t size() const { return size_; }
  bool contains(const void* p) const {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    return a >= reinterpret_cast<std::uintptr_t>(lo()) &&
           a < reinterpret_cast<std::uintptr_t>(hi());
  }
  /// Fills the whole stack with `byte`, so that tests can see what was used.
  void fill(unsigned char byte) { std::memset(mem_, byte, size_); }

 private:
  std::size_t size_;
  std::byte* mem_ = nullptr;
  unsigned valgrind_id_ = 0;
};

}  // namespace cfs
