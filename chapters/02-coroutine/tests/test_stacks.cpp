// tests/test_stacks.cpp: mmap'ed stacks, guard pages, overflow, the pool,
// and the limit on memory mappings.
#include <doctest/doctest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../../../common/child_process.h"
#include "../../../common/sanitizer_fiber.h"
#include "../coroutine.h"
#include "../stack_pool.h"

using cfs::Coroutine;
using cfs::StackOptions;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// Uses about 256 bytes of stack per level, and cannot be turned into a loop.
__attribute__((noinline)) int recurse(int n) {
  volatile char pad[256];
  pad[0] = static_cast<char>(n);
  if (n == 0) return pad[0];
  return recurse(n - 1) + pad[0];
}

std::string hex16(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016lx", static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(p)));
  return buf;
}

// The signal a guard-page hit raises: SIGSEGV on Linux, SIGBUS on macOS.
#if defined(__APPLE__)
constexpr int kGuardSignal = SIGBUS;
#else
constexpr int kGuardSignal = SIGSEGV;
#endif

long count_mappings() {
  std::ifstream maps("/proc/self/maps");
  long n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

long max_map_count() {
  std::ifstream f("/proc/sys/vm/max_map_count");
  long n = 0;
  return (f >> n) ? n : 0;
}

constexpr long kReservedMappings = 512;

/// Holds `n` memory mappings: one block of n pages whose protection
/// alternates page by page, so that the kernel cannot merge them.
/// release() gives all of them back with a single munmap.
class MappingReserve {
 public:
  explicit MappingReserve(long n) : bytes_(static_cast<std::size_t>(n) * page()) {
    base_ = ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) fail("mmap");
    for (long i = 1; i < n; i += 2) {
      char* at = static_cast<char*>(base_) + static_cast<std::size_t>(i) * page();
      if (::mprotect(at, page(), PROT_NONE) != 0) fail("mprotect");
    }
  }
  MappingReserve(const MappingReserve&) = delete;
  MappingReserve& operator=(const MappingReserve&) = delete;
  ~MappingReserve() { release(); }
  void release() {
    if (base_ != nullptr) ::munmap(base_, bytes_);
    base_ = nullptr;
  }

 private:
  static std::size_t page() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }
  [[noreturn]] static void fail(const char* what) {
    std::perror(what);  // in the child: its stderr reaches the test's INFO
    std::abort();
  }
  std::size_t bytes_;
  void* base_ = nullptr;
};
}  // namespace

