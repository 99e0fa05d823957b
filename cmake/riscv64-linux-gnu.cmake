# cmake/riscv64-linux-gnu.cmake: cross-compile for Linux on RISC-V 64
# (RV64GC, the LP64D ABI) with Debian's g++-riscv64-linux-gnu, and run what
# we build under qemu-riscv64 (Debian's qemu-user). As with AArch64, CMake
# knows the emulator, so ctest and doctest's test discovery run the RISC-V
# binaries without any change.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR riscv64)

set(CMAKE_C_COMPILER riscv64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER riscv64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER riscv64-linux-gnu-gcc)

# RV64G, not the compiler's default RV64GC: no compressed (2-byte)
# instructions in our code. lldb 14 (Debian 12's) cannot disassemble them,
# and the walk-throughs and tests/lldb_step_switch.py read our code through
# its disassembler. The C library stays RV64GC; both run on any RV64GC core
# and under qemu. (notes/riscv64.md, "Tools on this port".)
set(CMAKE_C_FLAGS_INIT "-march=rv64g -mabi=lp64d")
set(CMAKE_CXX_FLAGS_INIT "-march=rv64g -mabi=lp64d")
set(CMAKE_ASM_FLAGS_INIT "-march=rv64g -mabi=lp64d")

# -L: where qemu finds the RISC-V dynamic loader and libraries.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-riscv64 -L /usr/riscv64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH /usr/riscv64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)    # libraries must be RISC-V
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)    # doctest is header-only
