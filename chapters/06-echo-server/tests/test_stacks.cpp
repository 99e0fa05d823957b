// tests/test_stacks.cpp: mmap'ed stacks, guard pages, overflow, the pool,
// and the limit on memory mappings.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../../../common/child_process.h"
#include "../../../common/sanitizer_fiber.h"
#include "../../../common/valgrind.h"
#include "../coroutine.h"
#include "../overflow_handler.h"
#include "../stack_pool.h"

using cfs::Coroutine;
using cfs::StackOptions;
using stack_pool_limits = cfs::stack_pool::Limits;

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

//! [pool-test]
TEST_CASE("the pool is bounded in bytes and settable, and a stack too big for it is unmapped") {
  const stack_pool_limits saved = cfs::stack_pool::limits();
  const std::size_t page = cfs::page_size();
  const std::size_t footprint = 64 * 1024 + page;  // a default stack and its guard
  cfs::stack_pool::set_limits({.max_bytes = 3 * footprint, .max_resident = 16});
  CHECK(cfs::stack_pool::bytes() <= 3 * footprint);  // trimmed at once
  {
    std::vector<Coroutine<int>> five;
    for (int i = 0; i < 5; ++i) five.emplace_back([] {});
  }  // five released: the pool keeps three of them
  CHECK(cfs::stack_pool::size() == 3);
  CHECK(cfs::stack_pool::bytes() == 3 * footprint);

  // A 64 MiB stack (chapter 03's deep tree) is not pooled: it is unmapped.
  std::size_t live = cfs::StackMemory::live_count();
  { Coroutine<int> big(StackOptions{.size = 64 * 1024 * 1024}, [] { cfs::yield(1); }); }
  CHECK(cfs::StackMemory::live_count() == live);
  CHECK(cfs::stack_pool::size() == 3);

  cfs::stack_pool::set_limits({.max_bytes = 0});  // pooling off
  CHECK(cfs::stack_pool::size() == 0);
  CHECK(cfs::StackMemory::live_count() == live - 3);
  cfs::stack_pool::set_limits(saved);
}

namespace {
std::size_t g_live_outside_pool = 0;
void report_live_stacks_at_exit() {
  std::fprintf(stderr, "at exit: %zu stacks live, %zu expected\n", cfs::StackMemory::live_count(),
               g_live_outside_pool);
}
}  // namespace

//! [static-coroutine-test]
TEST_CASE("a coroutine with static storage is destroyed at exit, after its thread's pool") {
  cfs::ChildResult r = cfs::run_in_child([] {
    // Registered first, so it runs last: after the static coroutine below
    // has been destroyed (exit() runs those in reverse order), which is
    // after the thread's thread_local objects, the pool among them.
    g_live_outside_pool = cfs::StackMemory::live_count() - cfs::stack_pool::size();
    std::atexit(report_live_stacks_at_exit);
    static Coroutine<int> forever([] {
      for (;;) cfs::yield(1);
    });
    forever.resume();  // started and suspended: destroying it unwinds it
    std::exit(0);      // not _exit: run the destructors
  });
  INFO("child stderr: " << r.err);
  CHECK(r.exited);
  CHECK(r.code == 0);
  // Its stack was unmapped, not pushed into the destroyed pool.
  CHECK(contains(r.err, "at exit: "));
  std::size_t live = 99, expected = 0;
  REQUIRE(std::sscanf(r.err.c_str() + r.err.find("at exit: "), "at exit: %zu stacks live, %zu expected",
                      &live, &expected) == 2);
  CHECK(live == expected);
}
//! [static-coroutine-test]

namespace {
/// How many of the pages of [lo, lo + size) are resident in memory.
std::size_t resident_pages(const void* lo, std::size_t size) {
  const std::size_t page = cfs::page_size();
#if defined(__APPLE__)
  std::vector<char> in_core(size / page);
#else
  std::vector<unsigned char> in_core(size / page);
#endif
  REQUIRE(::mincore(const_cast<void*>(lo), size, in_core.data()) == 0);
  std::size_t n = 0;
  for (auto c : in_core) n += (c & 1);
  return n;
}
}  // namespace

