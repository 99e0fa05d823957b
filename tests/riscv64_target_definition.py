"""tests/riscv64_target_definition.py: the RISC-V 64 registers, for lldb 14
debugging a program under qemu-riscv64's gdb stub.

Why it is needed. lldb 14 (Debian 12's) has no RISC-V ABI plugin: it reads
the register list that qemu sends (target.xml: zero, ra, sp, ..., pc, the
f registers, fcsr), but nothing tells it which of them is the program
counter, the stack pointer, the frame pointer, the return address or an
argument. Connected as it is, it shows pc = 0xffffffffffffffff and every
command that needs a frame fails with "invalid frame". lldb lets a Python
file describe the registers instead, with those roles ("generic"), through
the setting plugin.process.gdb-remote.target-definition-file;
tests/lldb_session.py sets it for riscv64 programs. With it, breakpoints,
`register read pc sp fp ra arg1`, `thread step-inst`, `memory read`, and
backtraces through the unwind info (.eh_frame) work, and so do expressions
that read memory (`expression -- *cfs_live_coroutines`). What still does
not: anything that needs the ABI to call a function in the program, and
disassembling compressed (2-byte) instructions, which lldb 14 cannot do at
all; the riscv64 build leaves them out of our code (-march=rv64g in
cmake/riscv64-linux-gnu.cmake).

The layout is qemu's: general registers 0-31 (x0-x31) then pc (32), 8 bytes
each, which is also the order and size of qemu's `g` packet (264 bytes).
DWARF numbers x0-x31 as 0-31. The f registers are left out: nothing in this
repository's lldb sessions reads them.

Used by lldb, which imports it with its own Python (Debian's lldb 14 needs
PYTHONPATH, see tests/lldb_session.py); lldb calls get_dynamic_setting().
"""
import lldb

# The psABI's names for x0-x31, in order. x8 is both s0 and the frame
# pointer; qemu and gdb call it fp, so do we (s0 is its other name).
GPR_NAMES = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
             "fp", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
             "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
             "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"]

# The roles lldb needs to know, which its ABI plugin would give elsewhere.
GENERIC = {
    "pc": lldb.LLDB_REGNUM_GENERIC_PC,
    "sp": lldb.LLDB_REGNUM_GENERIC_SP,
    "fp": lldb.LLDB_REGNUM_GENERIC_FP,
    "ra": lldb.LLDB_REGNUM_GENERIC_RA,
    "a0": lldb.LLDB_REGNUM_GENERIC_ARG1,
    "a1": lldb.LLDB_REGNUM_GENERIC_ARG2,
    "a2": lldb.LLDB_REGNUM_GENERIC_ARG3,
    "a3": lldb.LLDB_REGNUM_GENERIC_ARG4,
    "a4": lldb.LLDB_REGNUM_GENERIC_ARG5,
    "a5": lldb.LLDB_REGNUM_GENERIC_ARG6,
    "a6": lldb.LLDB_REGNUM_GENERIC_ARG7,
    "a7": lldb.LLDB_REGNUM_GENERIC_ARG8,
}


def _register(name, number, alt_name=None):
    info = {
        "name": name,
        "set": 0,
        "bitsize": 64,
        "offset": 8 * number,  # in the `g` packet
        "encoding": lldb.eEncodingUint,
        "format": lldb.eFormatAddressInfo,  # values shown with their symbol
        "gdb": number,  # qemu's register number, for `p`/`P` packets
    }
    if number < 32:
        info["dwarf"] = number
        info["gcc"] = number
    if alt_name:
        info["alt-name"] = alt_name
    if name in GENERIC:
        info["generic"] = GENERIC[name]
    return info


def get_target_definition():
    registers = [_register(name, number, "s0" if name == "fp" else f"x{number}")
                 for number, name in enumerate(GPR_NAMES)]
    registers.append(_register("pc", 32))
    return {
        "sets": ["General Purpose Registers"],
        "registers": registers,
        "g-packet-size": 8 * len(registers),
        "host-info": {"triple": "riscv64-unknown-linux-gnu",
                      "endian": lldb.eByteOrderLittle, "ptrsize": 8},
    }


def get_dynamic_setting(target, setting_name):
    if setting_name == "gdb-server-target-definition":
        return get_target_definition()
    return None
