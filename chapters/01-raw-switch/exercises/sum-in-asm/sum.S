/*
 * exercises/sum-in-asm/sum.S: YOUR CODE (exercise 9 of chapter 01).
 *
 * Two functions in assembly, one step beyond cfs_return_42:
 *
 *   int64_t cfs_ex_sum(const int64_t* values, size_t count);
 *       the sum of values[0..count): a leaf, a loop, no stack at all.
 *
 *   int64_t cfs_ex_sum_mapped(const int64_t* values, size_t count,
 *                             int64_t (*f)(int64_t));
 *       the sum of f(values[i]), calling f in order. Now you are a caller:
 *       f may change every caller-saved register, so what you need after
 *       the call (where you are in the array, how many are left, f itself,
 *       the sum so far) must live in callee-saved registers, which you then
 *       must save on entry and restore before you return, exactly as
 *       cfs_switch does. And the stack must be 16-byte aligned at each call.
 *
 * Write the part for your architecture (x86-64 first, AArch64 below; `make
 * exercise-01 EX=sum-in-asm ARCH=aarch64` runs the other one under qemu).
 * Until then both functions return 0. Hints: README.md, beside this file.
 */
#include "../../../../asm/asm_macros.h"

#if defined(__x86_64__)
FUNC_BEGIN cfs_ex_sum
    /* rdi = values, rsi = count; the sum goes in rax                      */
    xorl    %eax, %eax              /* TODO: the loop                        */
    ret
FUNC_END cfs_ex_sum

FUNC_BEGIN cfs_ex_sum_mapped
    /* rdi = values, rsi = count, rdx = f; the sum goes in rax             */
    xorl    %eax, %eax              /* TODO: save, loop with calls, restore  */
    ret
FUNC_END cfs_ex_sum_mapped

#elif defined(__aarch64__)
FUNC_BEGIN cfs_ex_sum
    BTI_C                           /* may be called through a pointer       */
    /* x0 = values, x1 = count; the sum goes in x0                         */
    mov     x0, #0                  /* TODO: the loop                        */
    ret
FUNC_END cfs_ex_sum

FUNC_BEGIN cfs_ex_sum_mapped
    BTI_C
    /* x0 = values, x1 = count, x2 = f; the sum goes in x0                 */
    mov     x0, #0                  /* TODO: save, loop with calls, restore  */
    ret
FUNC_END cfs_ex_sum_mapped

#else
#error "this exercise is for x86-64 and AArch64"
#endif

NO_EXEC_STACK
#if defined(__aarch64__)
GNU_PROPERTY_NOTE
#endif
