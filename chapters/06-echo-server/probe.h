// probe.h: the C++ view of asm/<arch>/probe.S and the warm-ups, for tests.
#pragma once

#include <cstdint>

extern "C" {

/// Arguments and result of cfs_probe_callee_saved (layout fixed by probe.S).
struct cfs_probe {
  void* (*fn)(void**, void*, void*);  ///< the switch under test
  void** save_sp;                     ///< its first argument
  void* to_sp;                        ///< its second argument
  void* arg;                          ///< its third argument
  std::uint64_t seed;                 ///< picks the register patterns
  void* result;                       ///< out: what fn returned
};

/// Fills every callee-saved register with a seed-made pattern, calls
/// p->fn, and returns a mask of the registers that came back changed.
std::uint64_t cfs_probe_callee_saved(cfs_probe* p);

/// A broken "switch" that clobbers every callee-saved register.
void* cfs_test_clobber(void** save_sp, void* to_sp, void* arg);

/// The caller's stack pointer at the call.
std::uintptr_t cfs_stack_pointer();

#if defined(__x86_64__)
/// The MXCSR bits this CPU lets software set (MXCSR_MASK, from fxsave):
/// bit 17 (MM) is one of them on AMD, not on Intel.
std::uint32_t cfs_mxcsr_mask();
#endif

/// asm/<arch>/return_42.S
int cfs_return_42();

/// asm/<arch>/stack_demo.S
struct cfs_stack_demo_result {
  std::uintptr_t sp_on_entry;
  std::uintptr_t sp_after_push;
  std::uint64_t slot[4];
  std::uint64_t popped_first;
  std::uint64_t popped_second;
};
void cfs_stack_demo(std::uint64_t a, std::uint64_t b, cfs_stack_demo_result* out);
}

/// Every bit cfs_probe_callee_saved can report, the size of one saved
/// frame, and how far into cfs_trampoline a fresh frame returns (past the
/// nop that keeps return-address-minus-one inside it), per architecture.
#if defined(__aarch64__)
inline constexpr std::uint64_t kProbeAllRegisters = (1u << 19) - 1;  // x19-x29, d8-d15
inline constexpr int kSavedFrameBytes = 160;
inline constexpr int kReturnAddressSlot = 19;   // x30 at +152
inline constexpr int kFramePointerSlot = 18;    // x29 at +144
inline constexpr int kTrampolineNopBytes = 4;   // one AArch64 instruction
#elif defined(__x86_64__)
inline constexpr std::uint64_t kProbeAllRegisters = (1u << 8) - 1;  // 6 GPRs, MXCSR, x87 CW
inline constexpr int kSavedFrameBytes = 64;
inline constexpr int kReturnAddressSlot = 7;    // at +56
inline constexpr int kFramePointerSlot = 6;     // rbp at +48
inline constexpr int kTrampolineNopBytes = 1;   // the one-byte nop (0x90)
#elif defined(__riscv) && __riscv_xlen == 64
inline constexpr std::uint64_t kProbeAllRegisters = (1u << 24) - 1;  // s0-s11, fs0-fs11
inline constexpr int kSavedFrameBytes = 208;
inline constexpr int kReturnAddressSlot = 25;   // ra at +200
inline constexpr int kFramePointerSlot = 24;    // s0 at +192
inline constexpr int kTrampolineNopBytes = 4;   // a 4-byte nop, never the 2-byte c.nop
#else
#error "cfs supports AArch64, x86-64 and RISC-V 64 only"
#endif
