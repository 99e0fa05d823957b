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

#endif /* CFS_ASM_MACROS_H */
