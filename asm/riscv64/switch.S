/*
 * asm/riscv64/switch.S: the context switch for RISC-V 64 (RV64GC, the
 * LP64D ABI of Linux), ELF only: there is no Mach-O for RISC-V. It still
 * goes through asm/asm_macros.h, like the other two architectures.
 *
 * C view (chapters/01-raw-switch/switch.h), the same as everywhere:
 *
 *   void* cfs_switch(void** save_sp, void* to_sp, void* arg);
 *   void* cfs_prepare(void* stack_top, void (*entry)(void*));
 *
 * The idea does not change with the ISA: push the callee-saved registers on
 * the current stack, store sp, load the other side's sp, pop its registers.
 *
 * Which registers, argued against the RISC-V psABI's register convention
 * (riscv-cc.adoc; notes/riscv64.md has the whole table):
 *   x0  zero      hard-wired zero                 nothing to save
 *   x1  ra        return address                  not preserved by a call, but
 *                                                 SAVED: it is where this side
 *                                                 resumes (like AArch64's x30)
 *   x2  sp        stack pointer                   SAVED, into *save_sp
 *   x3  gp        global pointer                  "unallocatable": one value
 *   x4  tp        thread pointer                  for the whole program (gp,
 *                                                 for linker relaxation) or
 *                                                 thread (tp: TLS). The psABI
 *                                                 says procedures must not
 *                                                 change them; a switch between
 *                                                 two contexts of one thread
 *                                                 leaves them alone
 *   x5-x7 t0-t2, x28-x31 t3-t6  temporaries       caller-saved: free
 *   x10-x17 a0-a7 arguments, results              caller-saved: a0 = save_sp,
 *                                                 a1 = to_sp, a2 = arg
 *   x8  s0/fp     callee-saved, the frame pointer SAVED
 *   x9, x18-x27   s1, s2-s11: callee-saved        SAVED (11 registers)
 *   f8-f9, f18-f27  fs0-fs11: callee-saved        SAVED, all 64 bits (fsd/fld):
 *                                                 with the D extension the
 *                                                 LP64D ABI keeps values up to
 *                                                 64 bits in them (its FLEN)
 *   f0-f7, f10-f17, f28-f31  ft*, fa*             caller-saved
 *   fcsr (frm rounding mode, fflags)              NOT saved: the psABI gives
 *                                                 fcsr "thread storage
 *                                                 duration" (C11's fenv), so
 *                                                 it belongs to the thread,
 *                                                 shared by all its contexts,
 *                                                 like AArch64's FPCR. (x86-64
 *                                                 differs: its ABI makes the
 *                                                 MXCSR/x87 control callee-
 *                                                 saved. glibc's swapcontext
 *                                                 carries fcsr anyway, as it
 *                                                 carries FPCR on AArch64.)
 *   v0-v31, vl, vtype, vcsr (V extension)         not preserved across calls
 *                                                 in the standard convention
 *
 * 12 + 12 + ra = 25 slots of 8 bytes; one more slot, unused, makes 208, a
 * multiple of 16: the psABI wants sp 16-aligned at every call and, in the
 * standard ABI, throughout. Only the LP64D ABI is supported: with LP64
 * (soft float) the fs registers are plain temporaries and this frame would
 * be wrong, so the file refuses to assemble for it (below).
 *
 * [frame]
 * The saved frame, at the saved sp (lower addresses at the bottom):
 *
 *        +------------------+  <- sp before cfs_switch pushed (16-aligned)
 *   +200 | ra               |     where this side resumes: after its call
 *   +192 | s0 (fp)          |     (ra, fp at CFA-8, CFA-16: the psABI's
 *   +184 | (unused)         |      frame record, as compiled code lays it)
 *   +176 | s11              |
 *   +168 | s10              |
 *    ... | ...              |
 *   +104 | s2               |
 *    +96 | s1               |
 *    +88 | fs11             |
 *    ... | ...              |
 *     +8 | fs1              |
 *     +0 | fs0              |  <- saved sp: the value stored in *save_sp
 *        +------------------+
 * [frame]
 *
 * Both sides of a switch have this same frame, so the unwind info (.cfi_*)
 * is right before and after sp moves: a debugger stopped anywhere in
 * cfs_switch sees the frame of whichever stack sp points at.
 *
 * Compressed instructions: for RV64GC (Debian's default) the assembler
 * may encode `ld`, `sd`, `mv`, `ret` and the like in 2 bytes (the C
 * extension) instead of 4; this repository's build asks for RV64G, so that
 * lldb 14 can disassemble it (cmake/riscv64-linux-gnu.cmake). Nothing here
 * depends on an instruction's size except the nop of cfs_trampoline, which
 * is kept at 4 bytes on purpose (see there).
 */