TEST_CASE("pooled stacks beyond the high-water mark give their touched pages back") {
  const stack_pool_limits saved = cfs::stack_pool::limits();
  cfs::stack_pool::set_limits({.max_bytes = 0});  // start empty
  cfs::stack_pool::set_limits({.max_bytes = 16 * 1024 * 1024, .max_resident = 1});
  std::vector<const void*> lows;
  {
    std::vector<Coroutine<int>> two;
    for (int i = 0; i < 2; ++i) {
      two.emplace_back([] { cfs::yield(recurse(100)); });  // ~30 KiB deep
      lows.push_back(cfs_live_coroutines->stack_lo);
      two.back().resume();
    }
    for (const void* lo : lows) CHECK(resident_pages(lo, 64 * 1024) >= 6);
  }  // released in order: the first stays resident, the second is trimmed
  REQUIRE(cfs::stack_pool::size() == 2);
  CHECK(resident_pages(lows[0], 64 * 1024) >= 6);
  CHECK(resident_pages(lows[1], 64 * 1024) == 0);
  cfs::stack_pool::set_limits(saved);
}
//! [pool-test]

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

// --- the overflow handler: what it must not swallow, and fork ---------------

//! [sent-signal-test]
TEST_CASE("a SIGSEGV sent with raise() or kill() ends the process, as by default") {
  for (bool inside : {false, true}) {
    for (bool use_kill : {false, true}) {
      cfs::ChildResult r = cfs::run_in_child([inside, use_kill] {
        auto send = [use_kill] {
          if (use_kill) ::kill(::getpid(), kGuardSignal);
          else ::raise(kGuardSignal);
        };
        Coroutine<int> c([&send] {
          cfs::yield(1);
          send();  // inside a coroutine, the handler is in charge
          cfs::yield(2);
        });
        c.resume();  // installs the handler
        if (inside) c.resume();
        else send();
        std::fprintf(stderr, "survived: must not happen\n");
      });
      INFO("inside a coroutine: " << inside << ", kill: " << use_kill << ", stderr: " << r.err);
      CHECK(r.signaled);
      CHECK(r.signal == kGuardSignal);
      CHECK_FALSE(contains(r.err, "must not happen"));
      CHECK_FALSE(contains(r.err, "stack overflow"));
    }
  }
}
//! [sent-signal-test]

namespace {
void on_fault_exit_42(int) {
  const char msg[] = "the handler from before cfs ran\n";
  ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  ::_exit(42);
}
}  // namespace

