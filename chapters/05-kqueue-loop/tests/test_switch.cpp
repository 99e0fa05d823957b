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

/// A switch through the register probe, annotated like cfs::jump().
/// Returns the mask of callee-saved registers that came back changed.
std::uint64_t probed_jump(Context& from, Context& to, void* arg, std::uint64_t seed,
                          void** result = nullptr,
                          void* (*fn)(void**, void*, void*) = cfs_switch) {
  cfs_probe p{fn, &from.sp, to.sp, arg, seed, nullptr};
  cfs::sanitizer::start_switch(&from.fake_stack, to.stack_lo, to.stack_size);
  std::uint64_t mask = cfs_probe_callee_saved(&p);
  cfs::sanitizer::finish_switch(from.fake_stack, nullptr, nullptr);
  if (result) *result = p.result;
  return mask;
}

// Seeds for the two sides: different register patterns and, on x86-64,
// different MXCSR and x87 rounding modes (seed & 3).
constexpr std::uint64_t kSeedMain = 0x1111'0000'0000'0001;
constexpr std::uint64_t kSeedCoro = 0x2222'0000'0000'0002;
constexpr int kRounds = 10'000;

struct RegisterRun {
  Context main, coro;
  std::uint64_t coro_mask = 0;
  int coro_rounds = 0;
};

void register_body(void* arg) {
  auto* run = static_cast<RegisterRun*>(arg);
  cfs::arrived_first_time(run->main);
  for (int i = 0; i < kRounds - 1; ++i) {
    run->coro_mask |= probed_jump(run->coro, run->main, nullptr, kSeedCoro + 16 * (i % 4));
    ++run->coro_rounds;
  }
  cfs::leave(run->coro, run->main, nullptr);
}

}  // namespace

TEST_CASE("the probe reports every callee-saved register a broken switch clobbers") {
  // cfs_test_clobber "switches" nowhere and overwrites every callee-saved
  // register. If the probe missed any, the next test could not fail.
  Context self;
  void* result = nullptr;
  std::uint64_t mask = probed_jump(self, self, &self, kSeedMain, &result, cfs_test_clobber);
  CHECK(mask == kProbeAllRegisters);
  CHECK(result == &self);
}

TEST_CASE("callee-saved registers survive many switches on both sides") {
  Stack stack;
  RegisterRun run;
  cfs::prepare(run.coro, stack, register_body);
  std::uint64_t main_mask = 0;
  // The first switch starts register_body (its arg is &run); every later
  // one resumes it. Both sides fill every callee-saved register with their
  // own pattern before each switch and check it after.
  main_mask |= probed_jump(run.main, run.coro, &run, kSeedMain);
  for (int i = 1; i < kRounds; ++i) {
    main_mask |= probed_jump(run.main, run.coro, nullptr, kSeedMain + 16 * (i % 4));
  }
  CHECK(run.coro_rounds == kRounds - 1);
  CHECK(main_mask == 0);
  CHECK(run.coro_mask == 0);
}

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
  CHECK(slot[kReturnAddressSlot] == reinterpret_cast<std::uintptr_t>(&cfs_trampoline));
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
    CHECK(stack.contains(reinterpret_cast<void*>(sp)));
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
