/*
 * asm/x86_64/switch.S: the context switch for x86-64 (System V ABI), for
 * both ELF (Linux) and Mach-O (macOS on Intel). AT&T syntax: `op src, dst`.
 *
 * C view (chapters/01-raw-switch/switch.h), the same as on AArch64:
 *
 *   void* cfs_switch(void** save_sp, void* to_sp, void* arg);
 *   void* cfs_prepare(void* stack_top, void (*entry)(void*));
 *
 * Which registers, argued against the SysV register table
 * (notes/sysv-x86-64.md has the whole table):
 *   rax, rcx, rdx, rsi, rdi, r8-r11   caller-saved (args, results, scratch)
 *   rbx, rbp, r12, r13, r14, r15      callee-saved: SAVED (6 registers)
 *   rsp                               SAVED, into *save_sp
 *   rip                               SAVED for free: `call` pushed it
 *   xmm0-xmm15, ymm/zmm, k0-k7        caller-saved: nothing to do
 *   MXCSR control bits (rounding,     callee-saved per the ABI: SAVED
 *     FTZ/DAZ, exception masks)       (4 bytes; its status flags are not)
 *   x87 control word                  callee-saved per the ABI: SAVED (2 bytes)
 *   x87 status word, RFLAGS           caller-saved (DF must be 0 at a call,
 *                                     and is, on both sides)
 *   fs (thread pointer)               per thread, not per context: untouched
 *
 * MXCSR and the x87 control word: we must carry them (a coroutine that
 * sets a rounding mode must not change it for its resumer), so the switch
 * saves ours (stmxcsr, fnstcw) and loads the other side's (ldmxcsr, fldcw),
 * every time, as Boost.Context does. Which of these is slow depends on the
 * CPU vendor (notes/benchmarks.md has the figures). On the Intel Xeon
 * measured there, the loads are the slow part, and a switch that compares
 * first and loads only when the values differ (almost never) was about
 * 1.4x faster. On the AMD EPYCs measured (Zen 3, Zen 5), stmxcsr itself is
 * the slow part, reading its result back for the comparison stalls on top,
 * and the comparing switch is the slower one, slower than Boost's. Loading
 * always does exactly Boost's FP work, with the same return (`pop; jmp`),
 * so it is not slower than Boost's switch on either vendor. The comparing
 * switch stays, as cfs_switch_fpcmp, so that one benchmark run prices both.
 *
 * [frame]
 * The saved frame, at the saved sp: 64 bytes, counting the return address
 * that the caller's `call` pushed.
 *
 *        +---------------------+  <- rsp before `call cfs_switch`
 *    +56 | return address      |     (pushed by `call`; 16-aligned above it)
 *    +48 | rbp                 |
 *    +40 | rbx                 |
 *    +32 | r12                 |
 *    +24 | r13                 |
 *    +16 | r14                 |
 *     +8 | r15                 |
 *     +4 | x87 CW | (2 unused) |
 *     +0 | MXCSR               |  <- saved sp: the value stored in *save_sp
 *        +---------------------+
 * [frame]
 *
 * The caller's rsp was 16-aligned before its `call`; 64 bytes keep the
 * saved sp 16-aligned too.
 *
 * [cet]
 * Intel CET (control-flow enforcement) is not supported. This file carries
 * no .note.gnu.property with the IBT or SHSTK bit, so the linker marks
 * every program that links it as not CET-ready and the loader leaves CET
 * off for it. What each half of CET would need (notes/sysv-x86-64.md has
 * more):
 *   - Indirect branch tracking (IBT): an `endbr64` as the first
 *     instruction of every function reachable by an indirect call or jump
 *     (cfs_switch, its variants, cfs_prepare), the x86 twin of AArch64's
 *     `bti c`. Our `jmp *%r8` return is itself an indirect jump, and it
 *     lands after a `call`, where there is no endbr64: under IBT it would
 *     have to be `notrack jmp *%r8` (honoured only if the OS allows
 *     no-track jumps) or a `ret`.
 *   - Shadow stacks (SHSTK): every `call` also pushes its return address on
 *     a second, write-protected stack, and every `ret` pops that copy and
 *     faults (#CP) unless it equals the one popped from the ordinary stack.
 *     `pop; jmp` never pops the shadow stack: the entry pushed by the call
 *     to cfs_switch stays on top, and the next `ret` of whatever code runs
 *     after the switch compares its return address with it and faults.
 *     Switching rsp without switching the shadow-stack pointer (SSP) fails
 *     the same way even with `ret`. A shadow-stack-aware switch gives every
 *     context a shadow stack of its own (Linux: map_shadow_stack(2), with a
 *     restore token at the top), saves the SSP in the frame (`rdsspq`),
 *     moves to the other side's shadow stack with `rstorssp` (which checks
 *     and consumes the restore token there), leaves a token on the old one
 *     with `saveprevssp` so it can be switched back to, and returns with a
 *     real `ret`, which pops the matching entry on the other side;
 *     cfs_prepare must get the trampoline's address onto the new shadow
 *     stack, which only a `call` made on it (or the kernel) can write.
 *     glibc's swapcontext and makecontext do all of this when CET is on.
 *     The price: `ret` again, and its mispredictions (notes/benchmarks.md).
 * [cet]
 */
