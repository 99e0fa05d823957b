/*
 * asm/aarch64/switch.S: the context switch for AArch64 (AAPCS64), for both
 * ELF (Linux) and Mach-O (macOS, Apple Silicon).
 *
 * C view (chapters/01-raw-switch/switch.h):
 *
 *   void* cfs_switch(void** save_sp, void* to_sp, void* arg);
 *   void* cfs_prepare(void* stack_top, void (*entry)(void*));
 *
 * The whole idea: a suspended computation is nothing but its stack plus the
 * registers that a function call promises to keep (the callee-saved set).
 * So to switch we push those registers onto the current stack, remember sp,
 * load the other sp, and pop that side's registers. The pushed block, the
 * "saved frame", always lives on the stack it belongs to: sp never points
 * into heap memory, and a context is a single pointer.
 *
 * Which registers, argued against the AAPCS64 register table
 * (notes/aapcs64.md has the whole table):
 *   x0-x7      arguments/results      caller-saved: the caller of cfs_switch
 *                                     already assumes they are clobbered
 *   x8         indirect result        caller-saved
 *   x9-x15     temporaries            caller-saved
 *   x16-x17    IP0/IP1 (veneers)      caller-saved; the linker may use them
 *   x18        platform register      not ours to touch (Apple reserves it);
 *                                     we neither save nor change it
 *   x19-x28    callee-saved           SAVED (10 registers)
 *   x29 (fp)   frame pointer          SAVED: callee-saved
 *   x30 (lr)   link register          SAVED: it is where we will return to
 *   sp         stack pointer          SAVED, but into *save_sp, not the frame
 *   d8-d15     low 64 bits of v8-v15  SAVED: callee-saved (only the low
 *                                     64 bits; the upper halves and v0-v7,
 *                                     v16-v31 are caller-saved)
 *   NZCV, FPSR flags                  caller-saved (not preserved by calls)
 *   FPCR (rounding, FZ, DN)           a global register in AAPCS64, not
 *                                     callee-saved: only support functions
 *                                     such as fesetround change it
 *
 * 20 slots of 8 bytes = 160 bytes, a multiple of 16, so sp stays 16-byte
 * aligned (AArch64 faults on an sp-relative access with a misaligned sp).
 *
 * [frame]
 * The saved frame, at the saved sp (lower addresses at the bottom):
 *
 *        +------------------+  <- sp before cfs_switch pushed (16-aligned)
 *   +152 | x30 (lr)         |     where this side resumes: after its call
 *   +144 | x29 (fp)         |
 *   +136 | x28              |
 *   +128 | x27              |
 *   +120 | x26              |
 *   +112 | x25              |
 *   +104 | x24              |
 *    +96 | x23              |
 *    +88 | x22              |
 *    +80 | x21              |
 *    +72 | x20              |
 *    +64 | x19              |
 *    +56 | d15              |
 *    +48 | d14              |
 *    +40 | d13              |
 *    +32 | d12              |
 *    +24 | d11              |
 *    +16 | d10              |
 *     +8 | d9               |
 *     +0 | d8               |  <- saved sp: the value stored in *save_sp
 *        +------------------+
 * [frame]
 *
 * Both sides of a switch have this same frame, so the unwind info (.cfi_*)
 * is right before and after sp moves: a debugger stopped anywhere in
 * cfs_switch sees the frame of whichever stack sp points at.
 *
 * [branch-protection]
 * Branch protection. Built with -mbranch-protection=bti or =standard, the
 * functions here that C++ may call through a pointer (cfs_switch,
 * cfs_prepare) start with a BTI landing pad, BTI_C, and the file ends with
 * the GNU property note that says so (both in asm/asm_macros.h). Where BTI
 * is enforced, an indirect branch to code without a pad dies of SIGILL.
 * Every branch a switch makes, and what it needs:
 *   - C++ calls cfs_switch or cfs_prepare through a pointer (`blr`): the
 *     callee's BTI_C;
 *   - cfs_switch's `ret`, into the other side's caller or, the first time,
 *     into cfs_trampoline: nothing, BTI does not check returns;
 *   - cfs_trampoline's `blr x19` into the entry function: the entry
 *     function's own pad, which the compiler gives every function whose
 *     address is taken;
 *   - cfs_switch_br's `br x30`: BTI checks it, and the instruction after a
 *     `bl` in compiled code is no landing pad, so that variant cannot work
 *     under BTI. It is left out when BTI is on: this file would otherwise
 *     claim, in its note, a readiness it does not have.
 * Return-address signing (pac-ret) needs nothing here, though cfs_switch
 * keeps x30 on the stack. It stores x30 unsigned and loads the other
 * side's x30 the same way, and authenticates nothing, so it needs no signed
 * x30 and hands none to anyone. A caller built with pac-ret signs its own
 * return address in its own frame, which a switch leaves as it was (sp
 * comes back to the same value), so the caller's autiasp still matches.
 * Signing the saved x30 as well (paciasp before the save, autiasp after the
 * restore: sp is the same at both) would guard one slot of a frame whose
 * other slots, x19 (which the trampoline calls) among them, and whose very
 * address, the saved sp in ordinary memory, stay unguarded: whoever can
 * overwrite a suspended context owns it anyway. The note sets the PAC bit
 * when pac-ret was asked for, as glibc does for its own assembly
 * (swapcontext, which also stores x30 unsigned, included): the bit says the
 * object was built for a pac-ret program; linkers only combine it, and
 * Linux acts on the BTI bit alone.
 * [branch-protection]
 */
