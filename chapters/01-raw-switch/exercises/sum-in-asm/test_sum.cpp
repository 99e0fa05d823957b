// exercises/sum-in-asm/test_sum.cpp: what cfs_ex_sum and cfs_ex_sum_mapped
// (sum.S) must do. `make exercise-01 EX=sum-in-asm` runs them; they fail,
// saying what they expected, until both functions are written.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "../switch_checks.h"  // the register probe, and the names of its bits

extern "C" {
std::int64_t cfs_ex_sum(const std::int64_t* values, std::size_t count);
std::int64_t cfs_ex_sum_mapped(const std::int64_t* values, std::size_t count,
                               std::int64_t (*f)(std::int64_t));
// callbacks.S: f = 2v + 1, which clobbers every caller-saved register.
std::int64_t cfs_ex_twice_plus_one(std::int64_t v);
extern int cfs_ex_calls;
extern int cfs_ex_misaligned_calls;
}

namespace {
/// Fails, saying where to look, if `body` crashes (run in a child first).
void require_no_crash(const std::function<void()>& body) {
  const int sig = cfs::exercise::crash_signal(body);
  if (sig != 0) {
    FAIL("cfs_ex_sum_mapped crashed (signal "
         << sig << "). The usual causes: the return address lost (AArch64: `blr` overwrites "
         "x30, so save it with x29 before the first call); a value needed after a call kept in "
         "a caller-saved register, which f overwrites, so the loop runs on past the array; "
         "pushes and pops, or stp and ldp, that do not match");
  }
}

std::int64_t expected_sum(const std::vector<std::int64_t>& v, std::size_t n, bool mapped) {
  std::int64_t s = 0;
  for (std::size_t i = 0; i < n; ++i) s += mapped ? 2 * v[i] + 1 : v[i];
  return s;
}
}  // namespace

TEST_CASE("cfs_ex_sum adds count values, and not one more") {
  // The fourth value is a trap: the calls below sum only the first three.
  const std::vector<std::int64_t> v{1, 20, 300, 1'000'000};
  const std::int64_t got = cfs_ex_sum(v.data(), 3);
  INFO("cfs_ex_sum({1, 20, 300}, 3) returned " << got);
  if (got == 0) {
    FAIL("it returned 0, the starter's value: loop `count` times; each time load the 8-byte "
         "value at `values`, add it to the result register, and step `values` on by 8");
  }
  CHECK_MESSAGE(got != 1'000'321, "it read a fourth value: stop after `count` values");
  CHECK_MESSAGE(got != 21, "it stopped one value early");
  CHECK_MESSAGE(got != 3, "it added 1 three times: step the pointer by 8 bytes each time");
  CHECK(got == 321);
  CHECK_MESSAGE(cfs_ex_sum(v.data(), 1) == 1, "one value: the sum is that value");
  CHECK_MESSAGE(cfs_ex_sum(nullptr, 0) == 0,
                "count 0: the sum is 0, and `values` (null here) must not be read");
  const std::vector<std::int64_t> negatives{-5, 7, -1'000'000'000'000, 3};
  CHECK_MESSAGE(cfs_ex_sum(negatives.data(), 4) == expected_sum(negatives, 4, false),
                "negative and 64-bit values: add 64-bit registers (x, r), not 32-bit ones");
}

TEST_CASE("cfs_ex_sum_mapped calls f once per value, in order, with sp aligned") {
  std::vector<std::int64_t> v;
  for (std::int64_t i = 1; i <= 100; ++i) v.push_back(i * 1000 - 7);
  require_no_crash([&v] { cfs_ex_sum_mapped(v.data(), v.size(), cfs_ex_twice_plus_one); });
  cfs_ex_calls = 0;
  cfs_ex_misaligned_calls = 0;
  const std::int64_t got = cfs_ex_sum_mapped(v.data(), v.size(), cfs_ex_twice_plus_one);
  INFO("cfs_ex_sum_mapped(100 values, f = 2v + 1) returned " << got << " after " << cfs_ex_calls
                                                             << " calls of f");
  if (cfs_ex_calls == 0) {
    FAIL("f was never called: call it through its pointer (x86-64: `callq *%reg`; AArch64: "
         "`blr xN`) with each value in the first argument register, and add what it returns");
  }
  CHECK_MESSAGE(cfs_ex_calls == 100, "f must be called exactly once per value");
  CHECK_MESSAGE(cfs_ex_misaligned_calls == 0,
                "at " << cfs_ex_misaligned_calls << " of the calls sp was not 16-byte aligned. "
                "x86-64: on entry rsp is 8 mod 16 (the caller's `call` pushed 8 bytes); your "
                "pushes and `subq` before a `call` must add up to 8 mod 16. AArch64: move sp "
                "in multiples of 16 only");
  CHECK_MESSAGE(got == expected_sum(v, v.size(), true),
                "the sum is wrong, though f was called: a value you keep across the call in a "
                "caller-saved register (x86-64: rax, rcx, rdx, rsi, rdi, r8-r11; AArch64: "
                "x0-x17) is lost, because f overwrites them all. Keep the pointer, the count, f "
                "and the sum in callee-saved registers");
  CHECK_MESSAGE(cfs_ex_sum_mapped(nullptr, 0, cfs_ex_twice_plus_one) == 0,
                "count 0: no call at all, and the sum is 0");
}

TEST_CASE("cfs_ex_sum_mapped leaves the caller's callee-saved registers as it found them") {
  // The probe fills every callee-saved register with a pattern, calls the
  // function with three arguments and reports which registers changed. It
  // is made for a switch, whose three arguments are pointers too; calling
  // through a cast is fine for code in assembly, which sees only registers.
  using Fn = void* (*)(void**, void*, void*);
  const std::vector<std::int64_t> v{4, 5, 6};
  require_no_crash([&v] { cfs_ex_sum_mapped(v.data(), v.size(), cfs_ex_twice_plus_one); });
  cfs_probe p{reinterpret_cast<Fn>(reinterpret_cast<void (*)()>(&cfs_ex_sum_mapped)),
              reinterpret_cast<void**>(const_cast<std::int64_t*>(v.data())),
              reinterpret_cast<void*>(v.size()),
              reinterpret_cast<void*>(&cfs_ex_twice_plus_one),
              0x3333'0000'0000'0000u,
              nullptr};
  const std::uint64_t changed = cfs_probe_callee_saved(&p);
  INFO("registers that came back changed: " << cfs::exercise::register_names(changed));
  CHECK_MESSAGE(changed == 0,
                "a callee-saved register you use must be saved before you change it and "
                "restored before you return (push/pop on x86-64, stp/ldp on AArch64), in "
                "reverse order");
  CHECK_MESSAGE(reinterpret_cast<std::intptr_t>(p.result) == expected_sum(v, v.size(), true),
                "called with {4, 5, 6} and f = 2v + 1 it must return 9 + 11 + 13 = 33");
}