#include "../asm_macros.h"

#if !defined(__riscv_float_abi_double)
#error "asm/riscv64/switch.S: only the LP64D ABI (hardware double floats) is supported"
#endif

/*
 * SWITCH name, use_jr, mark: one switch. use_jr = 0 returns with `ret`;
 * 1 loads the return address into t2 and jumps with `jr t2`. Same
 * registers, same frame; only the return differs, and so does how the CPU
 * predicts it. RISC-V puts the prediction hint in the register numbers: a
 * `jalr` with rd = x0 and rs1 = ra (x1) or t0 (x5) is a return, which pops
 * the return-address stack, and that stack predicts the caller of *this*
 * side's cfs_switch: always wrong after a switch. With rs1 = t2 (x7) it is
 * an ordinary indirect jump, predicted by the indirect-branch predictor.
 * (t0 would not do: x5 is the psABI's alternate link register, so `jr t0`
 * also counts as a return. t2 rather than t1: x7 is the register of
 * "software-guarded" jumps in the Zicfilp extension, which need no landing
 * pad at their target, so this return would survive Zicfilp where AArch64's
 * `br x30` cannot survive BTI; notes/riscv64.md says more.) cfs_switch is
 * the one we keep; cfs_switch_jr exists for the benchmark, as cfs_switch_br
 * does on AArch64.
 * mark = 1 puts the label cfs_switch_new_stack right after the switch.
 */
.macro SWITCH name, use_jr, mark
FUNC_BEGIN \name
/* [save] */
    /* a0 = save_sp, a1 = to_sp, a2 = arg, ra = our return address        */
    addi    sp, sp, -208            /* open the frame: 26 slots below sp     */
    .cfi_def_cfa_offset 208
    fsd     fs0,  0(sp)             /* [sp+0]   = fs0                        */
    fsd     fs1,  8(sp)             /* [sp+8]   = fs1                        */
    fsd     fs2,  16(sp)            /* [sp+16]  = fs2                        */
    fsd     fs3,  24(sp)            /* [sp+24]  = fs3                        */
    fsd     fs4,  32(sp)            /* [sp+32]  = fs4                        */
    fsd     fs5,  40(sp)            /* [sp+40]  = fs5                        */
    fsd     fs6,  48(sp)            /* [sp+48]  = fs6                        */
    fsd     fs7,  56(sp)            /* [sp+56]  = fs7                        */
    fsd     fs8,  64(sp)            /* [sp+64]  = fs8                        */
    fsd     fs9,  72(sp)            /* [sp+72]  = fs9                        */
    fsd     fs10, 80(sp)            /* [sp+80]  = fs10                       */
    fsd     fs11, 88(sp)            /* [sp+88]  = fs11                       */
    sd      s1,  96(sp)             /* [sp+96]  = s1                         */
    sd      s2,  104(sp)            /* [sp+104] = s2                         */
    sd      s3,  112(sp)            /* [sp+112] = s3                         */
    sd      s4,  120(sp)            /* [sp+120] = s4                         */
    sd      s5,  128(sp)            /* [sp+128] = s5                         */
    sd      s6,  136(sp)            /* [sp+136] = s6                         */
    sd      s7,  144(sp)            /* [sp+144] = s7                         */
    sd      s8,  152(sp)            /* [sp+152] = s8                         */
    sd      s9,  160(sp)            /* [sp+160] = s9                         */
    sd      s10, 168(sp)            /* [sp+168] = s10                        */
    sd      s11, 176(sp)            /* [sp+176] = s11; [sp+184] stays unused */
    sd      s0,  192(sp)            /* [sp+192] = s0 (fp)                    */
    sd      ra,  200(sp)            /* [sp+200] = ra                         */
