/*
 * asm/riscv64/probe.S: test helpers that only assembly can write, because
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
 * Loads every callee-saved register with a pattern made from the seed and
 * the register's number (x_n = seed + n for s0-s11, the bits of f_n =
 * seed + 100 + n for fs0-fs11), calls p->fn(p->save_sp, p->to_sp, p->arg),
 * and then checks each register. Returns a bit mask of the registers that
 * came back changed: bits 0-11 = s0..s11, bits 12-23 = fs0..fs11. The
 * caller's own registers are saved first and restored last, so calling the
 * probe is harmless. fcsr is not probed: the switch does not carry it
 * (asm/riscv64/switch.S says why).
 *
 *   void* cfs_test_clobber(void** save_sp, void* to_sp, void* arg);
 * A deliberately broken "switch": overwrites every callee-saved register
 * and returns arg. The probe must report all 24 bits for it; that is how
 * the tests know the probe can fail.
 *
 *   uintptr_t cfs_stack_pointer(void);
 * The caller's sp at the call (RISC-V's `jal`/`jalr` do not touch sp).
 */
#include "../asm_macros.h"

/* The probe's own frame: the caller's 24 callee-saved registers and ra
 * (the switch's layout, slot for slot), then p at +208. 224 bytes. */
#define P_SLOT 208

FUNC_BEGIN cfs_probe_callee_saved
    addi    sp, sp, -224            /* 208: caller's registers; +208: p      */
    .cfi_def_cfa_offset 224
    fsd     fs0,  0(sp)
    fsd     fs1,  8(sp)
    fsd     fs2,  16(sp)
    fsd     fs3,  24(sp)
    fsd     fs4,  32(sp)
    fsd     fs5,  40(sp)
    fsd     fs6,  48(sp)
    fsd     fs7,  56(sp)
    fsd     fs8,  64(sp)
    fsd     fs9,  72(sp)
    fsd     fs10, 80(sp)
    fsd     fs11, 88(sp)
    sd      s1,  96(sp)
    sd      s2,  104(sp)
    sd      s3,  112(sp)
    sd      s4,  120(sp)
    sd      s5,  128(sp)
    sd      s6,  136(sp)
    sd      s7,  144(sp)
    sd      s8,  152(sp)
    sd      s9,  160(sp)
    sd      s10, 168(sp)
    sd      s11, 176(sp)
    sd      s0,  192(sp)
    sd      ra,  200(sp)
    .cfi_offset s0, -32
    .cfi_offset ra, -24
    sd      a0, P_SLOT(sp)          /* [sp+208] = p                          */

    ld      t0, 32(a0)              /* t0 = seed                             */
    addi    s0,  t0, 8              /* the patterns: seed + register number  */
    addi    s1,  t0, 9
    addi    s2,  t0, 18
    addi    s3,  t0, 19
    addi    s4,  t0, 20
    addi    s5,  t0, 21
    addi    s6,  t0, 22
    addi    s7,  t0, 23
    addi    s8,  t0, 24
    addi    s9,  t0, 25
    addi    s10, t0, 26
    addi    s11, t0, 27
.macro SET_F reg, n
    addi    t1, t0, \n              /* t1 = seed + 100 + register number     */
    fmv.d.x \reg, t1                /* its bits, unchanged, into the f reg   */
.endm
    SET_F   fs0,  108
    SET_F   fs1,  109
    SET_F   fs2,  118
    SET_F   fs3,  119
    SET_F   fs4,  120
    SET_F   fs5,  121
    SET_F   fs6,  122
    SET_F   fs7,  123
    SET_F   fs8,  124
    SET_F   fs9,  125
    SET_F   fs10, 126
    SET_F   fs11, 127

    ld      t2, 0(a0)               /* t2 = fn                               */
    ld      a1, 16(a0)              /* to_sp                                 */
    ld      a2, 24(a0)              /* arg                                   */
    ld      a0, 8(a0)               /* save_sp                               */
    jalr    t2                      /* ... the other side runs here ...      */

    ld      t3, P_SLOT(sp)          /* p                                     */
    sd      a0, 40(t3)              /* p->result                             */
    ld      t0, 32(t3)              /* seed                                  */
    li      a0, 0                   /* the mask                              */
