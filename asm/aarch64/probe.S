/*
 * asm/aarch64/probe.S: test helpers that only assembly can write, because
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
 * (x_n = seed + n for x19..x29, d_n = seed + 100 + n for d8..d15), calls
 * p->fn(p->save_sp, p->to_sp, p->arg), and then checks each register.
 * Returns a bit mask of the registers that came back changed:
 * bits 0-10 = x19..x29, bits 11-18 = d8..d15. The caller's own registers
 * are saved first and restored last, so calling the probe is harmless.
 *
 *   void* cfs_test_clobber(void** save_sp, void* to_sp, void* arg);
 * A deliberately broken "switch": overwrites every callee-saved register
 * and returns arg. The probe must report all 19 bits for it; that is how
 * the tests know the probe can fail.
 *
 *   uintptr_t cfs_stack_pointer(void);
 * The caller's sp at the call (AArch64's `bl` does not touch sp).
 */
#include "../asm_macros.h"

FUNC_BEGIN cfs_probe_callee_saved
    sub     sp, sp, #176            /* 160: caller's registers; +160: p      */
    .cfi_def_cfa_offset 176
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
    .cfi_offset x29, -32
    .cfi_offset x30, -24
    str     x0, [sp, #160]          /* [sp+160] = p                          */

    ldr     x9, [x0, #32]           /* x9 = seed                             */
    add     x19, x9, #19            /* the patterns                          */
    add     x20, x9, #20
    add     x21, x9, #21
    add     x22, x9, #22
    add     x23, x9, #23
    add     x24, x9, #24
    add     x25, x9, #25
    add     x26, x9, #26
    add     x27, x9, #27
    add     x28, x9, #28
    add     x29, x9, #29
    add     x10, x9, #108
    fmov    d8, x10
    add     x10, x9, #109
    fmov    d9, x10
    add     x10, x9, #110
    fmov    d10, x10
    add     x10, x9, #111
    fmov    d11, x10
    add     x10, x9, #112
    fmov    d12, x10
    add     x10, x9, #113
    fmov    d13, x10
    add     x10, x9, #114
    fmov    d14, x10
    add     x10, x9, #115
    fmov    d15, x10

    ldr     x16, [x0, #0]           /* x16 = fn                              */
    ldr     x1,  [x0, #16]          /* to_sp                                 */
    ldr     x2,  [x0, #24]          /* arg                                   */
    ldr     x0,  [x0, #8]           /* save_sp                               */
    blr     x16                     /* ... the other side runs here ...      */

    ldr     x10, [sp, #160]         /* p                                     */
    str     x0, [x10, #40]          /* p->result                             */
    ldr     x9, [x10, #32]          /* seed                                  */
    mov     x0, #0                  /* the mask                              */
.macro CHECK_X reg, n, bit
    add     x11, x9, #\n
    cmp     \reg, x11
    cset    x12, ne
    orr     x0, x0, x12, lsl #\bit
.endm
.macro CHECK_D reg, n, bit
    fmov    x13, \reg
    add     x11, x9, #\n
    cmp     x13, x11
    cset    x12, ne
    orr     x0, x0, x12, lsl #\bit
.endm
    CHECK_X x19, 19, 0
    CHECK_X x20, 20, 1
    CHECK_X x21, 21, 2
    CHECK_X x22, 22, 3
    CHECK_X x23, 23, 4
    CHECK_X x24, 24, 5
    CHECK_X x25, 25, 6
    CHECK_X x26, 26, 7
    CHECK_X x27, 27, 8
    CHECK_X x28, 28, 9
    CHECK_X x29, 29, 10
    CHECK_D d8,  108, 11
    CHECK_D d9,  109, 12
    CHECK_D d10, 110, 13
    CHECK_D d11, 111, 14
    CHECK_D d12, 112, 15
    CHECK_D d13, 113, 16
    CHECK_D d14, 114, 17
    CHECK_D d15, 115, 18

    ldp     d8,  d9,  [sp, #0]      /* the caller's registers back           */
    ldp     d10, d11, [sp, #16]
    ldp     d12, d13, [sp, #32]
    ldp     d14, d15, [sp, #48]
    ldp     x19, x20, [sp, #64]
    ldp     x21, x22, [sp, #80]
    ldp     x23, x24, [sp, #96]
    ldp     x25, x26, [sp, #112]
    ldp     x27, x28, [sp, #128]
    ldp     x29, x30, [sp, #144]
    add     sp, sp, #176
    .cfi_def_cfa_offset 0
    ret
FUNC_END cfs_probe_callee_saved

FUNC_BEGIN cfs_test_clobber
    mov     x9, #0xdead
    mov     x19, x9
    mov     x20, x9
    mov     x21, x9
    mov     x22, x9
    mov     x23, x9
    mov     x24, x9
    mov     x25, x9
    mov     x26, x9
    mov     x27, x9
    mov     x28, x9
    mov     x29, x9
    fmov    d8, x9
    fmov    d9, x9
    fmov    d10, x9
    fmov    d11, x9
    fmov    d12, x9
    fmov    d13, x9
    fmov    d14, x9
    fmov    d15, x9
    mov     x0, x2                  /* "returns" arg, like a switch would    */
    ret
FUNC_END cfs_test_clobber

FUNC_BEGIN cfs_stack_pointer
    mov     x0, sp                  /* bl left sp as the caller had it       */
    ret
FUNC_END cfs_stack_pointer

NO_EXEC_STACK
