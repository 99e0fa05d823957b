// tests/test_warmups.cpp: the warm-ups from asm/: a first out-of-line
// function, and what a full-descending stack looks like.
#include <doctest/doctest.h>

#include <cstdint>

#include "../probe.h"

TEST_CASE("an out-of-line assembly function returns 42 to C++") {
  CHECK(cfs_return_42() == 42);
}

TEST_CASE("the stack is full descending: pushing moves sp down, the last pushed is on top") {
  cfs_stack_demo_result r{};
  const std::uint64_t a = 0xaaaa'aaaa'0000'0001, b = 0xbbbb'bbbb'0000'0002;
  cfs_stack_demo(a, b, &r);
#if defined(__aarch64__) || defined(__riscv)
  // AArch64: sub sp, sp, #32; stp xzr, xzr, [sp]; stp a, b, [sp, #16]
  // RISC-V:  addi sp, sp, -32; sd zero, 0(sp); sd zero, 8(sp); sd a, 16(sp); sd b, 24(sp)
  CHECK(r.sp_after_push == r.sp_on_entry - 32);
  CHECK(r.slot[0] == 0);
  CHECK(r.slot[1] == 0);
  CHECK(r.slot[2] == a);  // the pair's first register at the lower address
  CHECK(r.slot[3] == b);
  CHECK(r.popped_first == a);  // ldp loads the pair back in the same order
  CHECK(r.popped_second == b);
  CHECK(r.sp_on_entry % 16 == 0);  // 16-aligned at a call, which pushes nothing
#else
  // push a; push b
  CHECK(r.sp_after_push == r.sp_on_entry - 16);
  CHECK(r.slot[0] == b);  // the last pushed is at the lowest address
  CHECK(r.slot[1] == a);
  CHECK(r.slot[2] != 0);  // the return address our `call` pushed
  CHECK(r.popped_first == b);  // last in, first out
  CHECK(r.popped_second == a);
  CHECK(r.sp_on_entry % 16 == 8);  // 16-aligned before `call` pushed 8 bytes
#endif
}
