// stack_memory.cpp: mmap, mprotect, munmap, and an error that says why.
#include "stack_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "../../common/valgrind.h"

namespace cfs {

namespace {
std::atomic<std::size_t> g_live{0};

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

/// Linux's cap on memory mappings per process, or 0 if unknown.
long max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  long n = 0;
  return (f >> n) ? n : 0;
}

[[noreturn]] void fail(const char* what, int err, const StackOptions& o) {
  std::string msg = std::string("cfs: cannot make a ") + std::to_string(o.size / 1024) +
                    " KiB coroutine stack" + (o.guard ? " with a guard page" : "") + ": " +
                    what + " failed: " + std::strerror(err) + "; " +
                    std::to_string(g_live.load()) + " stacks are live in this process";
  if (long cap = max_map_count(); cap > 0 && o.guard) {
    msg += "; each guarded stack costs two memory mappings and vm.max_map_count is " +
           std::to_string(cap) + ", so about " + std::to_string(cap / 2) +
           " guarded stacks fit: use StackOptions{.guard = false} to hold more";
  }
  throw StackError(msg);
}
}  // namespace

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

//! [stack-map]
StackMemory::StackMemory(const StackOptions& options) {
  const std::size_t page = page_size();
  size_ = round_up(options.size, page);
  guard_ = options.guard ? page : 0;
  // Map the whole range readable and writable. Like any anonymous mapping,
  // its pages get memory only when first touched; MAP_NORESERVE also skips
  // reserving swap space for all of it up front.
  void* map = mmap(nullptr, guard_ + size_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) fail("mmap", errno, options);
  // Then take every right away from the lowest page: the guard.
  if (guard_ != 0 && mprotect(map, guard_, PROT_NONE) != 0) {
    int err = errno;
    munmap(map, guard_ + size_);
    fail("mprotect", err, options);
  }
  lo_ = static_cast<std::byte*>(map) + guard_;
  valgrind_id_ = valgrind::stack_register(lo_, lo_ + size_);
  ++g_live;
}
//! [stack-map]

StackMemory::~StackMemory() { release(); }

StackMemory::StackMemory(StackMemory&& other) noexcept
    : lo_(std::exchange(other.lo_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      guard_(std::exchange(other.guard_, 0)),
      valgrind_id_(std::exchange(other.valgrind_id_, 0)) {}

StackMemory& StackMemory::operator=(StackMemory&& other) noexcept {
  if (this != &other) {
    release();
    lo_ = std::exchange(other.lo_, nullptr);
    size_ = std::exchange(other.size_, 0);
    guard_ = std::exchange(other.guard_, 0);
    valgrind_id_ = std::exchange(other.valgrind_id_, 0);
  }
  return *this;
}

bool StackMemory::in_guard(const void* addr) const {
  auto* p = static_cast<const std::byte*>(addr);
  return guard_ != 0 && p >= lo_ - guard_ && p < lo_;
}

std::size_t StackMemory::live_count() { return g_live.load(); }

void StackMemory::release() noexcept {
  if (lo_ == nullptr) return;
  valgrind::stack_deregister(valgrind_id_);
  munmap(lo_ - guard_, guard_ + size_);
  lo_ = nullptr;
  --g_live;
}

}  // namespace cfs
