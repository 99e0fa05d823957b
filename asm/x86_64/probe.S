/*
 * asm/x86_64/probe.S: test helpers that only assembly can write, because
 * C++ cannot pin values in callee-saved registers across a call.
 *
 *   struct cfs_probe {                       // chapters/01-raw-switch/probe.h
 *     void* (*fn)(void**, void*, void*);     // +0   the switch under test
 *     void** save_sp;                        // +8   its three arguments
 *     void*  to_sp;                          // +16
 *     void*  arg;                            // +24
 *     uint64_t seed;                         // +32  picks the patterns
 *     void*  result;                         // +40  out: what fn returned
 *   };
 *   uint64_t cfs_probe_callee_saved(struct cfs_probe* p);
 *
 * Loads every callee-saved register with a pattern made from the seed
 * (rbx = seed+3, rbp = seed+5, r12..r15 = seed+12..15; the MXCSR and x87
 * rounding-control fields = seed & 3; MXCSR bit 17, AMD's MM, = seed bit
 * 2: a seed may have bit 2 only where cfs_mxcsr_mask() has bit 17),
 * calls p->fn(save_sp, to_sp, arg), then checks each one. MXCSR is
 * compared on every bit but the six sticky status flags (0-5): the control
 * bits, on Intel and on AMD. Returns a bit mask of what came back changed:
 * bit 0 rbx, 1 rbp, 2 r12, 3 r13, 4 r14, 5 r15, 6 MXCSR, 7 x87 CW.
 * The caller's own registers are saved first and restored last.
 *
 *   void* cfs_test_clobber(void** save_sp, void* to_sp, void* arg);
 * A deliberately broken "switch" that overwrites all of them; the probe
 * must report all 8 bits for it.
 *
 *   uintptr_t cfs_stack_pointer(void);
 * The caller's rsp just before its `call` (16-aligned in ABI-correct code).
 *
 *   uint32_t cfs_mxcsr_mask(void);
 * The MXCSR bits this CPU lets software set: MXCSR_MASK, which fxsave
 * stores at byte 28 of its save area (0 there means the old default,
 * 0xFFBF). Loading a bit outside it faults. Current Intel cores: 0xFFFF;
 * AMD adds bit 17, MM (0x2FFFF on the AMD EPYC of notes/benchmarks.md).
 */
#include "../asm_macros.h"

/* MXCSR pattern: defaults (0x1F80: all exceptions masked) + rounding,
 * + MM (bit 17) from seed bit 2. Compared on all but the status flags. */
#define MXCSR_RC_SHIFT 13
#define MXCSR_MM_SHIFT 15           /* seed bit 2 -> MXCSR bit 17            */
#define MXCSR_CONTROL 0xFFFFFFC0

/* MXCSR_PATTERN seed, out, tmp: out = the MXCSR pattern for the seed in
 * `seed` (32-bit registers). */
.macro MXCSR_PATTERN seed, out, tmp
    movl    \seed, \out
    andl    $3, \out
    shll    $MXCSR_RC_SHIFT, \out     /* rounding control, bits 13-14          */
    orl     $0x1F80, \out             /* all exceptions masked                 */
    movl    \seed, \tmp
    andl    $4, \tmp
    shll    $MXCSR_MM_SHIFT, \tmp     /* seed bit 2 -> MM, bit 17              */
    orl     \tmp, \out
.endm
/* x87 CW pattern: defaults (0x037F: masked, 64-bit precision) + rounding. */
#define X87_RC_SHIFT 10

FUNC_BEGIN cfs_probe_callee_saved
    pushq   %rbp                    /* the caller's callee-saved registers   */
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    subq    $24, %rsp               /* +0 caller MXCSR, +4 caller CW, +8 p,   */
    .cfi_adjust_cfa_offset 24       /* +16/+20 scratch; rsp now 16-aligned   */
    stmxcsr 0(%rsp)
    fnstcw  4(%rsp)
    movq    %rdi, 8(%rsp)

    movq    32(%rdi), %rax          /* rax = seed                            */
    leaq    3(%rax), %rbx           /* the patterns                          */
    leaq    5(%rax), %rbp
    leaq    12(%rax), %r12
    leaq    13(%rax), %r13
    leaq    14(%rax), %r14
    leaq    15(%rax), %r15
    MXCSR_PATTERN %eax, %ecx, %edx
    movl    %ecx, 16(%rsp)
    ldmxcsr 16(%rsp)
    movl    %eax, %ecx
    andl    $3, %ecx
    shll    $X87_RC_SHIFT, %ecx
    orl     $0x037F, %ecx
    movw    %cx, 20(%rsp)
    fldcw   20(%rsp)

    movq    0(%rdi), %r11           /* fn                                    */
    movq    16(%rdi), %rsi          /* to_sp                                 */
    movq    24(%rdi), %rdx          /* arg                                   */
    movq    8(%rdi), %rdi           /* save_sp                               */
    callq   *%r11                   /* ... the other side runs here ...      */

    movq    8(%rsp), %rdi           /* p                                     */
    movq    %rax, 40(%rdi)          /* p->result                             */
    movq    32(%rdi), %rcx          /* rcx = seed                            */
    xorl    %eax, %eax              /* the mask                              */
