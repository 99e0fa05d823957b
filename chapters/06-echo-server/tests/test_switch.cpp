// tests/test_switch.cpp: the context switch, register by register.
#include <doctest/doctest.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../../common/child_process.h"
#include "../../../common/valgrind.h"
#include "../context.h"
#include "../probe.h"

namespace {

using cfs::Context;
using cfs::Stack;

std::uintptr_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

using SwitchFn = void* (*)(void**, void*, void*);

/// A switch through the register probe, annotated like cfs::jump().
/// Returns the mask of callee-saved registers that came back changed.
std::uint64_t probed_jump(Context& from, Context& to, void* arg, std::uint64_t seed,
                          void** result = nullptr, SwitchFn fn = cfs_switch) {
  cfs_probe p{fn, &from.sp, to.sp, arg, seed, nullptr};
  cfs::sanitizer::start_switch(&from.fake_stack, to.stack_lo, to.stack_size);
  std::uint64_t mask = cfs_probe_callee_saved(&p);
  cfs::sanitizer::finish_switch(from.fake_stack, nullptr, nullptr);
  if (result) *result = p.result;
  return mask;
}

// Seeds for the two sides. The high bits make their register patterns
// differ; 16 * (round % 4) varies them from round to round; the low three
// bits pick, on x86-64, the FP control the probe loads (asm/x86_64/probe.S):
// bits 0-1 the MXCSR and x87 rounding modes, bit 2 MXCSR bit 17 (MM). Only
// AMD lets software set MM (cfs_mxcsr_mask(); loading it on Intel faults),
// so bit 2 is used only there. Main's low bits cycle every round, the other
// side's every 8 rounds, so within 64 rounds every FP control of one side
// meets every one of the other, pairs that differ in a single bit included:
// a switch that skips the loads when the values look equal is caught unless
// it compares every control bit.
constexpr std::uint64_t kSeedMain = 0x1111'0000'0000'0000;
constexpr std::uint64_t kSeedCoro = 0x2222'0000'0000'0000;
constexpr int kRounds = 10'000;

std::uint64_t fp_seed_bits() {
#if defined(__x86_64__)
  return (cfs_mxcsr_mask() & (1u << 17)) ? 7 : 3;
#else
  return 7;  // AArch64, RISC-V: the low bits only vary the patterns
#endif
}
std::uint64_t main_seed(int round, std::uint64_t fp_bits) {
  return kSeedMain + 16 * (round % 4) + ((round % 8) & fp_bits);
}
std::uint64_t coro_seed(int round, std::uint64_t fp_bits) {
  return kSeedCoro + 16 * (round % 4) + ((round / 8 % 8) & fp_bits);
}

struct RegisterRun {
  Context main, coro;
  SwitchFn fn = cfs_switch;  // the switch under test
  std::uint64_t fp_bits = 0;
  std::uint64_t main_mask = 0, coro_mask = 0;
  int coro_rounds = 0;
};

void register_body(void* arg) {
  auto* run = static_cast<RegisterRun*>(arg);
  cfs::arrived_first_time(run->main);
  for (int i = 0; i < kRounds - 1; ++i) {
    run->coro_mask |= probed_jump(run->coro, run->main, nullptr, coro_seed(i, run->fp_bits),
                                  nullptr, run->fn);
    ++run->coro_rounds;
  }
  // Leave as cfs::leave() does, but through the switch under test: it saved
  // main's frame, and a frame cfs_switch_nofpu saved (with no FP control in
  // it) is no frame for cfs_switch to resume.
  cfs::sanitizer::start_switch(nullptr, run->main.stack_lo, run->main.stack_size);
  run->fn(&run->coro.sp, run->main.sp, nullptr);
  __builtin_unreachable();
}

/// kRounds round trips through `fn` between main and a context, both sides
/// filling every callee-saved register with their own pattern before each
/// switch and checking it after. The masks say what came back changed.
void run_register_rounds(RegisterRun& run) {
  Stack stack;
  run.fp_bits = fp_seed_bits();
  cfs::prepare(run.coro, stack, register_body);
  // The first switch starts register_body (its arg is &run); every later
  // one resumes it.
  run.main_mask |= probed_jump(run.main, run.coro, &run, main_seed(0, run.fp_bits), nullptr,
                               run.fn);
  for (int i = 1; i < kRounds; ++i) {
    run.main_mask |= probed_jump(run.main, run.coro, nullptr, main_seed(i, run.fp_bits), nullptr,
                                 run.fn);
  }
}

}  // namespace

