/*
 * solutions/fix-switch/my_switch.S: a reference solution of chapter 01's
 * exercise 1 (the starter is exercises/fix-switch/my_switch.S).
 *
 *   void* cfs_ex_switch(void** save_sp, void* to_sp, void* arg);
 *
 * A copy of cfs_switch, under another name so that it does not clash with
 * the real one, with the same saved frame (asm/<arch>/switch.S draws it):
 * the tests start a fresh stack with the real cfs_prepare and then switch
 * through this function only. It has no unwind information (.cfi_*) and no
 * benchmark variants, to keep it short.
 *
 * The two mistakes of the starter, fixed:
 *   - x86-64: the x87 control word was not carried (fnstcw/fldcw at +4),
 *     and r12 and r13 were popped in the wrong order;
 *   - AArch64: x27 and x28 were not saved nor restored (the pair at +128),
 *     and d10, d11 were loaded from +32, d12 and d13's slots, not +16.
 */
#include "../../../../asm/asm_macros.h"

#if defined(__x86_64__)
FUNC_BEGIN cfs_ex_switch
    /* rdi = save_sp, rsi = to_sp, rdx = arg; [rsp] = our return address  */
    pushq   %rbp                    /* +48 = rbp                             */
    pushq   %rbx                    /* +40 = rbx                             */
    pushq   %r12                    /* +32 = r12                             */
    pushq   %r13                    /* +24 = r13                             */
    pushq   %r14                    /* +16 = r14                             */
    pushq   %r15                    /* +8  = r15                             */
    subq    $8, %rsp                /* +0: the FP control slot               */
    stmxcsr (%rsp)                  /* [rsp+0] = MXCSR                       */
    fnstcw  4(%rsp)                 /* [rsp+4] = x87 control word            */
    movq    %rsp, (%rdi)            /* *save_sp = rsp                        */
    movq    %rsi, %rsp              /* the switch: the other side's frame    */
    ldmxcsr (%rsp)                  /* its MXCSR back                        */
    fldcw   4(%rsp)                 /* its x87 control word back             */
    addq    $8, %rsp                /* drop the FP control slot              */
    popq    %r15                    /* its registers, in reverse order       */
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    movq    %rdx, %rax              /* its switch "returns" our arg          */
    popq    %r8                     /* its return address                    */
    jmpq    *%r8                    /* go there                              */
FUNC_END cfs_ex_switch

#elif defined(__aarch64__)
FUNC_BEGIN cfs_ex_switch
    BTI_C                           /* may be called through a pointer       */
    /* x0 = save_sp, x1 = to_sp, x2 = arg, x30 = our return address      */
    sub     sp, sp, #160            /* open the frame: 20 slots              */
    stp     d8,  d9,  [sp, #0]
    stp     d10, d11, [sp, #16]
    stp     d12, d13, [sp, #32]
    stp     d14, d15, [sp, #48]
    stp     x19, x20, [sp, #64]
    stp     x21, x22, [sp, #80]
    stp     x23, x24, [sp, #96]
    stp     x25, x26, [sp, #112]
    stp     x27, x28, [sp, #128]
    stp     x29, x30, [sp, #144]
    mov     x9, sp
    str     x9, [x0]                /* *save_sp = sp                         */
    mov     sp, x1                  /* the switch: the other side's frame    */
    ldp     d8,  d9,  [sp, #0]      /* its registers back                    */
    ldp     d10, d11, [sp, #16]
    ldp     d12, d13, [sp, #32]
    ldp     d14, d15, [sp, #48]
    ldp     x19, x20, [sp, #64]
    ldp     x21, x22, [sp, #80]
    ldp     x23, x24, [sp, #96]
    ldp     x25, x26, [sp, #112]
    ldp     x27, x28, [sp, #128]
    ldp     x29, x30, [sp, #144]
    add     sp, sp, #160            /* close its frame                       */
    mov     x0, x2                  /* its switch "returns" our arg          */
    ret
FUNC_END cfs_ex_switch

#else
#error "this exercise is for x86-64 and AArch64 (RISC-V 64 is the capstone, exercises/riscv64-port)"
#endif

NO_EXEC_STACK
#if defined(__aarch64__)
GNU_PROPERTY_NOTE
#endif
