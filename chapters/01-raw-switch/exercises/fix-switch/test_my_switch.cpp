// exercises/fix-switch/test_my_switch.cpp: chapter 01's register probe and
// round trips, run against your cfs_ex_switch (my_switch.S) instead of
// cfs_switch. `make exercise-01 EX=fix-switch` runs them; they fail, naming
// the registers that came back wrong, until the switch is fixed.
#include <doctest/doctest.h>

#include "../switch_checks.h"

extern "C" void* cfs_ex_switch(void** save_sp, void* to_sp, void* arg);

namespace ex = cfs::exercise;

namespace {
constexpr int kRounds = 1000;

/// Fails, saying where to look, if `rounds` round trips through the
/// switch crash (they run in a child process first).
void require_no_crash(int rounds) {
  const int sig = ex::crash_signal([rounds] {
    cfs::Stack stack;
    ex::RoundTrips run;
    run.fn = cfs_ex_switch;
    run.rounds = rounds;
    ex::run_round_trips(run, stack);
  });
  if (sig != 0) {
    FAIL("the round trips through your switch crashed (signal "
         << sig << "). The first switch into a fresh stack restores the frame that the real "
         "cfs_prepare laid out: your frame must have exactly the size and the slots of "
         "cfs_switch's (asm/<arch>/switch.S draws it), the return address must come from its "
         "top slot, and sp must end just above it");
  }
}
}  // namespace

TEST_CASE("your switch starts a fresh stack and comes back with the value passed") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_ex_switch;
  run.rounds = 1;
  require_no_crash(run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE_MESSAGE(run.coro_started,
                  "the entry function never ran: the first switch must load the other side's "
                  "saved sp and 'return' through the return address saved in its frame");
  CHECK_MESSAGE(run.coro_on_its_stack, "the entry function ran, but not on the new stack");
  CHECK_MESSAGE(run.wrong_values == 0,
                "the arg of a switch must arrive as the return value on the other side "
                "(x0 on AArch64, rax on x86-64)");
}

TEST_CASE("your switch keeps every callee-saved register, on both sides") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_ex_switch;
  run.rounds = kRounds;
  require_no_crash(run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE_MESSAGE(run.coro_rounds == kRounds, "the round trips stopped early (" << run.coro_rounds
                                              << " of " << kRounds << ")");
  INFO("changed for main (the resumer): " << ex::register_names(run.main_mask));
  INFO("changed for the other side:     " << ex::register_names(run.coro_mask));
  if (run.main_mask != 0 || run.coro_mask != 0) {
    FAIL("some callee-saved registers came back with another value than they had before the "
         "switch. A register that is never saved keeps whatever the other side left in it: "
         "look for its save and its restore. A register restored from the wrong slot gets "
         "its neighbour's value: compare every restore's offset (or, with push and pop, the "
         "order) with its save's");
  }
}

TEST_CASE("after your switch, sp is exactly where it was, on both sides") {
  cfs::Stack stack;
  ex::RoundTrips run;
  run.fn = cfs_ex_switch;
  run.rounds = kRounds;
  require_no_crash(run.rounds);
  ex::run_round_trips(run, stack);
  REQUIRE(run.coro_rounds == kRounds);
  CHECK_MESSAGE(run.main_sp_changes == 0,
                "main's sp moved across a switch: the frame a switch opens must be as big as "
                "the frame it closes on the way back");
  CHECK_MESSAGE(run.coro_sp_changes == 0, "the other side's sp moved across a switch");
  CHECK_MESSAGE(run.wrong_values == 0, "a value passed through the switch did not arrive");
}
