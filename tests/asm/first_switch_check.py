#!/usr/bin/env python3
"""tests/asm/first_switch_check.py: single-steps the first switch into a fresh
stack in lldb and checks the backtrace after every instruction.

The program is first_switch.cpp: main calls cfs_prepare, then cfs_switch onto
the new stack, where cfs_trampoline calls first_entry. lldb stops main right
after cfs_prepare returns, then steps one instruction at a time, through
main's call of cfs_switch (`bl`, `call` or `jal`), every instruction of cfs_switch
and of cfs_trampoline, up to the first instruction of first_entry. At each
step `bt` must show exactly one of these (innermost frame first):

  pc in main                        main, then the C library's start-up code
  pc in cfs_switch, sp on main's    cfs_switch, main, start-up code
    stack
  pc in cfs_switch, sp on the new   cfs_switch, cfs_trampoline: the frame
    stack                           cfs_prepare forged, whose unwind info
                                    ends the backtrace
  pc in cfs_trampoline              cfs_trampoline
  pc = first_entry                  first_entry, cfs_trampoline

Every frame of the program itself must be named by its function; an address
without a function, or an extra frame below cfs_trampoline, fails. (The
start-up frames above main are the C library's. Natively lldb names them
(__libc_start_call_main, _start, ...); over qemu's gdb stub it does not load
the target's shared libraries, so there they show as bare addresses.)

The new stack's range comes from the program's first line,
`new stack: [lo, hi)`.

Usage (CMake registers it as asm/first-switch-unwind, see CMakeLists.txt):
  python3 first_switch_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program asm_first_switch [--steps N] [--timeout S] [--verbose]
EMU is empty for a native run, else e.g. "qemu-aarch64;-L;/usr/aarch64-linux-gnu"
(or "qemu-riscv64;-L;/usr/riscv64-linux-gnu").
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import lldb_session  # noqa: E402  (tests/lldb_session.py)

HEX = r"0x[0-9a-fA-F]+"
OURS = ("main", "cfs_switch", "cfs_trampoline", "first_entry")
# Enough steps to get from main, through cfs_switch and cfs_trampoline, into
# first_entry on every architecture (about 35 on AArch64, 45 on x86-64, 66 on
# RISC-V 64, which has no load or store pair).
DEFAULT_STEPS = 80


class CheckFailed(Exception):
    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.excerpt = excerpt


def script(steps: int) -> str:
    lines = [
        "settings set stop-disassembly-display never",
        "settings set stop-line-count-before 0",
        "settings set stop-line-count-after 0",
        "breakpoint set --name cfs_prepare --skip-prologue false",
        "continue",
        "thread step-out",  # back in main, right after cfs_prepare returned
        "breakpoint delete --force",
    ]
    lines += [f"image lookup --verbose --symbol {name}" for name in OURS]
    lines += ["register read pc sp", "bt"]
    for _ in range(steps):
        lines += ["thread step-inst", "register read pc sp", "bt"]
    lines += ["continue"]
    return "\n".join(lines) + "\n"


class Frame:
    def __init__(self, line: str):
        m = re.match(rf"^\s*\*?\s*frame #(\d+): ({HEX})(.*)$", line)
        assert m
        self.line = line.strip()
        self.pc = int(m.group(2), 16)
        named = re.match(r"^\s+[^\s`]+`(?:::)?([A-Za-z_]\w*)", m.group(3))
        self.function = named.group(1) if named else None


def frames(bt_output: str) -> list[Frame]:
    return [Frame(line) for line in bt_output.splitlines()
            if re.match(r"^\s*\*?\s*frame #\d+:", line)]


def symbol_range(output: str, name: str) -> tuple[int, int]:
    m = re.search(rf"range = \[({HEX})-({HEX})\)", output)
    if not m:
        raise CheckFailed(f"`image lookup --verbose --symbol {name}` gave no address range", output)
    return int(m.group(1), 16), int(m.group(2), 16)


def check(result: lldb_session.Result, emulated: bool) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", transcript[-3000:])

    m = re.search(rf"new stack: \[({HEX}), ({HEX})\)", result.program_output)
    if not m:
        raise CheckFailed("the program did not print `new stack: [lo, hi)`",
                          "--- program output ---\n" + result.program_output)
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)

    pairs = lldb_session.commands(transcript)
    ranges = {}
    for command, output in pairs:
        for name in OURS:
            if command == f"image lookup --verbose --symbol {name}":
                ranges[name] = symbol_range(output, name)
    if set(ranges) != set(OURS):
        raise CheckFailed(f"lldb did not look up all of {OURS}", transcript[-3000:])

    def function_at(pc: int) -> str | None:
        for name, (start, end) in ranges.items():
            if start <= pc < end:
                return name
        return None

    # The steps: (pc, sp, frames, text), the state before the first step and
    # after each `thread step-inst`.
    steps = []
    registers, text = None, ""
    for command, output in pairs:
        if command == "register read pc sp":
            values = re.findall(rf"^\s*\w+ = ({HEX})", output, re.M)
            if len(values) != 2:
                raise CheckFailed(f"step {len(steps)}: `register read pc sp` failed", output)
            registers = (int(values[0], 16), int(values[1], 16))
            text = f"(lldb) {command}\n{output}"
        elif command == "bt" and registers is not None:
            text += f"(lldb) bt\n{output}"
            steps.append((registers[0], registers[1], frames(output), text))
            registers = None
    if not steps:
        raise CheckFailed("lldb never stopped after cfs_prepare returned", transcript[-3000:])

    entry = ranges["first_entry"][0]
    summary = [f"new stack: [{lo:#x}, {hi:#x})"]
    shapes_seen: dict[str, int] = {}
    previous_function = None
    saw_call = False
    for number, (pc, sp, fs, text) in enumerate(steps):
        where = f"step {number} (pc = {pc:#x}, sp = {sp:#x})"
        if not fs or fs[0].pc != pc:
            raise CheckFailed(f"{where}: `bt` does not start at pc", text)
        on_new_stack = lo <= sp <= hi  # sp == hi: the new stack, empty
        here = function_at(pc)
        if here == "main":
            if on_new_stack:
                raise CheckFailed(f"{where}: main runs on the new stack", text)
            expected, shape = ["main"], "main"
        elif here == "cfs_switch" and not on_new_stack:
            expected, shape = ["cfs_switch", "main"], "cfs_switch on main's stack"
        elif here == "cfs_switch":
            expected, shape = ["cfs_switch", "cfs_trampoline"], "cfs_switch on the new stack"
        elif here == "cfs_trampoline":
            expected, shape = ["cfs_trampoline"], "cfs_trampoline"
        elif pc == entry:
            expected, shape = ["first_entry", "cfs_trampoline"], "first_entry"
        else:
            raise CheckFailed(f"{where}: stepped into code that is not main, cfs_switch, "
                              f"cfs_trampoline or the start of first_entry", text)
        if here == "cfs_switch" and previous_function == "main":
            saw_call = True  # the previous step was main's call instruction

        got = [f.function for f in fs]
        if got[:len(expected)] != expected:
            raise CheckFailed(f"{where}: expected the backtrace to begin {expected}, got "
                              f"{[f.function or f.line for f in fs]}", text)
        rest = fs[len(expected):]
        if expected[-1] == "main":
            # Above main: the C library's start-up code (see the header).
            if len(rest) > 3:
                raise CheckFailed(f"{where}: {len(rest)} frames above main, expected at most 3 "
                                  f"(the C library's start-up code)", text)
            for f in rest:
                if f.function in OURS or (f.function is None and not emulated):
                    raise CheckFailed(f"{where}: a frame above main is not C library "
                                      f"start-up code: {f.line}", text)
        elif rest:
            raise CheckFailed(f"{where}: the backtrace should end at cfs_trampoline, but "
                              f"goes on: {[f.line for f in rest]}", text)
        shapes_seen[shape] = shapes_seen.get(shape, 0) + 1
        previous_function = here
        if pc == entry:
            break
    else:
        raise CheckFailed(f"{len(steps)} steps never reached first_entry ({entry:#x})",
                          steps[-1][3])

    if not saw_call:
        raise CheckFailed("no step went from main's call instruction into cfs_switch",
                          transcript[-3000:])
    for shape in ("cfs_switch on main's stack", "cfs_switch on the new stack", "cfs_trampoline"):
        if shape not in shapes_seen:
            raise CheckFailed(f"no step stopped with pc in {shape}", transcript[-3000:])

    # The program ran to the end by itself.
    m = re.search(r"^Process \d+ exited with status = (-?\d+).*$", transcript, re.M)
    if not m or m.group(1) != "0":
        raise CheckFailed("the program did not exit with status 0 under lldb",
                          m.group(0) if m else transcript[-3000:])
    if result.program_status not in (0, None):
        raise CheckFailed(f"the emulator exited with status {result.program_status}",
                          result.program_output[-1500:])
    if "done:" not in result.program_output:
        raise CheckFailed("the program did not finish",
                          "--- program output ---\n" + result.program_output)

    for shape, count in shapes_seen.items():
        summary.append(f"{count:3d} steps with pc in {shape}: backtrace as expected")
    summary.append("the program ran to the end and exited with status 0")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Single-step the first switch in lldb.")
    parser.add_argument("--lldb", required=True)
    parser.add_argument("--emulator", default="")
    parser.add_argument("--program", required=True)
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    parser.add_argument("--timeout", type=float, default=lldb_session.DEFAULT_TIMEOUT)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    arch = lldb_session.architecture(args.program)
    with tempfile.NamedTemporaryFile("w", suffix=".lldb", prefix="first-switch-") as f:
        f.write(script(args.steps))
        f.flush()
        result = lldb_session.run(args.lldb, args.emulator, args.program, f.name,
                                  batch=True, timeout=args.timeout)
    mode = f"under {args.emulator.split(';')[0]}" if args.emulator else "natively"
    try:
        summary = check(result, bool(args.emulator))
    except CheckFailed as e:
        print(f"FAIL ({arch}, {mode}): {e}\n")
        if e.excerpt:
            print("--- the relevant part of the transcript ---")
            print(e.excerpt.rstrip())
        if args.verbose:
            print("\n--- whole transcript ---")
            print(result.transcript.rstrip())
        print("--- program output ---")
        print(result.program_output.rstrip())
        return 1
    if args.verbose:
        print(result.transcript.rstrip())
        print("--- program output ---")
        print(result.program_output.rstrip())
        print()
    print(f"ok ({arch}, {mode}):")
    for line in summary:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
