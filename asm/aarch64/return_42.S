/*
 * asm/aarch64/return_42.S: the smallest function worth calling from C++.
 *
 *   extern "C" int cfs_return_42(void);
 *
 * AAPCS64 returns an int in w0 (the low 32 bits of x0) and the caller's
 * return address arrives in x30; `ret` jumps to x30. No stack is touched.
 */
#include "../asm_macros.h"

/* [return-42] */
FUNC_BEGIN cfs_return_42
    mov     w0, #42                 /* the result register                   */
    ret                             /* back to x30 = the caller              */
FUNC_END cfs_return_42
/* [return-42] */

NO_EXEC_STACK