//! [fork-test]
TEST_CASE("after fork(), a fault that is not an overflow still reaches the handler from before") {
  // In a child of the test (with the default dispositions): a handler of
  // the program's own, then cfs's on top of it; then fork() again, with
  // nothing reset, and run a coroutine in the grandchild.
  cfs::ChildResult r = cfs::run_in_child([] {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault_exit_42;
    ::sigaction(kGuardSignal, &sa, nullptr);
    Coroutine<int> first([] { cfs::yield(1); });
    first.resume();  // cfs installs its handler, recording ours as previous
    cfs::ChildResult g = cfs::run_in_child([] {
      Coroutine<int> c([] { cfs::yield(1); });
      c.resume();  // the grandchild's first coroutine: cfs checks again
      // An ordinary fault, not an overflow: a write to a page with no
      // access rights (not to address 0, which UBSan would stop first).
      void* page = ::mmap(nullptr, cfs::page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      *static_cast<volatile int*>(page) = 1;
    }, cfs::ChildSignals::inherit);
    std::fprintf(stderr, "grandchild: exited %d code %d signaled %d signal %d\n%s", g.exited,
                 g.code, g.signaled, g.signal, g.err.c_str());
  });
  INFO("child stderr: " << r.err);
  CHECK(contains(r.err, "the handler from before cfs ran"));
  // It exits with its own status; Valgrind, which reports the bad write as
  // an error, replaces that status with its --error-exitcode (1).
  const int expected = cfs::valgrind::running_on_valgrind() ? 1 : 42;
  CHECK(contains(r.err, "grandchild: exited 1 code " + std::to_string(expected) + " signaled 0"));
}
//! [fork-test]

//! [big-frame-test]
namespace {
/// A frame far larger than the whole 64 KiB default stack.
[[gnu::noinline]] int big_frame() {
  volatile char huge[80 * 1024];
  huge[0] = 1;  // the lowest byte: 16 KiB below the end of the stack
  huge[sizeof huge - 1] = 2;
  return huge[0] + huge[sizeof huge - 1];
}

/// How a child that called big_frame() on a fresh coroutine stack ended,
/// and how many bytes of a sentinel right below its guard page changed.
struct BigFrameRun {
  cfs::ChildResult r;
  bool placed = false;  ///< the sentinel could be put right below the guard
  std::size_t changed = 0;
};

BigFrameRun run_big_frame() {
  // Shared memory for a sentinel right below the guard page: the child
  // writes nothing there unless the big frame jumped over the guard (its
  // lowest byte would land about 16 KiB below the stack).
  const std::size_t sentinel_size = 32 * 1024;
  FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  const int fd = fileno(file);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(sentinel_size)) == 0);
  BigFrameRun run;
  run.r = cfs::run_in_child([fd, sentinel_size] {
    const StackOptions fresh{.pooled = false};  // a new mapping, not a pooled stack
    auto guard_lo = [] {
      return static_cast<char*>(const_cast<void*>(cfs_live_coroutines->stack_lo)) - cfs::page_size();
    };
    auto map_sentinel = [&](void* at) {
      return ::mmap(at, sentinel_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    };
    // Where do new mappings go? Linux lays them out top-down, qemu-user
    // bottom-up. Top-down: map the sentinel right below a new stack.
    // Bottom-up: map it first, and the next stack lands right above it. A
    // new stack may fill a hole that another mapping was freed from, with a
    // mapping right below it: then try again (the failed attempts' coroutines
    // stay alive, so each try fills another hole).
    std::vector<Coroutine<int>> made;
    made.reserve(1024);
    auto body = [] { cfs::yield(big_frame()); };
    made.emplace_back(fresh, body);
    const char* first = guard_lo();
    made.emplace_back(fresh, body);
    const bool top_down = guard_lo() < first;
    void* got = MAP_FAILED;
    for (int attempt = 0; attempt < 500 && got == MAP_FAILED; ++attempt) {
      if (top_down) {
        made.emplace_back(fresh, body);
        void* want = guard_lo() - sentinel_size;
        got = map_sentinel(want);
        if (got == want) break;
      } else {
        got = map_sentinel(nullptr);
        made.emplace_back(fresh, body);
        if (got != MAP_FAILED && static_cast<char*>(got) + sentinel_size == guard_lo()) break;
      }
      if (got != MAP_FAILED) ::munmap(got, sentinel_size);
      got = MAP_FAILED;
    }
    if (got != MAP_FAILED) {
      std::memset(got, 0x5a, sentinel_size);
      std::fprintf(stderr, "sentinel placed\n");
    } else {
      std::fprintf(stderr, "sentinel not placed\n");
    }
    made.back().resume();  // the newest: the one right above the sentinel
    std::fprintf(stderr, "survived the big frame\n");
  });
  run.placed = contains(run.r.err, "sentinel placed");
  void* view = ::mmap(nullptr, sentinel_size, PROT_READ, MAP_SHARED, fd, 0);
  REQUIRE(view != MAP_FAILED);
  if (run.placed) {
    for (std::size_t i = 0; i < sentinel_size; ++i) run.changed += static_cast<unsigned char*>(view)[i] != 0x5a;
  }
  ::munmap(view, sentinel_size);
  std::fclose(file);
  return run;
}
}  // namespace

#if !defined(CFS_NO_STACK_CLASH_PROTECTION)
TEST_CASE("one frame bigger than the stack hits the guard page, not the memory below it") {
  BigFrameRun run = run_big_frame();
  INFO("child stderr: " << run.r.err);
  CHECK(run.r.signaled);
  CHECK(run.r.signal == kGuardSignal);
  CHECK(contains(run.r.err, "cfs: stack overflow in a coroutine"));
  // Valgrind chooses where mappings go by rules of its own, which defeat
  // both ways of placing the sentinel; everywhere else it must be placed.
  if (!cfs::valgrind::running_on_valgrind()) CHECK(run.placed);
  CHECK(run.changed == 0);  // nothing below the guard page was written
}
#else
// This compiler accepts -fstack-clash-protection for this target but emits
// no probes (cmake/cfs.cmake finds out: GCC 12 for riscv64). Nothing here
// protects a big frame, so the test shows what the probes prevent: big_frame
// lowers sp past the guard page without touching it, and its first store
// lands in the memory below.
TEST_CASE("without stack clash probes, one frame bigger than the stack steps over the guard page") {
  BigFrameRun run = run_big_frame();
  INFO("child stderr: " << run.r.err);
  CHECK_FALSE(run.r.signaled);  // no fault: the guard page was never touched
  CHECK(contains(run.r.err, "survived the big frame"));
  REQUIRE(run.placed);
  CHECK(run.changed > 0);  // huge[0] = 1 landed in the sentinel, below the guard
}
#endif
//! [big-frame-test]

