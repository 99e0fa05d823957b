/*
 * asm/x86_64/stack_demo.S: the stack is "full descending", x86-64 edition.
 *
 *   struct cfs_stack_demo_result {
 *     uintptr_t sp_on_entry;     // +0   rsp when we were called
 *     uintptr_t sp_after_push;   // +8   rsp after pushing a, then b
 *     uint64_t  slot[4];         // +16  [rsp+0], [rsp+8], [rsp+16], [rsp+24]
 *     uint64_t  popped_first;    // +48  the first `pop`
 *     uint64_t  popped_second;   // +56  the second `pop`
 *   };
 *   extern "C" void cfs_stack_demo(uint64_t a, uint64_t b,
 *                                  struct cfs_stack_demo_result* out);
 *
 * `push x` is "rsp -= 8; [rsp] = x": descending (towards lower addresses)
 * and full (rsp points at the last value pushed). `pop` undoes it, so the
 * last value pushed is the first popped. After the two pushes:
 *
 *   sp_on_entry + 8 -> | ...caller...   |  slot[3]
 *   sp_on_entry     -> | return address |  slot[2] (pushed by `call`)
 *                      |       a        |  slot[1]
 *   sp_after_push   -> |       b        |  slot[0]
 */
#include "../asm_macros.h"

FUNC_BEGIN cfs_stack_demo
    /* rdi = a, rsi = b, rdx = out */
    movq    %rsp, 0(%rdx)           /* out->sp_on_entry                      */
    pushq   %rdi                    /* rsp -= 8; [rsp] = a                   */
    .cfi_adjust_cfa_offset 8
    pushq   %rsi                    /* rsp -= 8; [rsp] = b                   */
    .cfi_adjust_cfa_offset 8
    movq    %rsp, 8(%rdx)           /* out->sp_after_push                    */
    movq    0(%rsp), %rax           /* read 4 slots back, low to high        */
    movq    %rax, 16(%rdx)
    movq    8(%rsp), %rax
    movq    %rax, 24(%rdx)
    movq    16(%rsp), %rax
    movq    %rax, 32(%rdx)
    movq    24(%rsp), %rax
    movq    %rax, 40(%rdx)
    popq    %rax                    /* last in, first out: rax = b           */
    .cfi_adjust_cfa_offset -8
    movq    %rax, 48(%rdx)          /* out->popped_first                     */
    popq    %rax                    /* rax = a                               */
    .cfi_adjust_cfa_offset -8
    movq    %rax, 56(%rdx)          /* out->popped_second                    */
    ret
FUNC_END cfs_stack_demo

NO_EXEC_STACK