#include "../asm_macros.h"

/* The MXCSR bits a switch must carry: all but the six sticky status flags
 * (bits 0-5). On Intel that is bits 6-15 (the rest reads as 0); AMD also
 * has a writable control bit 17 (MM, misaligned-SSE exception mask). */
#define MXCSR_CONTROL 0xFFFFFFC0

/*
 * SWITCH name, use_jmp, fpu, mark: one switch.
 *   use_jmp = 0 returns with `ret`; 1 pops the address and jumps to it
 *     (`ret` is predicted by the return-stack buffer, which expects the
 *     caller of *this* side's cfs_switch: always wrong after a switch; a
 *     `jmp *reg` goes to the indirect-branch predictor instead).
 *   fpu = 1 saves MXCSR and the x87 control word and loads the other
 *     side's, always (what the ABI asks, the way Boost does it);
 *     fpu = 2 loads them only when the other side's control bits differ
 *     from ours (compare-and-skip: also ABI-correct, faster on Intel,
 *     slower on AMD);
 *     fpu = 0 skips them: NOT ABI-correct, only to measure what they cost.
 *   mark = 1 puts the label cfs_switch_new_stack right after the switch.
 * cfs_switch is the one every chapter uses; the others are for the benchmark.
 */
.macro SWITCH name, use_jmp, fpu, mark
FUNC_BEGIN \name
    /* rdi = save_sp, rsi = to_sp, rdx = arg; [rsp] = our return address  */
    pushq   %rbp                    /* [rsp+48 of the frame] = rbp           */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq   %rbx                    /* +40 = rbx                             */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq   %r12                    /* +32 = r12                             */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq   %r13                    /* +24 = r13                             */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq   %r14                    /* +16 = r14                             */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq   %r15                    /* +8  = r15                             */
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
/* [fpu-swap] */
    subq    $8, %rsp                /* +0: one slot for the FP control state */
    .cfi_adjust_cfa_offset 8
.if \fpu
    stmxcsr (%rsp)                  /* [rsp+0] = MXCSR (4 bytes)             */
    fnstcw  4(%rsp)                 /* [rsp+4] = x87 control word (2 bytes)  */
.endif
.if \fpu == 2
    movl    (%rsp), %r9d            /* keep both in scratch registers, to    */
    andl    $MXCSR_CONTROL, %r9d    /* compare with the other side's below   */
    movzwl  4(%rsp), %r10d          /* (MXCSR: all but the status flags)     */
.endif
    movq    %rsp, (%rdi)            /* *save_sp = rsp: this side is suspended*/
    movq    %rsi, %rsp              /* THE SWITCH: rsp = the other side's    */
                                    /* saved sp, pointing at its saved frame */
.if \mark
LABEL cfs_switch_new_stack          /* a breakpoint target for walk-throughs */
.endif
.if \fpu == 1
    ldmxcsr (%rsp)                  /* its MXCSR back                        */
    fldcw   4(%rsp)                 /* its x87 control word back             */
.endif
.if \fpu == 2
    movl    (%rsp), %ecx            /* the other side's MXCSR control bits   */
    andl    $MXCSR_CONTROL, %ecx    /* the same as ours? and its x87 CW?     */
    cmpl    %ecx, %r9d              /* then loading them would change        */
    jne     1f                      /* nothing that the ABI preserves:       */
    cmpw    4(%rsp), %r10w          /* skip the loads                        */
    je      2f
1:  ldmxcsr (%rsp)                  /* its MXCSR back                        */
    fldcw   4(%rsp)                 /* its x87 control word back             */
2:
.endif
/* [fpu-swap] */
    addq    $8, %rsp                /* drop the FP control slot              */
    .cfi_adjust_cfa_offset -8
    popq    %r15                    /* pop its registers, in reverse order;  */
    .cfi_adjust_cfa_offset -8       /* after each pop, the unwind info says  */
    .cfi_restore %r15               /* the register holds its own value again*/
    popq    %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r14
    popq    %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r13
    popq    %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore %r12
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbx
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore %rbp
/* [return] */
    movq    %rdx, %rax              /* its cfs_switch "returns" our arg      */
