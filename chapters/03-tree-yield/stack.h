// stack.h: a block of memory to run a context on.
//
// Chapter 01 keeps it simple: heap memory, 16-byte aligned at both ends.
// A stack overflow here corrupts the heap silently; chapter 02 replaces this
// with mmap'ed stacks and a guard page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace cfs {

class Stack {
 public:
  /// Allocates `size` bytes (rounded up to a multiple of 16).
  explicit Stack(std::size_t size = 64 * 1024)
      : size_((size + 15) & ~std::size_t{15}), mem_(new std::byte[size_]) {}

  /// Lowest address: the stack ends here (it grows down towards it).
  std::byte* lo() const { return mem_.get(); }
  /// One past the highest address: a fresh stack starts here.
  std::byte* hi() const { return mem_.get() + size_; }
  std::size_t size() const { return size_; }
  bool contains(const void* p) const {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    return a >= reinterpret_cast<std::uintptr_t>(lo()) &&
           a < reinterpret_cast<std::uintptr_t>(hi());
  }
  /// Fills the whole stack with `byte`, so that tests can see what was used.
  void fill(unsigned char byte) { std::memset(mem_.get(), byte, size_); }

 private:
  std::size_t size_;
  std::unique_ptr<std::byte[]> mem_;
};

}  // namespace cfs
