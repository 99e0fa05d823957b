// demo.cpp: a coroutine that yields from three calls deep, resumed by main
// until it finishes. Every line says who is running, where sp is (on main's
// stack or on the coroutine's) and the coroutine's status at that moment.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

#include "coroutine.h"
#include "probe.h"

namespace {

const cfs::Coroutine<int>* g_coro = nullptr;  // the demo's one coroutine
std::uintptr_t g_lo = 0, g_hi = 0;             // its stack: [g_lo, g_hi)

/// One line: who, sp (read by cfs_stack_pointer(), asm/<arch>/probe.S) and
/// which stack it lies in, the coroutine's status, and what happens.
void show(const char* who, const char* what) {
  std::uintptr_t sp = cfs_stack_pointer();
  bool on_coroutine = sp >= g_lo && sp < g_hi;
  std::printf("%-10s sp=0x%012" PRIxPTR " on %s  %-9s  %s\n", who, sp,
              on_coroutine ? "the coroutine's stack" : "main's stack         ",
              cfs::to_string(g_coro->status()), what);
}

//! [demo-body]
/// Three ordinary functions deep inside the coroutine: yield() suspends the
/// whole call chain, and resume() continues it right here.
void leaf(int round) {
  show("  leaf", ("yield(" + std::to_string(round * round) + ")").c_str());
  cfs::yield(round * round);
}

void middle(int rounds) {
  for (int round = 1; round <= rounds; ++round) leaf(round);
}

void squares(int rounds, const std::string& name) {
  show(("  " + name).c_str(), "the body starts");
  middle(rounds);
  show(("  " + name).c_str(), "the body returns");
}
//! [demo-body]

/// Where main reports a value: a good place for a debugger to stop while
/// the coroutine is suspended inside leaf().
__attribute__((noinline)) void report(int value) {
  show("main", ("got " + std::to_string(value)).c_str());
}

}  // namespace

int main() {
  //! [demo-main]
  // The function and its arguments are copied into the coroutine now; the
  // body runs at the first resume().
  cfs::Coroutine<int> coro(squares, 3, std::string("squares"));
  g_coro = &coro;
  g_lo = reinterpret_cast<std::uintptr_t>(cfs_live_coroutines->stack_lo);  // the debugger's
  g_hi = reinterpret_cast<std::uintptr_t>(cfs_live_coroutines->stack_hi);  // record of it
  std::printf("the coroutine's stack: [0x%012" PRIxPTR ", 0x%012" PRIxPTR ")\n", g_lo, g_hi);
  show("main", "created: the body has not run");
  while (std::optional<int> value = coro.resume()) report(*value);
  show("main", "resume() returned nothing");
  //! [demo-main]
  return 0;
}