/* [save] */
    .cfi_offset ra, -8              /* CFA = sp+208; ra at CFA-8             */
    .cfi_offset s0, -16             /*               fp at CFA-16            */
    .cfi_offset s1, -112
    .cfi_offset s2, -104
    .cfi_offset s3, -96
    .cfi_offset s4, -88
    .cfi_offset s5, -80
    .cfi_offset s6, -72
    .cfi_offset s7, -64
    .cfi_offset s8, -56
    .cfi_offset s9, -48
    .cfi_offset s10, -40
    .cfi_offset s11, -32
    .cfi_offset fs0, -208
    .cfi_offset fs1, -200
    .cfi_offset fs2, -192
    .cfi_offset fs3, -184
    .cfi_offset fs4, -176
    .cfi_offset fs5, -168
    .cfi_offset fs6, -160
    .cfi_offset fs7, -152
    .cfi_offset fs8, -144
    .cfi_offset fs9, -136
    .cfi_offset fs10, -128
    .cfi_offset fs11, -120
/* [swap] */
    sd      sp, 0(a0)               /* *save_sp = sp: this side is suspended */
                                    /* (sp is an ordinary register here, x2: */
                                    /* no copy through a scratch register)   */
    mv      sp, a1                  /* THE SWITCH: sp = the other side's     */
                                    /* saved sp; from here on we are on its  */
                                    /* stack, looking at its saved frame     */
.if \mark
LABEL cfs_switch_new_stack          /* a breakpoint target for walk-throughs */
.endif
/* [swap] */
/* [restore] */
    fld     fs0,  0(sp)             /* pop the other side's registers,       */
    fld     fs1,  8(sp)             /* slot for slot the same layout         */
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
.if \use_jr
    ld      t2,  200(sp)            /* t2 = where the other side resumes     */
.else
    ld      ra,  200(sp)            /* ra = where the other side resumes     */
.endif
    addi    sp, sp, 208             /* close its frame: sp is back to what   */
    .cfi_def_cfa_offset 0           /* it was before *its* cfs_switch call   */
.if \use_jr
    .cfi_register ra, t2            /* the return address is in t2 now       */
.else
    .cfi_restore ra                 /* every register is back in itself     */
.endif
    .cfi_restore s0
    .cfi_restore s1
    .cfi_restore s2
    .cfi_restore s3
    .cfi_restore s4
    .cfi_restore s5
    .cfi_restore s6
    .cfi_restore s7
    .cfi_restore s8
    .cfi_restore s9
    .cfi_restore s10
    .cfi_restore s11
    .cfi_restore fs0
    .cfi_restore fs1
    .cfi_restore fs2
    .cfi_restore fs3
    .cfi_restore fs4
    .cfi_restore fs5
    .cfi_restore fs6
    .cfi_restore fs7
    .cfi_restore fs8
    .cfi_restore fs9
    .cfi_restore fs10
    .cfi_restore fs11
    mv      a0, a2                  /* its cfs_switch "returns" our arg      */
.if \use_jr
    jr      t2                      /* jump to t2 (indirect-branch predict)  */
.else
    ret                             /* jr ra: a return (return-stack predict)*/
.endif
/* [restore] */
FUNC_END \name
.endm

/* The switch every chapter uses. It returns with `ret`, as on AArch64. */
SWITCH cfs_switch, 0, 1

/* The same switch returning with `jr t2`: kept only for the benchmark. */
SWITCH cfs_switch_jr, 1, 0

/*
 * void* cfs_prepare(void* stack_top, void (*entry)(void*))
 *
 * Builds, at the top of a fresh stack, a saved frame that looks as if some
 * code had called cfs_switch there: all registers zero (an all-zero fs
 * slot is +0.0), except
 *   s1 slot = entry             (the trampoline calls it)
 *   ra slot = cfs_trampoline+4  (cfs_switch "returns" there: one
 *                                instruction in, see cfs_trampoline)
 *   s0 slot = 0                 (the frame-pointer chain ends here)
 * and returns the sp to hand to cfs_switch. After cfs_switch pops this
 * frame, sp == stack_top rounded down to 16: aligned, as the psABI requires.
 *
 * [prepare-picture]
 *   stack_top & ~15 -> +------------------------+
 *              +200   | cfs_trampoline+4  (ra) |
 *              +192   | 0                 (s0) |
 *              +104.. | 0  (s2-s11, unused)    |
 *              +96    | entry             (s1) |
 *              +0..   | 0  (fs0-fs11)          |
 *   returned sp ----> +------------------------+
 * [prepare-picture]
 */
