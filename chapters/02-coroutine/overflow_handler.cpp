// overflow_handler.cpp: SIGSEGV on an alternate stack, async-signal-safe.
#include "overflow_handler.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <atomic>
#include <mutex>

#include <pthread.h>

namespace cfs::overflow {

namespace {

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;


// --- formatting without printf (printf is not async-signal-safe) ----------
struct Line {
  char buf[512];
  std::size_t len = 0;
  void add(const char* s) {
    while (*s && len < sizeof buf) buf[len++] = *s++;
  }
  void hex(const void* p) {
    auto v = reinterpret_cast<std::uintptr_t>(p);
    char digits[2 + 16];
    digits[0] = '0', digits[1] = 'x';
    for (int i = 0; i < 16; ++i) digits[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
    for (char c : digits)
      if (len < sizeof buf) buf[len++] = c;
  }
  void write_out() {
    std::size_t off = 0;
    while (off < len) {
      ssize_t n = ::write(STDERR_FILENO, buf + off, len - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  }
};

void pass_on(int sig, siginfo_t* info, void* ctx) {
  const struct sigaction& prev = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, ctx);
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
  } else {
    // Back to the default action; returning re-runs the faulting
    // instruction, which now ends the process with this signal.
    signal(sig, SIG_DFL);
  }
}

//! [overflow-handler]
void on_fault(int sig, siginfo_t* info, void* ctx) {
  const RunningStack* s = t_running;
  const auto* addr = static_cast<const std::byte*>(info->si_addr);
  if (s == nullptr || addr < static_cast<const std::byte*>(s->guard_lo) ||
      addr >= static_cast<const std::byte*>(s->lo)) {
    pass_on(sig, info, ctx);  // not an overflow of a coroutine stack
    return;
  }
  Line line;
  line.add("cfs: stack overflow in a coroutine: its stack is [");
  line.hex(s->lo);
  line.add(", ");
  line.hex(s->hi);
  line.add("), the guard page is [");
  line.hex(s->guard_lo);
  line.add(", ");
  line.hex(s->lo);
  line.add("), and the faulting address is ");
  line.hex(addr);
  line.add("; give the coroutine a larger stack (StackOptions::size)\n");
  line.write_out();
  signal(sig, SIG_DFL);  // returning re-faults: the process ends with SIGSEGV
}
//! [overflow-handler]

//! [install-handler]
void install_process_handler() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  // SA_ONSTACK: run on the alternate stack
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_previous_segv);
  sigaction(SIGBUS, &sa, &g_previous_bus);  // macOS reports guard hits as SIGBUS
}
//! [install-handler]

/// This thread's alternate signal stack, unmapped when the thread ends.
struct AltStack {
  void* mem = nullptr;
  std::size_t size = 0;
  AltStack() {
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // has one
    size = 64 * 1024;
    mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
      mem = nullptr;
      return;
    }
    stack_t ss{};
    ss.ss_sp = mem;
    ss.ss_size = size;
    sigaltstack(&ss, nullptr);
  }
  ~AltStack() {
    if (mem == nullptr) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    munmap(mem, size);
  }
};

//! [install-once]
// Installed once per process. A fork()ed child inherits the handler, but
// may change signal dispositions before it runs coroutines (test runners
// do), so it starts over: the next prepare_thread() installs again.
std::atomic<bool> g_installed{false};
std::mutex g_install_mutex;

void install_once() {
  std::lock_guard lock(g_install_mutex);
  if (g_installed.load()) return;
  static bool atfork_registered = false;
  if (!atfork_registered) {
    pthread_atfork(nullptr, nullptr, [] {
      g_installed.store(false);
      t_prepared = false;  // the child's one thread is a copy of this one
    });
    atfork_registered = true;
  }
  install_process_handler();
  g_installed.store(true);
}
//! [install-once]

}  // namespace

constinit thread_local bool t_prepared = false;

// Read by the handler: a plain pointer, written by the thread itself, so no
// lock and no allocation in the handler.
constinit thread_local const RunningStack* t_running = nullptr;

//! [prepare-first-time]
void prepare_thread_first_time() {
  if (!g_installed.load()) install_once();
  thread_local AltStack alt;
  t_prepared = true;
}
//! [prepare-first-time]

}  // namespace cfs::overflow
