/*
 * exercises/sum-in-asm/callbacks.S: the `f` the tests hand to your
 * cfs_ex_sum_mapped. Part of the tests, not yours to edit.
 *
 *   int64_t cfs_ex_twice_plus_one(int64_t v);   returns 2v + 1
 *   extern int cfs_ex_calls;                    how many calls so far
 *   extern int cfs_ex_misaligned_calls;         ... with sp not 16-aligned
 *                                               at the call
 *
 * It does what the ABI allows any function to do, and compiled code often
 * does not: it overwrites every caller-saved integer register (and some
 * vector registers). A value you keep in one of them across the call is
 * gone afterwards, every time, not only when the compiler happens to need
 * that register.
 */
#include "../../../../asm/asm_macros.h"

    .data
    .p2align 2
    .globl SYM(cfs_ex_calls)
SYM(cfs_ex_calls):
    .long   0
    .globl SYM(cfs_ex_misaligned_calls)
SYM(cfs_ex_misaligned_calls):
    .long   0

#if defined(__x86_64__)
FUNC_BEGIN cfs_ex_twice_plus_one
    leaq    8(%rsp), %rax           /* rsp just before the caller's `call`   */
    testq   $15, %rax               /* 16-aligned, as the ABI requires?      */
    jz      1f
    incl    SYM(cfs_ex_misaligned_calls)(%rip)
1:  incl    SYM(cfs_ex_calls)(%rip)
    leaq    1(%rdi,%rdi), %rax      /* the result: 2v + 1                    */
    movl    $0xbad, %ecx            /* clobber every other caller-saved      */
    movq    %rcx, %rdx              /* integer register                      */
    movq    %rcx, %rsi
    movq    %rcx, %rdi
    movq    %rcx, %r8
    movq    %rcx, %r9
    movq    %rcx, %r10
    movq    %rcx, %r11
    pxor    %xmm0, %xmm0            /* and some vector registers             */
    pxor    %xmm1, %xmm1
    pxor    %xmm8, %xmm8
    ret
FUNC_END cfs_ex_twice_plus_one

#elif defined(__aarch64__)
/* ADDR reg, sym: reg = &sym (ELF and Mach-O spell the page offset apart). */
.macro ADDR reg, sym
#if defined(__APPLE__)
    adrp    \reg, \sym@PAGE
    add     \reg, \reg, \sym@PAGEOFF
#else
    adrp    \reg, \sym
    add     \reg, \reg, :lo12:\sym
#endif
.endm

FUNC_BEGIN cfs_ex_twice_plus_one
    BTI_C                           /* called through a pointer              */
    mov     x9, sp                  /* sp at the call (bl does not move it)  */
    tst     x9, #15                 /* 16-aligned?                           */
    b.eq    1f
    ADDR    x10, SYM(cfs_ex_misaligned_calls)
    ldr     w11, [x10]
    add     w11, w11, #1
    str     w11, [x10]
1:  ADDR    x10, SYM(cfs_ex_calls)
    ldr     w11, [x10]
    add     w11, w11, #1
    str     w11, [x10]
    lsl     x0, x0, #1              /* the result: 2v + 1                    */
    add     x0, x0, #1
    mov     x1, #0xbad              /* clobber every other caller-saved      */
    mov     x2, x1                  /* integer register (x18 is the          */
    mov     x3, x1                  /* platform's: not ours)                 */
    mov     x4, x1
    mov     x5, x1
    mov     x6, x1
    mov     x7, x1
    mov     x8, x1
    mov     x9, x1
    mov     x10, x1
    mov     x11, x1
    mov     x12, x1
    mov     x13, x1
    mov     x14, x1
    mov     x15, x1
    mov     x16, x1
    mov     x17, x1
    movi    v0.2d, #0               /* and some vector registers             */
    movi    v1.2d, #0
    movi    v16.2d, #0
    ret
FUNC_END cfs_ex_twice_plus_one

#else
#error "this exercise is for x86-64 and AArch64"
#endif

NO_EXEC_STACK
#if defined(__aarch64__)
GNU_PROPERTY_NOTE
#endif
