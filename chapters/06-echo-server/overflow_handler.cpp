// overflow_handler.cpp: SIGSEGV on an alternate stack, async-signal-safe.
#include "overflow_handler.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>

#include <pthread.h>

#include "stack_memory.h"

namespace cfs::overflow {

namespace {

// The handlers that were there before ours, to pass on what is not ours.
// Written only while ours is not installed (under g_install_mutex), read by
// the handler once it is.
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

//! [end-the-default-way]
/// What the default action would have done: end the process with `sig`.
void end_the_default_way(int sig, const siginfo_t* info) {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, nullptr);
  // A fault: returning re-runs the faulting instruction, which faults
  // again, now with the default action. A sent signal (si_code <= 0: kill,
  // raise, sigqueue) would not come back by itself: send it again. It is
  // blocked while this handler runs, and delivered as soon as it returns.
  if (info->si_code <= 0) raise(sig);
}
//! [end-the-default-way]

void pass_on(int sig, siginfo_t* info, void* ctx) {
  const struct sigaction& prev = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction != nullptr) {
    prev.sa_sigaction(sig, info, ctx);
  } else if (prev.sa_handler == SIG_IGN && info->si_code <= 0) {
    // A sent signal that was ignored before us: still ignored. (A fault
    // cannot be ignored: the kernel would send it again forever.)
  } else if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN && prev.sa_handler != nullptr) {
    prev.sa_handler(sig);
  } else {
    end_the_default_way(sig, info);
  }
}

//! [overflow-handler]
void on_fault(int sig, siginfo_t* info, void* ctx) {
  const RunningStack* s = t_running.load(std::memory_order_relaxed);
  const auto* addr = static_cast<const std::byte*>(info->si_addr);
  if (info->si_code <= 0 ||  // sent by kill() or raise(): not a fault at all
      s == nullptr || addr < static_cast<const std::byte*>(s->guard_lo) ||
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
  end_the_default_way(sig, info);  // returning re-faults: the process ends
}
//! [overflow-handler]

//! [install-handler]
bool is_ours(int sig) {
  struct sigaction current;
  return sigaction(sig, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
         current.sa_sigaction == on_fault;
}

/// Installs on_fault for `sig`, unless it is there already: then the
/// handler it recorded as the previous one stays. (Installing it again
/// would record on_fault as its own predecessor, and a fault that is not
/// an overflow would then pass itself on, forever: after fork(), the child
/// inherits our handler, so it must not install it blindly.)
void install(int sig, struct sigaction& previous) {
  if (is_ours(sig)) return;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;  // SA_ONSTACK: run on the alternate stack
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, &previous);
}
//! [install-handler]

//! [alt-stack]
/// The alternate signal stack's size: what the system says a signal frame
/// needs (on Linux it depends on the CPU: AVX-512 state is large), with a
/// floor, since the handler we pass on to may need more than ours does.
std::size_t alt_stack_size() {
  long wanted = SIGSTKSZ;
#if defined(_SC_SIGSTKSZ)
  wanted = std::max(wanted, sysconf(_SC_SIGSTKSZ));
#endif
  const std::size_t page = page_size();
  const std::size_t size = std::max<std::size_t>(static_cast<std::size_t>(wanted), 64 * 1024);
  return (size + page - 1) / page * page;
}

/// This thread's alternate signal stack, with a guard page below it (a
/// handler that overflows it faults instead of writing over the memory
/// below), unmapped when the thread ends. Throws StackError if it cannot
/// be made.
struct AltStack {
  void* map = nullptr;
  std::size_t map_size = 0;
  AltStack() {
    stack_t current;
    if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // has one
    const std::size_t size = alt_stack_size();
    const std::size_t guard = page_size();
    void* m = mmap(nullptr, guard + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) fail("mmap", errno, size);
    if (mprotect(m, guard, PROT_NONE) != 0) {
      int err = errno;
      munmap(m, guard + size);
      fail("mprotect", err, size);
    }
    stack_t ss{};
    ss.ss_sp = static_cast<char*>(m) + guard;
    ss.ss_size = size;
    if (sigaltstack(&ss, nullptr) != 0) {
      int err = errno;
      munmap(m, guard + size);
      fail("sigaltstack", err, size);
    }
    map = m;
    map_size = guard + size;
  }
  ~AltStack() {
    if (map == nullptr) return;
    stack_t ss{};
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, nullptr);
    munmap(map, map_size);
  }
  AltStack(const AltStack&) = delete;
  AltStack& operator=(const AltStack&) = delete;

  [[noreturn]] static void fail(const char* what, int err, std::size_t size) {
    throw StackError("cfs: cannot give this thread its alternate signal stack (" +
                     std::to_string(size / 1024) + " KiB and a guard page), without which a "
                     "stack overflow in a coroutine could not be reported: " + what +
                     " failed: " + std::strerror(err));
  }
};
//! [alt-stack]

//! [install-once]
std::mutex g_install_mutex;

void install_handlers() {
  std::lock_guard lock(g_install_mutex);
  static bool atfork_registered = false;
  if (!atfork_registered) {
    // A fork()ed child's one thread is a copy of the forking one, with our
    // handler and its alternate stack. It may change the dispositions
    // before it runs coroutines (test runners do), so it checks again.
    pthread_atfork(nullptr, nullptr, [] { t_prepared = false; });
    atfork_registered = true;
  }
  install(SIGSEGV, g_previous_segv);
  install(SIGBUS, g_previous_bus);  // macOS reports guard hits as SIGBUS
}
//! [install-once]

}  // namespace

constinit thread_local bool t_prepared = false;

// Read by the handler, written by the thread itself: no lock, no allocation.
constinit thread_local std::atomic<const RunningStack*> t_running{nullptr};

//! [prepare-first-time]
void prepare_thread_first_time() {
  thread_local AltStack alt;  // may throw; then it is tried again next time
  install_handlers();
  t_prepared = true;
}
//! [prepare-first-time]

}  // namespace cfs::overflow
