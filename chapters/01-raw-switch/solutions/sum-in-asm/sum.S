/*
 * solutions/sum-in-asm/sum.S: a reference solution of chapter 01's
 * exercise 9 (the starter is exercises/sum-in-asm/sum.S).
 *
 *   int64_t cfs_ex_sum(const int64_t* values, size_t count);
 *   int64_t cfs_ex_sum_mapped(const int64_t* values, size_t count,
 *                             int64_t (*f)(int64_t));
 *
 * cfs_ex_sum is a leaf: it calls nothing, so it may use any caller-saved
 * register and needs no stack. cfs_ex_sum_mapped calls f, which may
 * change every caller-saved register: its four live values (next value,
 * count left, f, sum) sit in callee-saved registers, saved on entry and
 * restored at the end, and sp is 16-aligned at every call.
 */
#include "../../../../asm/asm_macros.h"

#if defined(__x86_64__)
FUNC_BEGIN cfs_ex_sum
    /* rdi = values, rsi = count                                           */
    xorl    %eax, %eax              /* rax = sum = 0                         */
    testq   %rsi, %rsi              /* nothing to add?                       */
    jz      2f
1:  addq    (%rdi), %rax            /* sum += *values                        */
    addq    $8, %rdi                /* values++ (8 bytes an int64_t)         */
    decq    %rsi                    /* count--                               */
    jnz     1b
2:  ret
FUNC_END cfs_ex_sum

FUNC_BEGIN cfs_ex_sum_mapped
    /* rdi = values, rsi = count, rdx = f; rsp = 8 mod 16 (the return addr)*/
    pushq   %rbx                    /* four callee-saved registers: ours now */
    pushq   %r12
    pushq   %r13
    pushq   %r14                    /* rsp = 8 mod 16 again (5 x 8 bytes)    */
    subq    $8, %rsp                /* rsp = 0 mod 16: aligned for the calls */
    movq    %rdi, %rbx              /* rbx = next value                      */
    movq    %rsi, %r12              /* r12 = count left                      */
    movq    %rdx, %r13              /* r13 = f                               */
    xorl    %r14d, %r14d            /* r14 = sum = 0                         */
    testq   %r12, %r12
    jz      2f
1:  movq    (%rbx), %rdi            /* f's argument: *values                 */
    callq   *%r13                   /* rax = f(*values); may clobber the rest*/
    addq    %rax, %r14              /* sum += it                             */
    addq    $8, %rbx                /* values++                              */
    decq    %r12                    /* count--                               */
    jnz     1b
2:  movq    %r14, %rax              /* the result                            */
    addq    $8, %rsp                /* undo, in reverse order                */
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    ret
FUNC_END cfs_ex_sum_mapped

#elif defined(__aarch64__)
FUNC_BEGIN cfs_ex_sum
    BTI_C                           /* may be called through a pointer       */
    /* x0 = values, x1 = count                                             */
    mov     x9, x0                  /* x9 = values (x0 becomes the sum)      */
    mov     x0, #0                  /* sum = 0                               */
    cbz     x1, 2f                  /* nothing to add?                       */
1:  ldr     x10, [x9], #8           /* x10 = *values, then values++          */
    add     x0, x0, x10             /* sum += it                             */
    subs    x1, x1, #1              /* count--, setting the flags            */
    b.ne    1b
2:  ret
FUNC_END cfs_ex_sum

FUNC_BEGIN cfs_ex_sum_mapped
    BTI_C
    /* x0 = values, x1 = count, x2 = f, x30 = our return address           */
    stp     x29, x30, [sp, #-48]!   /* frame record; blr will overwrite x30  */
    mov     x29, sp                 /* (48 bytes: sp stays 16-aligned)       */
    stp     x19, x20, [sp, #16]     /* four callee-saved registers: ours now */
    stp     x21, x22, [sp, #32]
    mov     x19, x0                 /* x19 = next value                      */
    mov     x20, x1                 /* x20 = count left                      */
    mov     x21, x2                 /* x21 = f                               */
    mov     x22, #0                 /* x22 = sum = 0                         */
    cbz     x20, 2f
1:  ldr     x0, [x19], #8           /* f's argument: *values; values++       */
    blr     x21                     /* x0 = f(it); may clobber x0-x17        */
    add     x22, x22, x0            /* sum += it                             */
    subs    x20, x20, #1            /* count--                               */
    b.ne    1b
2:  mov     x0, x22                 /* the result                            */
    ldp     x21, x22, [sp, #32]     /* undo, in reverse order                */
    ldp     x19, x20, [sp, #16]
    ldp     x29, x30, [sp], #48
    ret
FUNC_END cfs_ex_sum_mapped

#else
#error "this exercise is for x86-64 and AArch64"
#endif

NO_EXEC_STACK
#if defined(__aarch64__)
GNU_PROPERTY_NOTE
#endif
