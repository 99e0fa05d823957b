/*
 * exercises/riscv64-port/switch.S: YOUR CODE (exercise 10 of chapter 01,
 * the capstone): chapter 01's context switch for a third ISA, RISC-V 64
 * (RV64G, the LP64D ABI of Linux).
 *
 *   void* cfs_switch(void** save_sp, void* to_sp, void* arg);
 *   void* cfs_switch_jr(void** save_sp, void* to_sp, void* arg);
 *   void* cfs_prepare(void* stack_top, void (*entry)(void*));
 *   void  cfs_trampoline(void);
 *
 * The same contract as asm/aarch64/switch.S and asm/x86_64/switch.S (read
 * them first: the AArch64 one is the closest relative). In this build your
 * file replaces asm/riscv64/switch.S: chapter 01's own tests and the tests
 * beside this file run against it, under qemu-riscv64:
 *
 *   make exercise-01 EX=riscv64-port ARCH=riscv64
 *
 * Until you have written it, cfs_switch switches nothing (it returns its
 * arg on the spot) and cfs_prepare lays out nothing: the tests fail, and
 * none of them crashes. Hints, and what to read: README.md, beside this
 * file.
 *
 * --- Step 1: the register table (write it before any code) ---------------
 *
 * For every register of the RISC-V psABI's integer and floating-point
 * tables, and for fcsr: does a switch save it, leave it alone, or must it
 * not touch it? Argue each row from the psABI's words, not from another
 * port (they differ: compare what x86-64 does with MXCSR and AArch64 with
 * FPCR).
 *
 *   x0  zero      TODO
 *   x1  ra        TODO
 *   x2  sp        TODO
 *   x3  gp        TODO
 *   x4  tp        TODO
 *   t0-t6         TODO
 *   a0-a7         TODO
 *   s0/fp         TODO
 *   s1-s11        TODO
 *   fs0-fs11      TODO (how many bits of them, under LP64D?)
 *   ft*, fa*      TODO
 *   fcsr          TODO
 *
 * --- Step 2: the saved frame ----------------------------------------------
 *
 * Draw it here: which slot holds which register, at which offset from the
 * saved sp. Its size must keep sp 16-byte aligned. Put ra and s0 in the
 * two top slots, ra above s0, where compiled code keeps its frame record
 * (the debugger commands of chapter 02 read them there). The tests expect
 * the frame to be 208 bytes (26 slots of 8) with ra at +200 and s0 at
 * +192, and cfs_prepare's entry function in the s1 slot: tests/ reads
 * those through probe.h (kSavedFrameBytes, kReturnAddressSlot,
 * kFramePointerSlot).
 *
 *        +------------------+  <- sp before cfs_switch (16-aligned)
 *   +200 | ra               |
 *   +192 | s0 (fp)          |
 *    ... | TODO             |
 *     +0 | TODO             |  <- saved sp: the value stored in *save_sp
 *        +------------------+
 */
#include "../../../../asm/asm_macros.h"

#if !defined(__riscv_float_abi_double)
#error "the RISC-V port is for the LP64D ABI (hardware double floats) only"
#endif

/*
 * SWITCH name, use_jr: one switch. cfs_switch returns with `ret` (jalr
 * through ra: predicted as a return); cfs_switch_jr, for the benchmark,
 * loads the return address into another register and jumps through it,
 * an ordinary indirect jump. Which registers make a jalr count as a
 * return? The psABI says; pick one that does not. Same frame.
 */
.macro SWITCH name, use_jr
FUNC_BEGIN \name
    /* a0 = save_sp, a1 = to_sp, a2 = arg, ra = our return address        */
    /* TODO: open the frame and save every callee-saved register in it    */
    /* TODO: *save_sp = sp; sp = to_sp (THE switch)                       */
    /* TODO: restore the other side's registers from its frame, close it  */
    mv      a0, a2                  /* its cfs_switch "returns" our arg      */
    ret                             /* TODO: when \use_jr is 1, jump instead */
FUNC_END \name
.endm

SWITCH cfs_switch, 0
SWITCH cfs_switch_jr, 1

/*
 * void* cfs_prepare(void* stack_top, void (*entry)(void*))
 *
 * A first saved frame at the top of a fresh stack, as if cfs_switch had
 * been called there: every slot 0, except s1 = entry, ra = the address
 * just past the nop at the start of cfs_trampoline (one 4-byte
 * instruction in), s0 = 0 (the frame-pointer chain ends there). Returns
 * the sp to switch to.
 */
FUNC_BEGIN cfs_prepare
    andi    a0, a0, -16             /* round the top down to 16 bytes        */
    addi    a0, a0, -208            /* room for one saved frame              */
    /* TODO: fill its 26 slots (`zero` is a register that reads as 0)     */
    ret                             /* a0 = the sp to switch to              */
FUNC_END cfs_prepare

/*
 * cfs_trampoline: the first code on a fresh stack, reached by cfs_switch's
 * return into the frame cfs_prepare made. It calls entry(arg), and if entry
 * returns, calls cfs_entry_returned(sp) (common/entry_returned.cpp), which
 * aborts with a message. Start it with a nop that never runs (why: the
 * AArch64 file, "Why the nop"), kept at 4 bytes: see `.option norvc`.
 */
FUNC_BEGIN cfs_trampoline
    .cfi_undefined ra               /* no caller: unwinders stop here        */
    /* TODO: the nop, the label cfs_prepare points ra at, the call of      */
    /* entry (in s1) with the switch's arg (in a0), the call of            */
    /* cfs_entry_returned                                                  */
    unimp                           /* traps if it ever runs                 */
FUNC_END cfs_trampoline

NO_EXEC_STACK
