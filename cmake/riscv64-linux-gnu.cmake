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

# -L: where qemu finds the RISC-V dynamic loader and libraries.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-riscv64 -L /usr/riscv64-linux-gnu)

set(CMAKE_FIND_ROOT_PATH /usr/riscv64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)    # libraries must be RISC-V
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)    # doctest is header-only
