// tests/asm/bti_check.cpp: the switch on an AArch64 CPU that enforces Branch
// Target Identification (BTI).
//
// Under BTI, an indirect branch (`blr`, `br`) into a guarded page must land
// on a landing pad (`bti c` for calls), or the CPU faults and the process
// dies of SIGILL. Linux guards a program's pages only if every object linked
// into it carries the BTI property note, and Debian's C start-up objects do
// not, so this program guards its own code instead (mprotect with PROT_BTI),
// then walks the whole switch path through pointers, as C++ may:
//
//   cfs_prepare, called through a pointer         needs its BTI_C
//   cfs_switch, called through a pointer          needs its BTI_C
//   the first switch "returns" into cfs_trampoline  a `ret`: BTI does not check it
//   cfs_trampoline's `blr x19` into the entry     needs the entry's pad (the
//                                                 compiler's, -mbranch-protection)
//   the entry calls cfs_switch through a pointer  back to main; then once more
//
// and then takes the guard off again, so that the C library's exit code
// (no pads) runs as usual. The path runs in a child process; the parent
// reports how it ended and, if by SIGILL, at which function.
//
// Usage (CMake runs it under `qemu-aarch64 -cpu max`, a CPU with BTI):
//   asm_bti_check                           the path must complete
//   asm_bti_check --expect-sigill=NAME      a control: the child must die of
//                                           SIGILL on the first instruction of
//                                           NAME (cfs_prepare, cfs_switch or
//                                           entry_without_pad)
//   asm_bti_check --entry-without-pad ...   start the context with an entry
//                                           function compiled without a pad
//   asm_bti_check --prepare-directly ...    call cfs_prepare directly (`bl`,
//                                           which BTI does not check), so that
//                                           the first indirect call is to
//                                           cfs_switch
#include <link.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "chapters/01-raw-switch/switch.h"

#ifndef PROT_BTI
#define PROT_BTI 0x10  // <asm/mman.h> on AArch64 Linux
#endif
#ifndef HWCAP2_BTI
#define HWCAP2_BTI (1 << 17)  // <asm/hwcap.h> on AArch64 Linux
#endif

namespace {

using PrepareFn = void* (*)(void*, void (*)(void*));
using SwitchFn = void* (*)(void**, void*, void*);

// Written by the child, read by the parent after the child is gone.
struct Shared {
  volatile std::uintptr_t sigill_pc;  // where the child died of SIGILL, if it did
  volatile int entry_runs;            // times the entry function ran its body
};
Shared* g_shared;

// volatile: the compiler must call through them, never directly.
PrepareFn volatile g_prepare = cfs_prepare;
SwitchFn volatile g_switch = cfs_switch;

void* g_main_sp;
void* g_coro_sp;

// The entry functions. Their addresses are taken, so the compiler gives the
// first one a landing pad (-mbranch-protection); the second is compiled
// without, for the control that shows the trampoline's `blr x19` is checked.
extern "C" void entry_with_pad(void* arg) {
  for (;;) {
    g_shared->entry_runs = g_shared->entry_runs + 1;
    arg = g_switch(&g_coro_sp, g_main_sp, arg);
  }
}
extern "C" __attribute__((target("branch-protection=none"))) void entry_without_pad(void* arg) {
  for (;;) {
    g_shared->entry_runs = g_shared->entry_runs + 1;
    arg = g_switch(&g_coro_sp, g_main_sp, arg);
  }
}

void on_sigill(int, siginfo_t* info, void*) {
  g_shared->sigill_pc = reinterpret_cast<std::uintptr_t>(info->si_addr);
  signal(SIGILL, SIG_DFL);  // and die of it once this handler returns
  raise(SIGILL);
}

// The program's own code: the executable PT_LOAD segment of the main program.
struct Code {
  std::uintptr_t start = 0, end = 0;
};
int find_code(dl_phdr_info* info, std::size_t, void* data) {
  auto* code = static_cast<Code*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
      code->start = info->dlpi_addr + ph.p_vaddr;
      code->end = code->start + ph.p_memsz;
      return 1;  // the first object is the program itself
    }
  }
  return 1;
}

void protect(const Code& code, int extra) {
  const std::uintptr_t page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  std::uintptr_t lo = code.start & ~(page - 1);
  std::uintptr_t hi = (code.end + page - 1) & ~(page - 1);
  if (mprotect(reinterpret_cast<void*>(lo), hi - lo, PROT_READ | PROT_EXEC | extra) != 0) {
    std::perror("bti_check: mprotect");
    std::_Exit(3);
  }
}

