// demo.cpp: main and a function on a second stack hand control back and
// forth. Every line says which stack it runs on and where sp is, so you can
// see the switch happen.
#include <cinttypes>
#include <cstdint>
#include <cstdio>

#include "context.h"
#include "probe.h"

namespace {

cfs::Stack g_stack(64 * 1024);  // the second stack
cfs::Context g_main;            // main's side of the switch
cfs::Context g_coro;            // the other side

/// Prints who is talking, the stack pointer (read by cfs_stack_pointer() in
/// asm/<arch>/probe.S) and which stack it lies in.
void show(const char* who, const char* what, std::uintptr_t value) {
  std::uintptr_t sp = cfs_stack_pointer();
  bool on_new = g_stack.contains(reinterpret_cast<void*>(sp));
  std::printf("[%s] sp=0x%012" PRIxPTR " on the %s  %s %" PRIuPTR "\n", who, sp,
              on_new ? "new stack " : "main stack", what, value);
}

//! [demo-entry]
/// Runs on g_stack. It is entered by the first jump to g_coro and must never
/// return: it ends by leaving for good.
void coro_body(void* arg) {
  cfs::arrived_first_time(g_main);
  auto n = reinterpret_cast<std::uintptr_t>(arg);
  show("coro", "started, got", n);
  for (int round = 0; round < 3; ++round) {
    // Hand n * 10 to main; resume here when main jumps back.
    n = reinterpret_cast<std::uintptr_t>(
        cfs::jump(g_coro, g_main, reinterpret_cast<void*>(n * 10)));
    show("coro", "resumed, got", n);
  }
  cfs::leave(g_coro, g_main, nullptr);  // main never jumps here again
}
//! [demo-entry]

}  // namespace

int main() {
  std::printf("new stack: [0x%012" PRIxPTR ", 0x%012" PRIxPTR ")\n",
              reinterpret_cast<std::uintptr_t>(g_stack.lo()),
              reinterpret_cast<std::uintptr_t>(g_stack.hi()));
  //! [demo-main]
  cfs::prepare(g_coro, g_stack, coro_body);
  std::uintptr_t n = 1;
  for (int round = 0; round < 4; ++round) {
    show("main", "switching, sending", n);
    void* got = cfs::jump(g_main, g_coro, reinterpret_cast<void*>(n));
    show("main", "back, got", reinterpret_cast<std::uintptr_t>(got));
    n = reinterpret_cast<std::uintptr_t>(got) + 1;
  }
  //! [demo-main]
  std::printf("done: the second stack finished and main is back on its own\n");
  return 0;
}
