/*
 * asm/aarch64/stack_demo.S: the stack is "full descending".
 *
 *   struct cfs_stack_demo_result {
 *     uintptr_t sp_on_entry;     // +0   sp when we were called
 *     uintptr_t sp_after_push;   // +8   sp after reserving 32 bytes
 *     uint64_t  slot[4];         // +16  [sp+0], [sp+8], [sp+16], [sp+24]
 *     uint64_t  popped_first;    // +48  what `ldp` loads into its 1st reg
 *     uint64_t  popped_second;   // +56  ... and into its 2nd
 *   };
 *   extern "C" void cfs_stack_demo(uint64_t a, uint64_t b,
 *                                  struct cfs_stack_demo_result* out);
 *
 * "Descending": the stack grows towards lower addresses, so pushing means
 * subtracting from sp first. "Full": sp points at the last used slot, not
 * at a free one, so everything at [sp, sp+n) is ours once we subtract n,
 * and nothing at or above the old sp is touched.
 *
 * AArch64 has no push/pop; `stp`/`ldp` store and load a pair of registers
 * at sp plus an offset. What the stack looks like after the stores:
 *
 * [picture]
 *   sp_on_entry   -> +-------+
 *         sp + 24    |   b   |  second register of the pair: higher address
 *         sp + 16    |   a   |  first register: lower address
 *         sp + 8     |   0   |
 *         sp + 0     |   0   |
 *   sp_after_push -> +-------+
 * [picture]
 */
#include "../asm_macros.h"

/* [demo] */
FUNC_BEGIN cfs_stack_demo
    /* x0 = a, x1 = b, x2 = out */
    mov     x9, sp
    str     x9, [x2, #0]            /* out->sp_on_entry                      */
    sub     sp, sp, #32             /* reserve 32 bytes: the stack grows down*/
    .cfi_def_cfa_offset 32
    stp     xzr, xzr, [sp, #0]      /* [sp+0] = 0, [sp+8] = 0                */
    stp     x0, x1, [sp, #16]       /* [sp+16] = a, [sp+24] = b              */
    mov     x9, sp
    str     x9, [x2, #8]            /* out->sp_after_push                    */
    ldp     x10, x11, [sp, #0]      /* read the 4 slots back, low to high    */
    stp     x10, x11, [x2, #16]     /* out->slot[0], slot[1]                 */
    ldp     x10, x11, [sp, #16]
    stp     x10, x11, [x2, #32]     /* out->slot[2], slot[3]                 */
    ldp     x12, x13, [sp, #16]     /* "pop" the pair: x12 = a, x13 = b      */
    add     sp, sp, #32             /* release the 32 bytes                  */
    .cfi_def_cfa_offset 0
    stp     x12, x13, [x2, #48]     /* out->popped_first, popped_second      */
    ret
FUNC_END cfs_stack_demo
/* [demo] */

NO_EXEC_STACK
