/*
 * solutions/riscv64-port/switch.S: the reference solution of chapter 01's
 * capstone (the starter is exercises/riscv64-port/switch.S) is the port
 * every build uses, asm/riscv64/switch.S, included here rather than
 * copied, so that the solution the exercise is checked against is the
 * very code `make test-riscv64` tests. Its register table is argued in
 * notes/riscv64.md.
 */
#include "../../../../asm/riscv64/switch.S"