// The child: the whole path, with the program's code guarded.
[[noreturn]] void walk(void (*entry)(void*), bool prepare_directly) {
  struct sigaction sa = {};
  sa.sa_sigaction = on_sigill;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGILL, &sa, nullptr);

  Code code;
  dl_iterate_phdr(find_code, &code);
  if (code.start == 0) {
    std::fprintf(stderr, "bti_check: found no executable segment in the program\n");
    std::_Exit(3);
  }
  void* stack = mmap(nullptr, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if (stack == MAP_FAILED) {
    std::perror("bti_check: mmap");
    std::_Exit(3);
  }

  protect(code, PROT_BTI);
  void* top = static_cast<char*>(stack) + 64 * 1024;
  g_coro_sp = prepare_directly ? cfs_prepare(top, entry) : g_prepare(top, entry);
  int token = 7;
  void* first = g_switch(&g_main_sp, g_coro_sp, &token);   // into the trampoline
  void* second = g_switch(&g_main_sp, g_coro_sp, &token);  // resume the entry
  protect(code, 0);

  if (first != &token || second != &token || g_shared->entry_runs != 2) {
    std::fprintf(stderr, "bti_check: the switch misbehaved (got %p and %p, want %p; entry ran %d times)\n",
                 first, second, static_cast<void*>(&token), g_shared->entry_runs);
    std::_Exit(4);
  }
  std::_Exit(0);
}

// Which of our functions `pc` is the first instruction of.
std::string name_at(std::uintptr_t pc) {
  const struct {
    const char* name;
    const void* address;
  } known[] = {
      {"cfs_prepare", reinterpret_cast<const void*>(&cfs_prepare)},
      {"cfs_switch", reinterpret_cast<const void*>(&cfs_switch)},
      {"cfs_trampoline", reinterpret_cast<const void*>(&cfs_trampoline)},
      {"entry_with_pad", reinterpret_cast<const void*>(&entry_with_pad)},
      {"entry_without_pad", reinterpret_cast<const void*>(&entry_without_pad)},
  };
  for (const auto& k : known) {
    if (reinterpret_cast<std::uintptr_t>(k.address) == pc) return k.name;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%#lx (none of cfs_prepare, cfs_switch, the entry functions)",
                static_cast<unsigned long>(pc));
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  std::string expect_sigill;  // empty: the path must complete
  void (*entry)(void*) = entry_with_pad;
  bool prepare_directly = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--expect-sigill=", 0) == 0) {
      expect_sigill = arg.substr(std::strlen("--expect-sigill="));
    } else if (arg == "--entry-without-pad") {
      entry = entry_without_pad;
    } else if (arg == "--prepare-directly") {
      prepare_directly = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--entry-without-pad] [--prepare-directly] [--expect-sigill=NAME]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!(getauxval(AT_HWCAP2) & HWCAP2_BTI)) {
    std::fprintf(stderr, "FAIL: this CPU does not implement BTI, so nothing would be checked; "
                         "run under `qemu-aarch64 -cpu max`\n");
    return 1;
  }

  void* shared = mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                      -1, 0);
  if (shared == MAP_FAILED) {
    std::perror("bti_check: mmap");
    return 1;
  }
  g_shared = static_cast<Shared*>(shared);
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::perror("bti_check: fork");
    return 1;
  }
  if (pid == 0) walk(entry, prepare_directly);
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    std::perror("bti_check: waitpid");
    return 1;
  }

  std::string how;
  if (WIFEXITED(status)) {
    how = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGILL && g_shared->sigill_pc != 0) {
    how = "died of SIGILL at " + name_at(g_shared->sigill_pc);
  } else if (WIFSIGNALED(status)) {
    how = std::string("died of signal ") + strsignal(WTERMSIG(status));
  }
  const std::string want = expect_sigill.empty() ? std::string("exited with status 0")
                                                 : "died of SIGILL at " + expect_sigill;
  if (how != want) {
    std::printf("FAIL: the switch path under enforced BTI %s; expected: %s\n", how.c_str(),
                want.c_str());
    if (expect_sigill.empty() && how.rfind("died of SIGILL at ", 0) == 0) {
      std::printf("(an indirect branch landed there without a BTI landing pad)\n");
    }
    return 1;
  }
  std::printf("ok: the switch path under enforced BTI %s, as expected\n", how.c_str());
  return 0;
}
