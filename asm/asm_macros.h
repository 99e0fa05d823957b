/*
 * asm_macros.h: the few lines that let one assembly source per architecture
 * assemble both as ELF (Linux) and as Mach-O (macOS).
 *
 * The differences we hide:
 *   - Mach-O prefixes every C symbol with an underscore: C's `cfs_switch`
 *     is `_cfs_switch` in the object file. ELF uses the name as written.
 *   - ELF wants `.type name, %function` and `.size name, .-name` so that
 *     debuggers and `nm` know where a function starts and ends; Mach-O has
 *     neither directive.
 *   - ELF objects must say their stack need not be executable
 *     (`.note.GNU-stack`), or the linker warns and marks the stack executable.
 *
 * Everything else (instructions, `.cfi_*` unwind directives, `.p2align`,
 * GAS `.macro`) is accepted by GNU as and by clang's integrated assembler on
 * both formats.
 *
 * Why not C macros with `;` between statements? On Apple's arm64 assembler
 * `;` starts a comment, so a multi-statement C macro would silently lose
 * everything after its first statement. GAS `.macro` has no such trap.
 */
#ifndef CFS_ASM_MACROS_H
#define CFS_ASM_MACROS_H

#if defined(__APPLE__)
#define SYM(name) _##name  /* C name -> Mach-O symbol                    */
#define LOCAL(name) L##name /* file-local label (not in the symbol table) */
#else
#define SYM(name) name       /* C name -> ELF symbol                       */
#define LOCAL(name) .L##name /* file-local label (not in the symbol table) */
#endif

/* FUNC_BEGIN name: a global, 16-byte aligned function with unwind info. */
.macro FUNC_BEGIN name
    .text
    .p2align 4
#if defined(__APPLE__)
    .globl _\name
_\name:
#else
    .globl \name
    .type \name, %function
\name:
#endif
    .cfi_startproc
.endm

/* FUNC_END name: closes the unwind info (and, on ELF, records the size). */
.macro FUNC_END name
    .cfi_endproc
#if !defined(__APPLE__)
    .size \name, . - \name
#endif
.endm

/* LABEL name: a global label inside a function, for debugger breakpoints. */
.macro LABEL name
#if defined(__APPLE__)
    .globl _\name
_\name:
#else
    .globl \name
\name:
#endif
.endm

/* NO_EXEC_STACK: ELF only; see the header comment. */
#if defined(__APPLE__)
#define NO_EXEC_STACK
#else
#define NO_EXEC_STACK .section .note.GNU-stack, "", %progbits
#endif

/*
 * AArch64 branch protection, for code built with -mbranch-protection=bti,
 * =pac-ret or =standard (both). The compiler says what was asked for, in
 * the preprocessor, for .S files too:
 *   __ARM_FEATURE_BTI_DEFAULT == 1  landing pads wanted (Armv8.5 BTI)
 *   __ARM_FEATURE_PAC_DEFAULT != 0  return addresses signed (Armv8.3 PAC)
 * Nothing here is needed on x86-64; asm/x86_64/switch.S says what Intel's
 * CET would need instead.
 *
 * BTI_C: a landing pad for calls through a pointer (`blr`). Where BTI is
 *   enforced, an indirect branch into a guarded page must land on one, or
 *   the process dies of SIGILL. Spelled `hint #34`, the encoding of `bti c`,
 *   so that every assembler takes it whatever architecture level it
 *   targets; a core without BTI runs it as a nop. Empty without BTI.
 *
 * GNU_PROPERTY_NOTE: the ELF note (.note.gnu.property, a
 *   GNU_PROPERTY_AARCH64_FEATURE_1_AND property) saying that this object is
 *   BTI-ready (bit 0) and built for pac-ret (bit 1). The compiler writes it
 *   into the objects it compiles, but not into assembled .S files: we must.
 *   The linker ANDs the notes of all its inputs, and Linux guards a
 *   program's pages with BTI only if the result still has bit 0, so one
 *   object without the note turns BTI off for the whole program. Put it in
 *   a file only if every function in it that can be reached by an indirect
 *   branch has its landing pad. Mach-O has no such note, so it is empty on
 *   Apple platforms (arm64e, Apple's ABI with pointer authentication built
 *   in, is out of scope here).
 */
#if defined(__aarch64__)
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT == 1
#define CFS_FEATURE_BTI 1 /* GNU_PROPERTY_AARCH64_FEATURE_1_BTI */
#else
#define CFS_FEATURE_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT != 0
#define CFS_FEATURE_PAC 2 /* GNU_PROPERTY_AARCH64_FEATURE_1_PAC */
#else
#define CFS_FEATURE_PAC 0
#endif

.macro BTI_C
#if CFS_FEATURE_BTI
    hint    #34                     /* bti c: calls through a pointer land here */
#endif
.endm

.macro GNU_PROPERTY_NOTE
#if !defined(__APPLE__) && (CFS_FEATURE_BTI || CFS_FEATURE_PAC)
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .long   4                       /* n_namesz: "GNU" and its NUL           */
    .long   16                      /* n_descsz: one property, 8-aligned     */
    .long   5                       /* n_type: NT_GNU_PROPERTY_TYPE_0        */
    .asciz  "GNU"                   /* n_name                                */
    .long   0xc0000000              /* pr_type: ..._AARCH64_FEATURE_1_AND    */
    .long   4                       /* pr_datasz: one 4-byte word            */
    .long   CFS_FEATURE_BTI | CFS_FEATURE_PAC  /* pr_data                    */
    .long   0                       /* padding to 8 bytes                    */
    .popsection
#endif
.endm
#endif /* __aarch64__ */

#endif /* CFS_ASM_MACROS_H */