.macro CHECK_X reg, n, bit
    addi    t1, t0, \n              /* the pattern it was given              */
    xor     t1, t1, \reg            /* 0 if unchanged                        */
    snez    t1, t1                  /* 1 if changed                          */
    slli    t1, t1, \bit
    or      a0, a0, t1              /* into the mask                         */
.endm
.macro CHECK_F reg, n, bit
    fmv.x.d t2, \reg                /* the f register's bits                 */
    addi    t1, t0, \n
    xor     t1, t1, t2
    snez    t1, t1
    slli    t1, t1, \bit
    or      a0, a0, t1
.endm
    CHECK_X s0,  8,  0
    CHECK_X s1,  9,  1
    CHECK_X s2,  18, 2
    CHECK_X s3,  19, 3
    CHECK_X s4,  20, 4
    CHECK_X s5,  21, 5
    CHECK_X s6,  22, 6
    CHECK_X s7,  23, 7
    CHECK_X s8,  24, 8
    CHECK_X s9,  25, 9
    CHECK_X s10, 26, 10
    CHECK_X s11, 27, 11
    CHECK_F fs0,  108, 12
    CHECK_F fs1,  109, 13
    CHECK_F fs2,  118, 14
    CHECK_F fs3,  119, 15
    CHECK_F fs4,  120, 16
    CHECK_F fs5,  121, 17
    CHECK_F fs6,  122, 18
    CHECK_F fs7,  123, 19
    CHECK_F fs8,  124, 20
    CHECK_F fs9,  125, 21
    CHECK_F fs10, 126, 22
    CHECK_F fs11, 127, 23

    fld     fs0,  0(sp)             /* the caller's registers back           */
    fld     fs1,  8(sp)
    fld     fs2,  16(sp)
    fld     fs3,  24(sp)
    fld     fs4,  32(sp)
    fld     fs5,  40(sp)
    fld     fs6,  48(sp)
    fld     fs7,  56(sp)
    fld     fs8,  64(sp)
    fld     fs9,  72(sp)
    fld     fs10, 80(sp)
    fld     fs11, 88(sp)
    ld      s1,  96(sp)
    ld      s2,  104(sp)
    ld      s3,  112(sp)
    ld      s4,  120(sp)
    ld      s5,  128(sp)
    ld      s6,  136(sp)
    ld      s7,  144(sp)
    ld      s8,  152(sp)
    ld      s9,  160(sp)
    ld      s10, 168(sp)
    ld      s11, 176(sp)
    ld      s0,  192(sp)
    ld      ra,  200(sp)
    addi    sp, sp, 224
    .cfi_def_cfa_offset 0
    .cfi_restore s0
    .cfi_restore ra
    ret
FUNC_END cfs_probe_callee_saved

FUNC_BEGIN cfs_test_clobber
    li      t0, 0xdead
    mv      s0,  t0
    mv      s1,  t0
    mv      s2,  t0
    mv      s3,  t0
    mv      s4,  t0
    mv      s5,  t0
    mv      s6,  t0
    mv      s7,  t0
    mv      s8,  t0
    mv      s9,  t0
    mv      s10, t0
    mv      s11, t0
    fmv.d.x fs0,  t0
    fmv.d.x fs1,  t0
    fmv.d.x fs2,  t0
    fmv.d.x fs3,  t0
    fmv.d.x fs4,  t0
    fmv.d.x fs5,  t0
    fmv.d.x fs6,  t0
    fmv.d.x fs7,  t0
    fmv.d.x fs8,  t0
    fmv.d.x fs9,  t0
    fmv.d.x fs10, t0
    fmv.d.x fs11, t0
    mv      a0, a2                  /* "returns" arg, like a switch would    */
    ret
FUNC_END cfs_test_clobber

FUNC_BEGIN cfs_stack_pointer
    mv      a0, sp                  /* jal left sp as the caller had it      */
    ret
FUNC_END cfs_stack_pointer

NO_EXEC_STACK
