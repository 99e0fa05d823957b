// tests/asm/first_switch.cpp: one switch into a fresh stack and one back,
// nothing else. first_switch_check.py single-steps the first switch in lldb,
// instruction by instruction, and checks the backtrace at every step; with
// so little code, every frame it may show is main (and the C library code
// that called main), cfs_switch, cfs_trampoline or first_entry.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>

#include "chapters/01-raw-switch/switch.h"  // the C view of asm/<arch>/switch.S

namespace {
void* g_main_sp;   // main's saved sp while first_entry runs
void* g_entry_sp;  // first_entry's saved sp once it has switched back
}  // namespace

// The entry function on the fresh stack. extern "C" keeps its name plain in
// a backtrace. It hands the value it got straight back to main and is never
// resumed.
extern "C" [[noreturn]] void first_entry(void* arg) {
  cfs_switch(&g_entry_sp, g_main_sp, arg);
  std::abort();
}

int main() {
  constexpr std::size_t kSize = 64 * 1024;
  void* lo = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (lo == MAP_FAILED) {
    std::perror("first_switch: mmap");
    return 1;
  }
  char* hi = static_cast<char*>(lo) + kSize;
  std::printf("new stack: [%p, %p)\n", lo, static_cast<void*>(hi));
  std::fflush(stdout);

  int token = 42;
  void* to = cfs_prepare(hi, first_entry);
  void* back = cfs_switch(&g_main_sp, to, &token);  // the switch the check steps through
  if (back != &token) {
    std::fprintf(stderr, "first_switch: first_entry handed back %p, not %p\n", back,
                 static_cast<void*>(&token));
    return 1;
  }
  std::printf("done: first_entry ran on the new stack and handed the value back\n");
  munmap(lo, kSize);
  return 0;
}