.if \use_jmp
    popq    %r8                     /* r8 = its return address (r8 is free)  */
    .cfi_adjust_cfa_offset -8       /* CFA = rsp: the caller's sp, and the   */
    .cfi_register %rip, %r8         /* return address is now in r8           */
    jmpq    *%r8                    /* go there (indirect-branch predicted)  */
.else
    ret                             /* pop rip (return-stack predicted)      */
.endif
/* [return] */
FUNC_END \name
.endm

/* [variants] */
/* The switch every chapter uses: `pop; jmp`, FP control loaded always.
 * See notes/benchmarks.md for both choices. */
SWITCH cfs_switch, 1, 1, 1

/* Variants kept only for the benchmark: */
SWITCH cfs_switch_fpcmp, 1, 2, 0      /* loads MXCSR/x87 CW only if different  */
SWITCH cfs_switch_ret, 0, 1, 0        /* returns with `ret`                    */
SWITCH cfs_switch_nofpu, 1, 0, 0      /* skips MXCSR/x87 CW: NOT ABI-correct   */
/* [variants] */

/*
 * void* cfs_prepare(void* stack_top, void (*entry)(void*))
 *
 * Builds, at the top of a fresh stack, a saved frame as if cfs_switch had
 * been called there: rbx = entry, "return address" = cfs_trampoline+1 (one
 * instruction in, see cfs_trampoline), rbp = 0 (the frame-pointer chain
 * ends here), other registers 0, and the FP control state copied from the
 * caller (a new context starts with the rounding mode of the code that made
 * it). Returns the sp to switch to.
 *
 *   stack_top & ~15 -> +--------------------------+
 *               +56   | cfs_trampoline+1 ("ret") |
 *               +48   | 0                (rbp)   |
 *               +40   | entry            (rbx)   |
 *               +8..  | 0           (r12-r15)    |
 *               +0    | MXCSR | x87 CW           |
 *   returned sp ----> +--------------------------+
 *
 * When cfs_switch has popped all of it, rsp == stack_top & ~15.
 */
FUNC_BEGIN cfs_prepare
    andq    $-16, %rdi              /* round the top down to 16 bytes        */
    leaq    -64(%rdi), %rax         /* room for one saved frame              */
    stmxcsr (%rax)                  /* +0: our MXCSR                         */
    fnstcw  4(%rax)                 /* +4: our x87 control word              */
    movw    $0, 6(%rax)             /* +6: the 2 unused bytes                */
    movq    $0, 8(%rax)             /* r15                                   */
    movq    $0, 16(%rax)            /* r14                                   */
    movq    $0, 24(%rax)            /* r13                                   */
    movq    $0, 32(%rax)            /* r12                                   */
    movq    %rsi, 40(%rax)          /* rbx = entry                           */
    movq    $0, 48(%rax)            /* rbp = 0                               */
    leaq    LOCAL(trampoline)(%rip), %rcx
    movq    %rcx, 56(%rax)          /* where cfs_switch will `return` to:    */
                                    /* cfs_trampoline+1                      */
    ret                             /* rax = the sp to switch to             */
FUNC_END cfs_prepare

/*
 * cfs_trampoline: the first code that runs on a fresh stack.
 *
 * On arrival: rsp = stack top (16-aligned), rax = the arg of that
 * cfs_switch, rbx = entry, rbp = 0. `call` pushes 8 bytes, so entry starts
 * with rsp = 8 mod 16, exactly as after any call. If entry returns, we call
 * cfs_entry_returned(rsp), which prints a message and aborts.
 *
 * The nop before the label: debuggers and unwinders look up a caller's
 * frame at return address - 1 (a return address normally follows a call
 * instruction). The forged return address is LOCAL(trampoline), so
 * return address - 1 is the nop: inside cfs_trampoline's symbol and unwind
 * info, where .cfi_undefined %rip ends the backtrace. Without it, that
 * byte lies before the function, and backtraces taken during the first
 * switch into this stack show a nameless frame. The nop never runs.
 * (The AArch64 file says more.)
 */
FUNC_BEGIN cfs_trampoline
    .cfi_undefined %rip             /* no caller: unwinders stop here        */
    nop                             /* never runs; see above                 */
LOCAL(trampoline):                  /* the forged return address points here */
    movq    %rax, %rdi              /* entry's argument = the switch's arg   */
    callq   *%rbx                   /* entry(arg)                            */
    movq    %rsp, %rdi              /* entry returned: report which stack    */
    callq   SYM(cfs_entry_returned) /* prints and aborts; never returns      */
    ud2                             /* unreachable: trap if it ever is       */
FUNC_END cfs_trampoline

NO_EXEC_STACK
