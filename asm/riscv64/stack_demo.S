/*
 * asm/riscv64/stack_demo.S: the stack is "full descending", RISC-V edition.
 *
 *   struct cfs_stack_demo_result {
 *     uintptr_t sp_on_entry;     // +0   sp when we were called
 *     uintptr_t sp_after_push;   // +8   sp after reserving 32 bytes
 *     uint64_t  slot[4];         // +16  [sp+0], [sp+8], [sp+16], [sp+24]
 *     uint64_t  popped_first;    // +48  what the first `ld` loads back
 *     uint64_t  popped_second;   // +56  ... and the second
 *   };
 *   extern "C" void cfs_stack_demo(uint64_t a, uint64_t b,
 *                                  struct cfs_stack_demo_result* out);
 *
 * "Descending": the stack grows towards lower addresses, so pushing means
 * lowering sp first. "Full": sp points at the last used slot, not at a
 * free one. Like AArch64, RISC-V has no push/pop: code lowers sp with
 * `addi` and stores at non-negative offsets from it, one register at a
 * time (no store-pair either). The same layout as the AArch64 warm-up:
 *
 * [picture]
 *   sp_on_entry   -> +-------+
 *         sp + 24    |   b   |
 *         sp + 16    |   a   |
 *         sp + 8     |   0   |
 *         sp + 0     |   0   |
 *   sp_after_push -> +-------+
 * [picture]
 */
#include "../asm_macros.h"

/* [demo] */
FUNC_BEGIN cfs_stack_demo
    /* a0 = a, a1 = b, a2 = out */
    sd      sp, 0(a2)               /* out->sp_on_entry (sp is just x2)      */
    addi    sp, sp, -32             /* reserve 32 bytes: the stack grows down*/
    .cfi_def_cfa_offset 32
    sd      zero, 0(sp)             /* [sp+0] = 0                            */
    sd      zero, 8(sp)             /* [sp+8] = 0                            */
    sd      a0, 16(sp)              /* [sp+16] = a                           */
    sd      a1, 24(sp)              /* [sp+24] = b                           */
    sd      sp, 8(a2)               /* out->sp_after_push                    */
    ld      t0, 0(sp)               /* read the 4 slots back, low to high    */
    sd      t0, 16(a2)              /* out->slot[0]                          */
    ld      t0, 8(sp)
    sd      t0, 24(a2)              /* out->slot[1]                          */
    ld      t0, 16(sp)
    sd      t0, 32(a2)              /* out->slot[2]                          */
    ld      t0, 24(sp)
    sd      t0, 40(a2)              /* out->slot[3]                          */
    ld      t1, 16(sp)              /* "pop": t1 = a, t2 = b                 */
    ld      t2, 24(sp)
    addi    sp, sp, 32              /* release the 32 bytes                  */
    .cfi_def_cfa_offset 0
    sd      t1, 48(a2)              /* out->popped_first                     */
    sd      t2, 56(a2)              /* out->popped_second                    */
    ret
FUNC_END cfs_stack_demo
/* [demo] */

NO_EXEC_STACK
