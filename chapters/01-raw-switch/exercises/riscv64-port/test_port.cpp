// exercises/riscv64-port/test_port.cpp: the capstone's own checks, each
// saying what it expected. Chapter 01's tests (tests/test_switch.cpp and
// tests/test_warmups.cpp) run against your switch.S in the same binary;
// these come first, one step of the port at a time.
#include <doctest/doctest.h>

#include <cstdint>

#include "../switch_checks.h"

extern "C" void* cfs_switch_jr(void** save_sp, void* to_sp, void* arg);

namespace ex = cfs::exercise;

namespace {
void never_called(void*) {}
std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

/// Fails, saying where to look, if `rounds` round trips through `fn`
/// crash (they run in a child process first).
void require_no_crash(ex::SwitchFn fn, int rounds) {
  const int sig = ex::crash_signal([fn, rounds] {
    cfs::Stack stack;
    ex::RoundTrips run;
    run.fn = fn;
    run.rounds = rounds;
    ex::run_round_trips(run, stack);
  });
  if (sig != 0) {
    FAIL("the round trips crashed (signal "
         << sig << "). The first switch restores the frame cfs_prepare made: ra from +200, "
         "sp back to the frame's top (+208), then a return through ra into the trampoline, "
         "which calls s1 with the switch's arg still in a0. Later switches restore frames "
         "your cfs_switch saved: the saves and the restores must use the same slots");
  }
}
}  // namespace

TEST_CASE("port step 1: cfs_prepare lays out the first frame") {
  cfs::Stack stack;
  stack.fill(0xCD);  // so that a slot left unwritten shows
  const auto top = addr(stack.hi());
  void* sp = cfs_prepare(stack.hi() - 8, never_called);  // a misaligned top
  INFO("cfs_prepare(top - 8) returned top - " << (top - addr(sp)));
  REQUIRE_MESSAGE(addr(sp) == top - 16 - 208,
                  "round the top down to 16 bytes, then open a frame of 208 bytes below it");
  const auto* slot = static_cast<const std::uint64_t*>(sp);
  CHECK_MESSAGE(slot[25] == addr(reinterpret_cast<const void*>(&cfs_trampoline)) + 4,
                "the ra slot (+200) must hold cfs_trampoline + 4, just past its nop");
  CHECK_MESSAGE(slot[24] == 0, "the s0 slot (+192) must be 0: the frame-pointer chain ends there");
  CHECK_MESSAGE(slot[12] == addr(reinterpret_cast<const void*>(&never_called)),
                "the s1 slot (+96) must hold the entry function, which the trampoline calls");
  int unwritten = 0;
  for (int i = 0; i < 26; ++i) unwritten += slot[i] == 0xCDCD'CDCD'CDCD'CDCDu;
  CHECK_MESSAGE(unwritten == 0, unwritten << " of the 26 slots were never written: a fresh "
                                "context must start with every register zero, not with "
                                "whatever the stack held");
}

TEST_CASE("port step 2: the first switch starts the entry function on its stack") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_switch;
  run.rounds = 1;
  require_no_crash(run.fn, run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE_MESSAGE(run.coro_started,
                  "the entry function never ran: cfs_switch must store sp in *save_sp, load the "
                  "other side's saved sp (a1) into sp, restore its registers and return "
                  "through its ra; cfs_prepare's ra leads into the trampoline");
  CHECK_MESSAGE(run.coro_on_its_stack, "the entry function ran, but not on the new stack");
  CHECK_MESSAGE(run.wrong_values == 0,
                "the arg (a2) of each switch must arrive in a0 on the other side");
}

TEST_CASE("port step 3: cfs_switch keeps every callee-saved register, on both sides") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_switch;
  run.rounds = 1000;
  require_no_crash(run.fn, run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE_MESSAGE(run.coro_rounds == 1000,
                  "the round trips stopped after " << run.coro_rounds << ": pass step 2 first");
  INFO("changed for main (the resumer): " << ex::register_names(run.main_mask));
  INFO("changed for the other side:     " << ex::register_names(run.coro_mask));
  CHECK_MESSAGE(run.main_mask == 0, "save and restore every register your table says to save");
  CHECK_MESSAGE(run.coro_mask == 0, "save and restore every register your table says to save");
  CHECK_MESSAGE(run.main_sp_changes + run.coro_sp_changes == 0,
                "sp must come back to the same value after every switch");
}

TEST_CASE("port step 4: cfs_switch_jr does the same, returning by an indirect jump") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_switch_jr;
  run.rounds = 1000;
  require_no_crash(run.fn, run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE_MESSAGE(run.coro_rounds == 1000, "cfs_switch_jr: the round trips stopped after "
                                               << run.coro_rounds << "; it shares its frame "
                                               "and its code with cfs_switch, but its last "
                                               "jump goes through another register");
  INFO("changed for main (the resumer): " << ex::register_names(run.main_mask));
  INFO("changed for the other side:     " << ex::register_names(run.coro_mask));
  CHECK(run.main_mask == 0);
  CHECK(run.coro_mask == 0);
}
