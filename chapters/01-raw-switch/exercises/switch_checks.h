// exercises/switch_checks.h: chapter 01's register probe, pointed at a
// switch of your own, with failures that name the registers.
//
// Shared by the exercises that make you write (fix-switch) or port
// (riscv64-port) a switch. Every switch here goes through the probe
// (asm/<arch>/probe.S), which saves the caller's callee-saved registers
// first and restores them last: so a broken switch under test corrupts
// only the probe's patterns, never the registers of the C++ code around
// it, and the tests can report what went wrong instead of crashing later.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "../../../common/child_process.h"
#include "../context.h"
#include "../probe.h"

namespace cfs::exercise {

/// The C signature of cfs_switch, and of every switch under test.
using SwitchFn = void* (*)(void** save_sp, void* to_sp, void* arg);

/// "x27, x28": the registers whose bits are set in a probe mask (the bit
/// order is the one asm/<arch>/probe.S documents).
inline std::string register_names(std::uint64_t mask) {
#if defined(__aarch64__)
  static const char* const names[] = {"x19", "x20", "x21", "x22", "x23", "x24", "x25",
                                      "x26", "x27", "x28", "x29 (fp)", "d8", "d9", "d10",
                                      "d11", "d12", "d13", "d14", "d15"};
#elif defined(__x86_64__)
  static const char* const names[] = {"rbx", "rbp", "r12", "r13", "r14", "r15",
                                      "MXCSR", "the x87 control word"};
#elif defined(__riscv)
  static const char* const names[] = {"s0 (fp)", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
                                      "s8", "s9", "s10", "s11", "fs0", "fs1", "fs2", "fs3",
                                      "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11"};
#endif
  std::string out;
  for (unsigned bit = 0; bit < sizeof names / sizeof names[0]; ++bit) {
    if (mask & (std::uint64_t{1} << bit)) out += (out.empty() ? "" : ", ") + std::string(names[bit]);
  }
  return out.empty() ? "none" : out;
}

/// The signal that ended `body`, run in a child process, or 0 if it did
/// not crash. The tests call code that may crash through this first, so
/// that a crash fails with a message that says where to look (doctest's
/// own report of a crash says only which test case it was).
inline int crash_signal(const std::function<void()>& body) {
  const ChildResult r = run_in_child(body);
  return r.signaled ? r.signal : 0;
}

/// One switch through the probe, annotated for AddressSanitizer as
/// cfs::jump() is. Returns the mask of registers that came back changed;
/// `*result` gets what the switch returned on this side.
inline std::uint64_t probed_jump(SwitchFn fn, Context& from, Context& to, void* arg,
                                 std::uint64_t seed, void** result = nullptr) {
  cfs_probe p{fn, &from.sp, to.sp, arg, seed, nullptr};
  sanitizer::start_switch(&from.fake_stack, to.stack_lo, to.stack_size);
  const std::uint64_t mask = cfs_probe_callee_saved(&p);
  sanitizer::finish_switch(from.fake_stack, nullptr, nullptr);
  if (result != nullptr) *result = p.result;
  return mask;
}

/// What `rounds` round trips through a switch between main and a context
/// on a fresh stack found. Both sides fill their registers with their own
/// patterns before each switch and check them after it; the arg each side
/// passes is checked on arrival too, and so is each side's sp.
struct RoundTrips {
  SwitchFn fn = nullptr;
  int rounds = 0;
  Context main, coro;
  bool coro_started = false;
  int coro_rounds = 0;              ///< switches the context saw arrive
  std::uint64_t main_mask = 0;      ///< registers that changed for main
  std::uint64_t coro_mask = 0;      ///< ... and for the context
  int wrong_values = 0;             ///< arrivals whose arg was not the one sent
  int main_sp_changes = 0;          ///< main's sp differed after a switch
  int coro_sp_changes = 0;          ///< the context's sp differed after a switch
  bool coro_on_its_stack = true;    ///< the context's sp lay inside its stack
};

namespace detail {
// Seeds: the two sides' patterns differ in the high bits and from round to
// round; the low two bits pick the rounding mode on x86-64 (MXCSR and x87
// control word), main's every round and the context's every fourth, so the
// two sides' FP controls differ in most rounds.
inline std::uint64_t main_seed(int i) { return 0x1111'0000'0000'0000u + 16u * (i % 4) + (i % 4); }
inline std::uint64_t coro_seed(int i) {
  return 0x2222'0000'0000'0000u + 16u * (i % 4) + ((i / 4) % 4);
}
inline void* tag(int i) { return reinterpret_cast<void*>(std::uintptr_t{0x7a00} + i); }

inline void round_trip_body(void* arg) {
  auto* run = static_cast<RoundTrips*>(arg);
  arrived_first_time(run->main);
  run->coro_started = true;
  const std::uintptr_t sp = cfs_stack_pointer();
  const auto lo = reinterpret_cast<std::uintptr_t>(run->coro.stack_lo);
  run->coro_on_its_stack = lo < sp && sp <= lo + run->coro.stack_size;
  for (int i = 0; i < run->rounds; ++i) {
    // Back to main with tag(i); main answers with tag(i + 1).
    void* got = nullptr;
    run->coro_mask |= probed_jump(run->fn, run->coro, run->main, tag(i), coro_seed(i), &got);
    ++run->coro_rounds;
    if (got != tag(i + 1)) ++run->wrong_values;
    if (cfs_stack_pointer() != sp) ++run->coro_sp_changes;
  }
  // Leave for good, through the switch under test.
  sanitizer::start_switch(nullptr, run->main.stack_lo, run->main.stack_size);
  run->fn(&run->coro.sp, run->main.sp, nullptr);
  __builtin_unreachable();
}
}  // namespace detail

/// Runs `rounds` round trips through `fn`, starting with a fresh stack made
/// by the real cfs_prepare (your switch must restore the frame it lays
/// out, slot for slot, as cfs_switch does).
inline void run_round_trips(RoundTrips& run, Stack& stack) {
  prepare(run.coro, stack, detail::round_trip_body);
  const std::uintptr_t sp = cfs_stack_pointer();
  // The first switch starts the body, whose argument is &run.
  void* got = nullptr;
  run.main_mask |= probed_jump(run.fn, run.main, run.coro, &run, detail::main_seed(0), &got);
  if (got != detail::tag(0)) ++run.wrong_values;
  for (int i = 1; i <= run.rounds; ++i) {
    if (!run.coro_started) break;  // the switch never got there: nothing to go on with
    run.main_mask |= probed_jump(run.fn, run.main, run.coro, detail::tag(i),
                                 detail::main_seed(i), &got);
    if (i < run.rounds && got != detail::tag(i)) ++run.wrong_values;
    if (cfs_stack_pointer() != sp) ++run.main_sp_changes;
  }
}

}  // namespace cfs::exercise