#if defined(__linux__)
// AddressSanitizer gives every thread an alternate signal stack of its own
// (use_sigaltstack), which cfs keeps (see the next test): there is no
// stack of cfs's to look at.
#if !defined(CFS_ASAN)
namespace {
/// The permissions /proc/self/maps gives the mapping that holds `addr`
/// ("rw-p", "---p"), or "" if no mapping holds it.
std::string mapping_permissions(const void* addr) {
  std::ifstream maps("/proc/self/maps");
  const auto a = reinterpret_cast<std::uintptr_t>(addr);
  for (std::string line; std::getline(maps, line);) {
    unsigned long lo = 0, hi = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= a && a < hi) {
      return perms;
    }
  }
  return "";
}
}  // namespace

TEST_CASE("the alternate signal stack is sized for this CPU and has a guard page below it") {
  std::thread([] {  // a fresh thread: no alternate stack yet
    Coroutine<int> c([] { cfs::yield(1); });
    c.resume();
    stack_t ss;
    REQUIRE(::sigaltstack(nullptr, &ss) == 0);
    long wanted = SIGSTKSZ;
#if defined(_SC_SIGSTKSZ)
    wanted = std::max(wanted, ::sysconf(_SC_SIGSTKSZ));
#endif
    CHECK(ss.ss_size >= static_cast<std::size_t>(wanted));
    CHECK(ss.ss_size >= 64 * 1024);
    CHECK(mapping_permissions(static_cast<char*>(ss.ss_sp)) == "rw-p");
    CHECK(mapping_permissions(static_cast<char*>(ss.ss_sp) - 1) == "---p");  // the guard
  }).join();
}

#endif  // !CFS_ASAN

TEST_CASE("a thread that has an alternate signal stack already keeps it") {
  std::thread([] {
    std::vector<char> mine(256 * 1024);
    stack_t ss{};
    ss.ss_sp = mine.data();
    ss.ss_size = mine.size();
    REQUIRE(::sigaltstack(&ss, nullptr) == 0);
    Coroutine<int> c([] { cfs::yield(1); });
    c.resume();
    stack_t now;
    REQUIRE(::sigaltstack(nullptr, &now) == 0);
    CHECK(now.ss_sp == mine.data());
    CHECK(now.ss_size == mine.size());
    ss.ss_flags = SS_DISABLE;  // before `mine` goes away
    ::sigaltstack(&ss, nullptr);
  }).join();
}

#if !defined(CFS_ASAN)
//! [altstack-failure-test]
TEST_CASE("a thread that cannot get its alternate signal stack gets a clear error, and nothing is lost") {
  cfs::ChildResult r = cfs::run_in_child([] {
    // Everything the thread needs, made while memory mappings are left:
    // the thread, the coroutine and its stack, and the error path (warm).
    Coroutine<int> c([] { cfs::yield(1); });
    std::promise<void> go;
    std::promise<std::string> first, second;
    std::promise<void> again;
    std::thread t([&] {
      try {  // this thread's malloc arena and the error path, made now
        throw cfs::StackError(std::string(4096, 'x'));
      } catch (const cfs::StackError&) {
      }
      go.get_future().wait();
      try {
        c.resume();
        first.set_value("resumed");
      } catch (const cfs::StackError& e) {
        first.set_value(e.what());
      }
      again.get_future().wait();
      second.set_value(std::to_string(*c.resume()));
    });
    // Use up every memory mapping: the alternate stack's mmap must fail.
    MappingReserve reserve(kReservedMappings);
    std::vector<Coroutine<int>> hog;
    hog.reserve(70000);
    try {
      for (;;) hog.emplace_back([] {});
    } catch (const cfs::StackError&) {
    }
    std::future<std::string> first_result = first.get_future();
    go.set_value();
    std::string what = first_result.get();
    reserve.release();  // give back, then report
    hog.clear();
    again.set_value();
    std::string then = second.get_future().get();
    t.join();
    std::fprintf(stderr, "first: %s\nthen: %s\n", what.c_str(), then.c_str());
  });
  INFO("child stderr: " << r.err);
  CHECK(r.exited);
  CHECK(contains(r.err, "first: cfs: cannot give this thread its alternate signal stack ("));
  // mmap itself may succeed (next to a mapping it can merge with); then
  // mprotect, which must split it for the guard page, fails.
  CHECK(contains(r.err, "without which a stack overflow in a coroutine could not be reported: m"));
  CHECK(contains(r.err, " failed: " + std::string(std::strerror(ENOMEM))));
  CHECK(contains(r.err, "then: 1"));  // the coroutine was untouched, and runs now
}
//! [altstack-failure-test]
#endif  // !CFS_ASAN
#endif  // __linux__