/* [prepare] */
FUNC_BEGIN cfs_prepare
    andi    a0, a0, -16             /* round the top down to 16 bytes        */
    addi    a0, a0, -208            /* room for one saved frame              */
    sd      zero, 0(a0)             /* fs0 = +0.0                            */
    sd      zero, 8(a0)             /* fs1                                   */
    sd      zero, 16(a0)            /* fs2                                   */
    sd      zero, 24(a0)            /* fs3                                   */
    sd      zero, 32(a0)            /* fs4                                   */
    sd      zero, 40(a0)            /* fs5                                   */
    sd      zero, 48(a0)            /* fs6                                   */
    sd      zero, 56(a0)            /* fs7                                   */
    sd      zero, 64(a0)            /* fs8                                   */
    sd      zero, 72(a0)            /* fs9                                   */
    sd      zero, 80(a0)            /* fs10                                  */
    sd      zero, 88(a0)            /* fs11                                  */
    sd      a1,   96(a0)            /* s1 = entry                            */
    sd      zero, 104(a0)           /* s2                                    */
    sd      zero, 112(a0)           /* s3                                    */
    sd      zero, 120(a0)           /* s4                                    */
    sd      zero, 128(a0)           /* s5                                    */
    sd      zero, 136(a0)           /* s6                                    */
    sd      zero, 144(a0)           /* s7                                    */
    sd      zero, 152(a0)           /* s8                                    */
    sd      zero, 160(a0)           /* s9                                    */
    sd      zero, 168(a0)           /* s10                                   */
    sd      zero, 176(a0)           /* s11                                   */
    sd      zero, 184(a0)           /* the unused slot                       */
    sd      zero, 192(a0)           /* s0 = 0: the frame chain ends here     */
    lla     t0, LOCAL(trampoline)   /* pc-relative: auipc + addi             */
    sd      t0,   200(a0)           /* ra = cfs_trampoline+4                 */
    ret                             /* a0 = the sp to switch to              */
FUNC_END cfs_prepare
/* [prepare] */

/*
 * cfs_trampoline: the first code that runs on a fresh stack.
 *
 * On arrival (from cfs_switch's ret): sp = stack top (16-aligned),
 * a0 = the arg passed to that cfs_switch, s1 = entry, s0 = 0.
 * It calls entry(arg). An entry function must never return (it has no
 * caller to return to); if it does, we call cfs_entry_returned(sp), which
 * prints a message and aborts, instead of running off the top of the stack.
 *
 * Why the nop: the forged frame's return address is LOCAL(trampoline), one
 * instruction into the function, not its first byte. Debuggers and
 * unwinders look up a caller's frame at return address - 1, because a
 * return address normally points just past a call. Were the label on the
 * first byte, return address - 1 would lie before cfs_trampoline, outside
 * its symbol and its unwind info, and backtraces taken during the first
 * switch into this stack would show a nameless frame. The nop plays the
 * call's part: it is never executed, and return address - 1 falls on it,
 * inside cfs_trampoline, where .cfi_undefined ra ends the backtrace.
 * `.option norvc` keeps it a 4-byte nop: the assembler would otherwise
 * write the 2-byte c.nop, and tests (probe.h's kTrampolineNopBytes) and
 * walk-throughs expect the same offset whatever -march says.
 */
/* [trampoline] */
FUNC_BEGIN cfs_trampoline
    .cfi_undefined ra               /* no caller: unwinders stop here        */
    .option push
    .option norvc                   /* a 4-byte nop, not c.nop (see above)   */
    nop                             /* never runs; see "Why the nop" above   */
    .option pop
LOCAL(trampoline):                  /* the forged return address points here */
    jalr    s1                      /* entry(arg); ra = the next line        */
    mv      a0, sp                  /* entry returned: report which stack    */
    call    SYM(cfs_entry_returned) /* prints and aborts; never returns      */
    unimp                           /* unreachable: trap if it ever is       */
FUNC_END cfs_trampoline
/* [trampoline] */

NO_EXEC_STACK