.macro CHECK reg, n, bit
    leaq    \n(%rcx), %rdx
    cmpq    %rdx, \reg
    setne   %dl
    movzbl  %dl, %edx
    shll    $\bit, %edx
    orl     %edx, %eax
.endm
    CHECK   %rbx, 3, 0
    CHECK   %rbp, 5, 1
    CHECK   %r12, 12, 2
    CHECK   %r13, 13, 3
    CHECK   %r14, 14, 4
    CHECK   %r15, 15, 5
    stmxcsr 16(%rsp)                /* MXCSR: compare the control bits only  */
    movl    16(%rsp), %edx          /* (bits 0-5 are sticky status flags)    */
    andl    $MXCSR_CONTROL, %edx
    MXCSR_PATTERN %ecx, %esi, %r8d
    cmpl    %esi, %edx
    setne   %dl
    movzbl  %dl, %edx
    shll    $6, %edx
    orl     %edx, %eax
    fnstcw  20(%rsp)                /* x87 control word                      */
    movzwl  20(%rsp), %edx
    movl    %ecx, %esi
    andl    $3, %esi
    shll    $X87_RC_SHIFT, %esi
    orl     $0x037F, %esi
    cmpl    %esi, %edx
    setne   %dl
    movzbl  %dl, %edx
    shll    $7, %edx
    orl     %edx, %eax

    ldmxcsr 0(%rsp)                 /* the caller's state back               */
    fldcw   4(%rsp)
    addq    $24, %rsp
    .cfi_adjust_cfa_offset -24
    popq    %r15
    .cfi_adjust_cfa_offset -8
    popq    %r14
    .cfi_adjust_cfa_offset -8
    popq    %r13
    .cfi_adjust_cfa_offset -8
    popq    %r12
    .cfi_adjust_cfa_offset -8
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    ret
FUNC_END cfs_probe_callee_saved

FUNC_BEGIN cfs_test_clobber
    movl    $0xdead, %eax
    movq    %rax, %rbx
    movq    %rax, %rbp
    movq    %rax, %r12
    movq    %rax, %r13
    movq    %rax, %r14
    movq    %rax, %r15
    movl    $0x9F80, -8(%rsp)       /* flush-to-zero on: no pattern has it   */
    ldmxcsr -8(%rsp)                /* (the red zone below rsp is ours)      */
    movw    $0x007F, -4(%rsp)       /* 24-bit precision: no pattern has it   */
    fldcw   -4(%rsp)
    movq    %rdx, %rax              /* "returns" arg, like a switch would    */
    ret
FUNC_END cfs_test_clobber

FUNC_BEGIN cfs_stack_pointer
    leaq    8(%rsp), %rax           /* rsp before the call pushed rip        */
    ret
FUNC_END cfs_stack_pointer

FUNC_BEGIN cfs_mxcsr_mask
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    movq    %rsp, %rbp              /* rbp = the frame, to undo the aligning */
    .cfi_def_cfa_register %rbp
    subq    $512, %rsp              /* fxsave's area: 512 bytes,             */
    andq    $-16, %rsp              /* 16-byte aligned                       */
    fxsave  (%rsp)                  /* x87, MMX, SSE state; MXCSR_MASK at 28 */
    movl    28(%rsp), %eax
    testl   %eax, %eax
    jnz     1f
    movl    $0xFFBF, %eax           /* 0 means the default mask              */
1:  movq    %rbp, %rsp
    popq    %rbp
    .cfi_def_cfa %rsp, 8
    .cfi_restore %rbp
    ret
FUNC_END cfs_mxcsr_mask

NO_EXEC_STACK