#include "../asm_macros.h"

/*
 * SWITCH name, use_br: one switch. use_br = 0 returns with `ret`, 1 with
 * `br x30`. Same registers, same frame; only the last instruction differs,
 * and so does how the CPU predicts it: `ret` asks the return-address stack,
 * which predicts the caller of *this* side's cfs_switch, always wrong after
 * a switch; `br` asks the indirect-branch predictor. cfs_switch is the one
 * we keep; the other exists for the benchmark (notes/benchmarks.md).
 * mark = 1 puts the label cfs_switch_new_stack right after the switch.
 */
.macro SWITCH name, use_br, mark
FUNC_BEGIN \name
    BTI_C                           /* may be called through a pointer       */
/* [save] */
    /* x0 = save_sp, x1 = to_sp, x2 = arg, x30 = our return address      */
    sub     sp, sp, #160            /* open the frame: 20 slots below sp     */
    .cfi_def_cfa_offset 160
    stp     d8,  d9,  [sp, #0]      /* [sp+0]=d8   [sp+8]=d9                 */
    stp     d10, d11, [sp, #16]     /* [sp+16]=d10 [sp+24]=d11               */
    stp     d12, d13, [sp, #32]     /* [sp+32]=d12 [sp+40]=d13               */
    stp     d14, d15, [sp, #48]     /* [sp+48]=d14 [sp+56]=d15               */
    stp     x19, x20, [sp, #64]     /* [sp+64]=x19 [sp+72]=x20               */
    stp     x21, x22, [sp, #80]     /* [sp+80]=x21 [sp+88]=x22               */
    stp     x23, x24, [sp, #96]     /* [sp+96]=x23 [sp+104]=x24              */
    stp     x25, x26, [sp, #112]    /* [sp+112]=x25 [sp+120]=x26             */
    stp     x27, x28, [sp, #128]    /* [sp+128]=x27 [sp+136]=x28             */
    stp     x29, x30, [sp, #144]    /* [sp+144]=fp [sp+152]=lr               */
/* [save] */
    .cfi_offset x29, -16            /* CFA = sp+160; fp at CFA-16           */
    .cfi_offset x30, -8             /*               lr at CFA-8            */
    .cfi_offset x19, -96
    .cfi_offset x20, -88
    .cfi_offset x21, -80
    .cfi_offset x22, -72
    .cfi_offset x23, -64
    .cfi_offset x24, -56
    .cfi_offset x25, -48
    .cfi_offset x26, -40
    .cfi_offset x27, -32
    .cfi_offset x28, -24
    .cfi_offset d8, -160
    .cfi_offset d9, -152
    .cfi_offset d10, -144
    .cfi_offset d11, -136
    .cfi_offset d12, -128
    .cfi_offset d13, -120
    .cfi_offset d14, -112
    .cfi_offset d15, -104
/* [swap] */
    mov     x9, sp                  /* str cannot store sp itself: copy it   */
    str     x9, [x0]                /* *save_sp = sp: this side is suspended */
    mov     sp, x1                  /* THE SWITCH: sp = the other side's     */
                                    /* saved sp; from here on we are on its  */
                                    /* stack, looking at its saved frame     */
.if \mark
LABEL cfs_switch_new_stack          /* a breakpoint target for walk-throughs */
.endif
/* [swap] */
/* [restore] */
    ldp     d8,  d9,  [sp, #0]      /* pop the other side's registers,       */
    ldp     d10, d11, [sp, #16]     /* slot for slot the same layout         */
    ldp     d12, d13, [sp, #32]
    ldp     d14, d15, [sp, #48]
    ldp     x19, x20, [sp, #64]
    ldp     x21, x22, [sp, #80]
    ldp     x23, x24, [sp, #96]
    ldp     x25, x26, [sp, #112]
    ldp     x27, x28, [sp, #128]
    ldp     x29, x30, [sp, #144]    /* x30 = where the other side resumes    */
    add     sp, sp, #160            /* close its frame: sp is back to what   */
    .cfi_def_cfa_offset 0           /* it was before *its* cfs_switch call   */
    .cfi_restore x29                /* every register is back in itself     */
    .cfi_restore x30
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    mov     x0, x2                  /* its cfs_switch "returns" our arg      */
.if \use_br
    br      x30                     /* jump to x30 (indirect-branch predict) */
.else
    ret                             /* return to x30 (return-stack predict)  */
.endif
/* [restore] */
FUNC_END \name
.endm

/* The switch every chapter uses. It returns with `ret`: see notes/benchmarks.md. */
SWITCH cfs_switch, 0, 1

/* The same switch returning with `br x30`: kept only for the benchmark,
 * and only without BTI, which `br x30` cannot live with (see the top). */
#if !CFS_FEATURE_BTI
SWITCH cfs_switch_br, 1, 0
#endif

/*
 * void* cfs_prepare(void* stack_top, void (*entry)(void*))
 *
 * Builds, at the top of a fresh stack, a saved frame that looks as if some
 * code had called cfs_switch there: all registers zero, except
 *   x19 slot = entry             (the trampoline calls it)
 *   x30 slot = cfs_trampoline+4  (cfs_switch "returns" there: one
 *                                 instruction in, see cfs_trampoline)
 *   x29 slot = 0                 (the frame-pointer chain ends here)
 * and returns the sp to hand to cfs_switch. After cfs_switch pops this
 * frame, sp == stack_top rounded down to 16: aligned, as AAPCS64 requires.
 *
 * [prepare-picture]
 *   stack_top & ~15 -> +------------------------+
 *              +152   | cfs_trampoline+4 (x30) |
 *              +144   | 0                (x29) |
 *              +72..  | 0   (x20-x28)          |
 *              +64    | entry            (x19) |
 *              +0..   | 0   (d8-d15)           |
 *   returned sp ----> +------------------------+
 * [prepare-picture]
 */
/* [prepare] */
FUNC_BEGIN cfs_prepare
    BTI_C                           /* may be called through a pointer       */
    and     x0, x0, #~15            /* round the top down to 16 bytes        */
    sub     x0, x0, #160            /* room for one saved frame              */
    stp     xzr, xzr, [x0, #0]      /* d8, d9 = 0                            */
    stp     xzr, xzr, [x0, #16]     /* d10, d11                              */
    stp     xzr, xzr, [x0, #32]     /* d12, d13                              */
    stp     xzr, xzr, [x0, #48]     /* d14, d15                              */
    stp     x1,  xzr, [x0, #64]     /* x19 = entry, x20 = 0                  */
    stp     xzr, xzr, [x0, #80]     /* x21, x22                              */
    stp     xzr, xzr, [x0, #96]     /* x23, x24                              */
    stp     xzr, xzr, [x0, #112]    /* x25, x26                              */
    stp     xzr, xzr, [x0, #128]    /* x27, x28                              */
    adr     x9, LOCAL(trampoline)   /* pc-relative, resolved by assembler   */
    stp     xzr, x9,  [x0, #144]    /* x29 = 0, x30 = cfs_trampoline+4       */
    ret                             /* x0 = the sp to switch to              */
FUNC_END cfs_prepare
/* [prepare] */

/*
 * cfs_trampoline: the first code that runs on a fresh stack.
 *
 * On arrival (from cfs_switch's ret): sp = stack top (16-aligned),
 * x0 = the arg passed to that cfs_switch, x19 = entry, x29 = 0.
 * It calls entry(arg). An entry function must never return (it has no
 * caller to return to: above it there is nothing but the end of the
 * stack); if it does, we call cfs_entry_returned(sp), which prints a
 * message and aborts, instead of running off the top of the stack.
 *
 * Why the nop: the forged frame's return address is LOCAL(trampoline),
 * one instruction into the function, not its first byte. A debugger or
 * unwinder looks up a caller's frame at return address - 1, because a
 * return address normally points just past a call instruction. Were the
 * label on the first byte, return address - 1 would lie before
 * cfs_trampoline, outside its symbol and its unwind info, and every
 * backtrace taken during the first switch into this stack would show a
 * nameless frame there, or garbage beyond it. The nop plays the call
 * instruction's part: it is never executed, and return address - 1 falls
 * on it, inside cfs_trampoline, where .cfi_undefined x30 ends the
 * backtrace. (Linux's signal-return trampolines carry the same nop for the
 * same reason.) No BTI landing pad is needed at LOCAL(trampoline): only
 * cfs_switch's `ret` goes there, and BTI does not check returns.
 */
/* [trampoline] */
FUNC_BEGIN cfs_trampoline
    .cfi_undefined x30              /* no caller: unwinders stop here        */
    nop                             /* never runs; see "Why the nop" above   */
LOCAL(trampoline):                  /* the forged return address points here */
    blr     x19                     /* entry(arg); x30 = the next line       */
    mov     x0, sp                  /* entry returned: report which stack    */
    bl      SYM(cfs_entry_returned) /* prints and aborts; never returns      */
    brk     #0                      /* unreachable: trap if it ever is       */
FUNC_END cfs_trampoline
/* [trampoline] */

NO_EXEC_STACK
GNU_PROPERTY_NOTE                   /* BTI-ready / pac-ret, when asked for   */