TEST_CASE("the probe reports every callee-saved register a broken switch clobbers") {
  // cfs_test_clobber "switches" nowhere and overwrites every callee-saved
  // register. If the probe missed any, the next test could not fail.
  // (Seed bit 0: a rounding mode other than the default, so that even under
  // valgrind, which ignores the clobber's flush-to-zero and x87 precision,
  // MXCSR and the x87 control word come back different.)
  Context self;
  void* result = nullptr;
  std::uint64_t mask = probed_jump(self, self, &self, kSeedMain + 1, &result, cfs_test_clobber);
  CHECK(mask == kProbeAllRegisters);
  CHECK(result == &self);
}

TEST_CASE("callee-saved registers survive many switches on both sides") {
  RegisterRun run;
  run_register_rounds(run);
  CHECK(run.coro_rounds == kRounds - 1);
  CHECK(run.main_mask == 0);
  CHECK(run.coro_mask == 0);
}

// The variants asm/<arch>/switch.S builds for the benchmark.
extern "C" {
#if defined(__x86_64__)
void* cfs_switch_fpcmp(void** save_sp, void* to_sp, void* arg);
void* cfs_switch_ret(void** save_sp, void* to_sp, void* arg);
void* cfs_switch_nofpu(void** save_sp, void* to_sp, void* arg);
#elif defined(__riscv)
void* cfs_switch_jr(void** save_sp, void* to_sp, void* arg);
#elif !defined(__ARM_FEATURE_BTI_DEFAULT)
void* cfs_switch_br(void** save_sp, void* to_sp, void* arg);
#endif
}

TEST_CASE("the benchmark's ABI-correct variants keep every callee-saved register too") {
#if defined(__x86_64__)
  const SwitchFn variants[] = {cfs_switch_fpcmp, cfs_switch_ret};
#elif defined(__riscv)
  const SwitchFn variants[] = {cfs_switch_jr};
#elif !defined(__ARM_FEATURE_BTI_DEFAULT)
  const SwitchFn variants[] = {cfs_switch_br};
#else
  const SwitchFn variants[] = {cfs_switch};  // BTI build: no `br x30` variant
#endif
  for (SwitchFn fn : variants) {
    RegisterRun run;
    run.fn = fn;
    run_register_rounds(run);
    CAPTURE(run.main_mask);
    CAPTURE(run.coro_mask);
    CHECK(run.coro_rounds == kRounds - 1);
    CHECK(run.main_mask == 0);
    CHECK(run.coro_mask == 0);
  }
}

#if defined(__x86_64__)
TEST_CASE("x86-64: the probe catches a switch that does not carry MXCSR and the x87 control word") {
  // cfs_switch_nofpu leaves the FP control alone, so each side finds the
  // other side's after a switch: bits 6 (MXCSR) and 7 (x87 CW), both sides.
  RegisterRun run;
  run.fn = cfs_switch_nofpu;
  run_register_rounds(run);
  CHECK(run.coro_rounds == kRounds - 1);
  CHECK(run.main_mask == 0xC0);
  CHECK(run.coro_mask == 0xC0);
}
#endif

