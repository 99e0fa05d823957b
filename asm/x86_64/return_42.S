/*
 * asm/x86_64/return_42.S: the smallest function worth calling from C++.
 *
 *   extern "C" int cfs_return_42(void);
 *
 * SysV returns an int in eax; the caller's `call` left the return address
 * at [rsp], and `ret` pops it into rip.
 */
#include "../asm_macros.h"

FUNC_BEGIN cfs_return_42
    movl    $42, %eax               /* the result register                   */
    ret                             /* pop the return address into rip       */
FUNC_END cfs_return_42

NO_EXEC_STACK