TEST_CASE("the page size comes from the system, and stacks are whole pages") {
  std::size_t page = cfs::page_size();
  CHECK(page == static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  CHECK(page >= 4096);
  CHECK((page & (page - 1)) == 0);
  cfs::StackMemory s(StackOptions{.size = page + 1});
  CHECK(s.size() == 2 * page);
  CHECK(s.guard_size() == page);
  CHECK(reinterpret_cast<std::uintptr_t>(s.lo()) % page == 0);
  CHECK(s.in_guard(s.lo() - 1));
  CHECK(s.in_guard(s.lo() - page));
  CHECK_FALSE(s.in_guard(s.lo()));
  cfs::StackMemory bare(StackOptions{.size = page, .guard = false});
  CHECK(bare.guard_size() == 0);
  CHECK_FALSE(bare.in_guard(bare.lo() - 1));
}

TEST_CASE("the guard page really faults") {
  cfs::ChildResult r = cfs::run_in_child([] {
    cfs::StackMemory s(StackOptions{});
    volatile char* below = reinterpret_cast<volatile char*>(s.lo() - 1);
    *below = 1;  // not inside a coroutine: the ordinary crash
    std::fprintf(stderr, "wrote to the guard page: must not happen\n");
  });
  CHECK(r.signaled);
  CHECK(r.signal == kGuardSignal);
  CHECK_FALSE(contains(r.err, "must not happen"));
  CHECK_FALSE(contains(r.err, "stack overflow"));  // not a coroutine's overflow
}

TEST_CASE("a stack overflow in a coroutine prints its stack, guard page and fault address, then SIGSEGV") {
  cfs::ChildResult r = cfs::run_in_child([] {
    Coroutine<int> c([] { cfs::yield(recurse(1 << 30)); });
    cfs::detail::cfs_coroutine_record* rec = cfs_live_coroutines;
    std::fprintf(stderr, "expect [%s, %s)\n", hex16(rec->stack_lo).c_str(), hex16(rec->stack_hi).c_str());
    std::fflush(stderr);
    c.resume();
    std::fprintf(stderr, "survived: must not happen\n");
  });
  CHECK(r.signaled);
  CHECK(r.signal == kGuardSignal);
  INFO("child stderr: " << r.err);
  CHECK(contains(r.err, "cfs: stack overflow in a coroutine: its stack is ["));
  CHECK(contains(r.err, "the faulting address is 0x"));
  CHECK_FALSE(contains(r.err, "must not happen"));
  // The bounds printed by the handler are the coroutine's real bounds.
  auto from = r.err.find("expect [");
  REQUIRE(from != std::string::npos);
  std::string expected = r.err.substr(from + 8, r.err.find(')', from) - from - 8);  // "lo, hi"
  CHECK(contains(r.err, "its stack is [" + expected + ")"));
}

TEST_CASE("the stack size is configurable per coroutine") {
  StackOptions big;
  big.size = 1024 * 1024;
  // ~100k levels * 256+ bytes would overflow the 64 KiB default; 200 fits in it.
  Coroutine<int> deep(big, [] { cfs::yield(recurse(2000)); });
  CHECK(deep.resume() == recurse(2000));
  Coroutine<int> shallow([] { cfs::yield(recurse(100)); });
  CHECK(shallow.resume() == recurse(100));
}

TEST_CASE("released stacks are pooled per thread and reused") {
  const void* first = nullptr;
  const void* second = nullptr;
  {
    Coroutine<int> c([] { cfs::yield(1); });
    first = cfs_live_coroutines->stack_lo;
    c.resume();
  }  // unwound, and its stack goes to the pool
  std::size_t pooled = cfs::stack_pool::size();
  CHECK(pooled >= 1);
  {
    Coroutine<int> c([] {});
    second = cfs_live_coroutines->stack_lo;
    CHECK(cfs::stack_pool::size() == pooled - 1);
  }
  CHECK(first == second);  // the same memory, no new mapping

  StackOptions unpooled;
  unpooled.pooled = false;
  std::size_t before = cfs::stack_pool::size();
  { Coroutine<int> c(unpooled, [] {}); }
  CHECK(cfs::stack_pool::size() == before);  // unmapped, not kept
}

TEST_CASE("a stack that cannot be mapped is a clear error, and nothing leaks") {
  StackOptions huge;
  huge.size = std::size_t{1} << 50;  // a petabyte: more than the address space
  std::size_t live = cfs::StackMemory::live_count();
  std::string msg;
  try {
    Coroutine<int> c(huge, [] {});
  } catch (const cfs::StackError& e) {
    msg = e.what();
  }
  CHECK(contains(msg, "cfs: cannot make a "));
  CHECK(contains(msg, "KiB coroutine stack with a guard page: mmap failed"));
  CHECK(cfs::StackMemory::live_count() == live);
}

// vm.max_map_count and /proc/self/maps are Linux's; macOS has no such cap.
#if defined(__linux__)
// Not under AddressSanitizer: its allocator needs fresh mappings of its own
// to build any message, so a process that has used up its mappings on
// purpose cannot report anything there (valgrind: see CMakeLists.txt).
#if !defined(CFS_ASAN)
TEST_CASE("guarded stacks run into vm.max_map_count and the error names the way out") {
  const long cap = max_map_count();
  REQUIRE(cap > 0);
  cfs::ChildResult r = cfs::run_in_child([] {
    // Under qemu-user the emulator's own allocations share this process's
    // mappings, and qemu dies if it finds none left. So: run the error path
    // once first (a stack too big to map), so qemu has translated that code
    // already; and hold back a reserve of mappings, given back the moment our
    // stacks run out, before anything else runs.
    try {
      Coroutine<int> too_big(StackOptions{.size = std::size_t{1} << 50}, [] {});
    } catch (const cfs::StackError& e) {
      std::fprintf(stderr, "warm-up: %.20s\n", e.what());
    }
    MappingReserve reserve(kReservedMappings);
    std::vector<Coroutine<int>> all;
    all.reserve(70000);
    std::string error;
    try {
      for (;;) all.emplace_back([] {});
    } catch (const cfs::StackError& e) {
      reserve.release();
      error = e.what();
    }
    const std::size_t made = all.size();
    all.clear();  // give the stacks' mappings back too, then report
    std::fprintf(stderr, "made %zu\n%s\n", made, error.c_str());
  });
  INFO("child stderr: " << r.err);
  CHECK(r.exited);
  long made = 0;
  auto at = r.err.find("made ");
  REQUIRE(at != std::string::npos);
  std::sscanf(r.err.c_str() + at, "made %ld", &made);
  // Two mappings per guarded stack; the program, its libraries (and qemu)
  // and the reserve use the rest.
  CHECK(made > (cap - kReservedMappings) / 2 - 2000);
  CHECK(made < cap / 2);
  CHECK(contains(r.err, "vm.max_map_count is " + std::to_string(cap)));
  CHECK(contains(r.err, "use StackOptions{.guard = false} to hold more"));
}

#endif  // !CFS_ASAN

TEST_CASE("unguarded stacks go far past that limit: adjacent mappings merge") {
  const long cap = max_map_count();
  REQUIRE(cap > 0);
  StackOptions bare;
  bare.guard = false;
  bare.size = 16 * 1024;
  std::vector<Coroutine<int>> all;
  const long want = cap / 2 + 5000;
  all.reserve(static_cast<std::size_t>(want));
  for (long i = 0; i < want; ++i) all.emplace_back(bare, [] { cfs::yield(1); });
  CHECK(count_mappings() < cap / 2);
  CHECK(all.back().resume() == 1);
  CHECK(all.front().resume() == 1);
}
#endif  // __linux__