namespace {

struct ValueRun {
  Context main, coro;
};

void echo_body(void* arg) {
  auto* run = static_cast<ValueRun*>(arg);
  cfs::arrived_first_time(run->main);
  void* v = nullptr;
  for (;;) {
    // Send back a transformed value: proves each side sees the other's arg.
    v = cfs::jump(run->coro, run->main, reinterpret_cast<void*>(~addr(v)));
  }
}

}  // namespace

TEST_CASE("a value passed through the switch arrives intact, both ways") {
  Stack stack;
  ValueRun run;
  cfs::prepare(run.coro, stack, echo_body);
  // The first switch delivers &run as echo_body's argument.
  void* first = cfs::jump(run.main, run.coro, &run);
  CHECK(addr(first) == ~std::uintptr_t{0});  // ~nullptr: echo_body's first reply
  const std::uintptr_t values[] = {0, 1, 42, 0x8000'0000'0000'0000u, ~std::uintptr_t{0},
                                   0x0123'4567'89ab'cdefu};
  for (std::uintptr_t v : values) {
    void* back = cfs::jump(run.main, run.coro, reinterpret_cast<void*>(v));
    CHECK(addr(back) == ~v);
  }
  // echo_body stays suspended forever; its stack is simply freed. That is
  // safe here because nothing on it owns a resource.
}

TEST_CASE("cfs_prepare lays out a first frame that returns into the trampoline") {
  Stack stack;
  void* sp = cfs_prepare(stack.hi() - 8, echo_body);  // deliberately misaligned top
  auto top = addr(stack.hi() - 8) & ~std::uintptr_t{15};
  CHECK(addr(sp) == top - kSavedFrameBytes);
  CHECK(addr(sp) % 16 == 0);
  auto* slot = static_cast<std::uintptr_t*>(sp);
  // The return address lies inside cfs_trampoline, just past a nop, as a real
  // one lies just past a call: return address - 1 is then inside the
  // trampoline's unwind info too (asm/<arch>/switch.S says why).
  CHECK(slot[kReturnAddressSlot] ==
        reinterpret_cast<std::uintptr_t>(&cfs_trampoline) + kTrampolineNopBytes);
  CHECK(slot[kFramePointerSlot] == 0);  // the frame-pointer chain ends here
}

namespace {

using v4f = float __attribute__((vector_size(16)));

struct AlignRun {
  Context main, coro;
  Stack* stack = nullptr;
  std::vector<std::uintptr_t> sps;  // sp at each call site, on the new stack
  float simd_sum = 0;
};

/// Stores through 16-byte aligned SIMD locals: on x86-64 the compiler uses
/// movaps, which faults if the stack is misaligned.
__attribute__((noinline)) float aligned_simd_work(AlignRun* run, int depth) {
  run->sps.push_back(cfs_stack_pointer());
  run->sps.push_back(addr(__builtin_frame_address(0)));
  alignas(16) v4f lanes[4];
  for (int i = 0; i < 4; ++i) lanes[i] = v4f{1.0f * i, 2.0f, 3.0f, 4.0f + depth};
  float sum = 0;
  for (auto& v : lanes) sum += v[0] + v[1] + v[2] + v[3];
  return depth == 0 ? sum : sum + aligned_simd_work(run, depth - 1);
}

void align_body(void* arg) {
  auto* run = static_cast<AlignRun*>(arg);
  cfs::arrived_first_time(run->main);
  run->sps.push_back(cfs_stack_pointer());
  run->sps.push_back(addr(__builtin_frame_address(0)));
  run->simd_sum = aligned_simd_work(run, 3);
  cfs::leave(run->coro, run->main, nullptr);
}

}  // namespace

TEST_CASE("on the new stack, sp is 16-byte aligned at every call and SIMD stores work") {
  Stack stack;
  AlignRun run;
  run.stack = &stack;
  run.sps.reserve(64);
  cfs::prepare(run.coro, stack, align_body);
  cfs::jump(run.main, run.coro, &run);
  REQUIRE(run.sps.size() == 10);
  for (std::uintptr_t sp : run.sps) {
    CAPTURE(sp);
    CHECK(sp % 16 == 0);
    // On the new stack. A stack pointer is a boundary, so hi itself counts:
    // it is the sp of the empty stack, and on RISC-V the entry function's
    // frame address, since there the frame pointer holds the sp its caller
    // had (the CFA), which for the first function on a stack is the top.
    CHECK(addr(stack.lo()) < sp);
    CHECK(sp <= addr(stack.hi()));
  }
  // depth d contributes (0+1+2+3) + 4*(2+3+4+d) = 42 + 4d, for d = 3..0
  CHECK(run.simd_sum == doctest::Approx(4 * 42 + 4 * (0 + 1 + 2 + 3)));
}

namespace {

constexpr int kMillion = 1'000'000;
constexpr unsigned char kFill = 0xCD;

struct MillionRun {
  Context main, coro;
  std::uintptr_t coro_sp_first = 0;
  int coro_sp_changes = 0;
};

void million_body(void* arg) {
  auto* run = static_cast<MillionRun*>(arg);
  cfs::arrived_first_time(run->main);
  run->coro_sp_first = cfs_stack_pointer();
  for (;;) {
    cfs::jump(run->coro, run->main, nullptr);
    if (cfs_stack_pointer() != run->coro_sp_first) ++run->coro_sp_changes;
  }
}

/// How many bytes at the bottom of `stack` still hold the fill pattern.
std::size_t untouched_bytes(const Stack& stack) {
  cfs::valgrind::make_defined(stack.lo(), stack.size());  // reading dead stack on purpose
  std::size_t n = 0;
  while (n < stack.size() && static_cast<unsigned char>(stack.lo()[n]) == kFill) ++n;
  return n;
}

}  // namespace

TEST_CASE("a million switches leave both stacks unchanged") {
  Stack stack;
  stack.fill(kFill);
  MillionRun run;
  cfs::prepare(run.coro, stack, million_body);
  std::array<std::uint64_t, 16> canary;  // lives on main's stack
  for (std::size_t i = 0; i < canary.size(); ++i) canary[i] = 0x5eed'0000'0000'0000u + i;

  cfs::jump(run.main, run.coro, &run);
  const std::uintptr_t main_sp_first = cfs_stack_pointer();
  const std::size_t untouched_first = untouched_bytes(stack);
  int main_sp_changes = 0;
  for (int i = 1; i < kMillion; ++i) {
    cfs::jump(run.main, run.coro, nullptr);
    if (cfs_stack_pointer() != main_sp_first) ++main_sp_changes;
  }
  CHECK(main_sp_changes == 0);       // main's sp does not creep
  CHECK(run.coro_sp_changes == 0);   // nor does the other side's
  CHECK(untouched_bytes(stack) == untouched_first);  // no deeper use of the new stack
  CHECK(untouched_first > stack.size() / 2);         // and it used little of it
  for (std::size_t i = 0; i < canary.size(); ++i) CHECK(canary[i] == 0x5eed'0000'0000'0000u + i);
}

namespace {

struct ReturnRun {
  Context main, coro;
};

void returning_body(void* arg) {
  auto* run = static_cast<ReturnRun*>(arg);
  cfs::arrived_first_time(run->main);
  // ... and simply return: there is nobody to return to.
}

}  // namespace

TEST_CASE("an entry function that returns aborts with a message naming its stack") {
  cfs::ChildResult r = cfs::run_in_child([] {
    Stack stack;
    ReturnRun run;
    cfs::prepare(run.coro, stack, returning_body);
    cfs::jump(run.main, run.coro, &run);
    std::fprintf(stderr, "main resumed: must not happen\n");
  });
  CHECK(r.signaled);
  CHECK(r.signal == SIGABRT);
  CHECK(r.err.find("the entry function running on the stack at sp=") != std::string::npos);
  CHECK(r.err.find("returned") != std::string::npos);
  CHECK(r.err.find("main resumed") == std::string::npos);
}
