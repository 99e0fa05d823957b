/*
 * asm/riscv64/return_42.S: the smallest function worth calling from C++.
 *
 *   extern "C" int cfs_return_42(void);
 *
 * The RISC-V psABI returns an int in a0 (sign-extended to 64 bits) and the
 * caller's `jal`/`jalr` left the return address in ra; `ret` is `jr ra`.
 * No stack is touched.
 */
#include "../asm_macros.h"

/* [return-42] */
FUNC_BEGIN cfs_return_42
    li      a0, 42                  /* the result register                   */
    ret                             /* back to ra = the caller               */
FUNC_END cfs_return_42
/* [return-42] */

NO_EXEC_STACK
