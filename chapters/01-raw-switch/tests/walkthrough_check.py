#!/usr/bin/env python3
"""chapters/01-raw-switch/tests/walkthrough_check.py: runs walkthrough.lldb
against ch01_demo (natively, or under qemu's gdb stub) and checks that what
lldb showed is what the chapter says happens:

  stop 1, cfs_switch entry, main calling:      sp OUTSIDE the new stack
  stop 2, cfs_switch_new_stack:                sp INSIDE it, equal to the
          to_sp (arg2) of stop 1; the saved frame there is cfs_prepare's, its
          last slot (the return address) = cfs_trampoline's load address
          plus the nop at its start (4 bytes on AArch64 and RISC-V, 1 on x86-64)
  stop 3, cfs_switch entry, coro_body calling: sp INSIDE
  stop 4, cfs_switch_new_stack, switch back:   sp OUTSIDE again, equal to
          the to_sp of stop 3; the last slot of main's saved frame = the
          return address shown at stop 1
  and the program exits by itself with status 0.

The new stack's range comes from the demo's first line, `new stack: [lo, hi)`.

Usage (CMake registers it as chNN/lldb-walkthrough, see cmake/cfs.cmake):
  python3 walkthrough_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program ch01_demo --script walkthrough.lldb [--timeout S] [--verbose]
EMU is empty for a native run, else e.g. "qemu-aarch64;-L;/usr/aarch64-linux-gnu".
--verbose prints the whole transcript even when every check passes.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tests"))
import lldb_session  # noqa: E402  (tests/lldb_session.py)

# Slots (8 bytes each) in cfs_switch's saved frame; asm/<arch>/switch.S.
FRAME_SLOTS = {"aarch64": 20, "x86_64": 8, "riscv64": 26}
# The nop that starts cfs_trampoline, before the address a fresh frame
# returns to (asm/<arch>/switch.S says why it is there).
TRAMPOLINE_NOP_BYTES = {"aarch64": 4, "x86_64": 1, "riscv64": 4}

HEX = r"0x[0-9a-fA-F]+"


class CheckFailed(Exception):
    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.excerpt = excerpt


class Stop:
    """One breakpoint stop: which breakpoint, and each command run there."""

    def __init__(self, number: int, name: str, text: str):
        self.number = number  # 1-based, counting breakpoint stops only
        self.name = name  # the breakpoint's --name
        self.outputs: dict[str, str] = {}  # command -> output (first run)
        self.text = text  # the stop as lldb printed it, for messages

    def add(self, command: str, output: str) -> None:
        self.outputs.setdefault(command, output)
        self.text += f"(lldb) {command}\n{output}"

    def output(self, command: str) -> str:
        if command not in self.outputs:
            raise CheckFailed(f"stop {self.number} ({self.name}): the walk-through "
                              f"does not run `{command}` there", self.text)
        return self.outputs[command]

    def registers(self, command: str, count: int) -> list[int]:
        """The values printed by `register read a b c`, in order."""
        values = re.findall(rf"^\s*\w+ = ({HEX})", self.output(command), re.M)
        if len(values) != count:
            raise CheckFailed(f"stop {self.number}: expected {count} registers "
                              f"from `{command}`", self.text)
        return [int(v, 16) for v in values]

    def return_address(self) -> int:
        # AArch64 `register read lr`: "x30 = 0x..."; x86-64 `memory read ...
        # $sp`: "0xADDR: 0x... symbol". Either way the first value after = or :.
        m = re.search(rf"(?:=|:)\s+({HEX})", self.output("return-address"))
        if not m:
            raise CheckFailed(f"stop {self.number}: no address in `return-address`", self.text)
        return int(m.group(1), 16)

    def saved_frame(self) -> list[tuple[int, int]]:
        """(address, value) for each slot printed by `saved-frame`."""
        rows = re.findall(rf"^({HEX}): ({HEX})", self.output("saved-frame"), re.M)
        return [(int(a, 16), int(v, 16)) for a, v in rows]


def breakpoint_names(pairs: list[tuple[str, str]]) -> dict[int, str]:
    """Breakpoint number -> the --name it was set on."""
    names = {}
    for command, output in pairs:
        m = re.match(r"(?:breakpoint set|br s|b)\b.*--name\s+(\S+)", command)
        n = re.search(r"^Breakpoint (\d+):", output, re.M)
        if m and n:
            names[int(n.group(1))] = m.group(1)
    return names


def split_stops(pairs: list[tuple[str, str]]) -> list[Stop]:
    """Groups the commands by the breakpoint stop they ran at."""
    names = breakpoint_names(pairs)
    stops: list[Stop] = []
    current = None
    for command, output in pairs:
        if command.startswith("#"):
            continue  # the walk-through's comments, echoed by lldb
        if command in ("continue", "c", "process continue"):
            m = re.search(r"stop reason = breakpoint (\d+)\.", output)
            current = None
            if m:
                number = int(m.group(1))
                current = Stop(len(stops) + 1, names.get(number, f"breakpoint {number}"),
                               f"(lldb) {command}\n{output}")
                stops.append(current)
        elif current is not None:
            current.add(command, output)
    return stops


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def in_range(value: int, lo: int, hi: int) -> bool:
    return lo <= value < hi


def check(result: lldb_session.Result, arch: str) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", tail(transcript))

    # First the end: the program ran to completion by itself (checked first,
    # because when it did not, nothing else means much; its output, which goes
    # to a file, is lost when it is killed).
    m = re.search(r"^Process \d+ exited with status = (-?\d+).*$", transcript, re.M)
    if not m or m.group(1) != "0":
        raise CheckFailed("the program did not exit with status 0 under lldb",
                          m.group(0) if m else tail(transcript))
    if result.program_status not in (0, None):
        raise CheckFailed(f"the emulator exited with status {result.program_status}",
                          result.program_output[-1500:])
    if result.lldb_status != 0:
        raise CheckFailed(f"lldb exited with status {result.lldb_status}", tail(transcript))
    if "done:" not in result.program_output:
        raise CheckFailed("the demo did not finish its ping-pong",
                          "--- program output ---\n" + result.program_output)

    m = re.search(rf"new stack: \[({HEX}), ({HEX})\)", result.program_output)
    if not m:
        raise CheckFailed("the demo did not print `new stack: [lo, hi)`",
                          "--- program output ---\n" + result.program_output)
    lo, hi = int(m.group(1), 16), int(m.group(2), 16)
    summary = [f"new stack: [{lo:#x}, {hi:#x})"]

    stops = split_stops(lldb_session.commands(transcript))
    expected = ["cfs_switch", "cfs_switch_new_stack", "cfs_switch", "cfs_switch_new_stack"]
    got = [s.name for s in stops]
    if got[:4] != expected:
        stop_lines = re.findall(r"^.*(?:Breakpoint \d+:|stop reason|exited with).*$", transcript, re.M)
        raise CheckFailed(f"expected breakpoint stops {expected}, got {got}",
                          "\n".join(stop_lines) or tail(transcript))
    s1, s2, s3, s4 = stops[:4]

    def check_sp(stop: Stop, inside: bool, why: str) -> int:
        pc, sp, fp = stop.registers("register read pc sp fp", 3)
        if in_range(sp, lo, hi) != inside:
            where = "inside" if inside else "outside"
            raise CheckFailed(f"stop {stop.number} ({stop.name}, {why}): sp = {sp:#x} should be "
                              f"{where} the new stack [{lo:#x}, {hi:#x})", stop.text)
        summary.append(f"stop {stop.number} {stop.name:<20} sp={sp:#x} "
                       f"{'inside' if inside else 'outside'} the new stack ({why})")
        return sp

    sp1 = check_sp(s1, False, "main about to switch")
    to_sp1 = s1.registers("register read arg1 arg2 arg3", 3)[1]
    sp2 = check_sp(s2, True, "first arrival on the new stack")
    if sp2 != to_sp1:
        raise CheckFailed(f"stop 2: sp = {sp2:#x}, but stop 1's to_sp (arg2) was {to_sp1:#x}",
                          s1.text + s2.text)
    check_sp(s3, True, "coro_body about to switch back")
    to_sp3 = s3.registers("register read arg1 arg2 arg3", 3)[1]
    sp4 = check_sp(s4, False, "back on main's stack")
    if sp4 != to_sp3:
        raise CheckFailed(f"stop 4: sp = {sp4:#x}, but stop 3's to_sp (arg2) was {to_sp3:#x}",
                          s3.text + s4.text)
    # Main's saved frame ends where main's sp was before its call: at stop 1's
    # sp on AArch64 (bl leaves sp alone), 8 bytes above it on x86-64 (call
    # pushed the return address, the frame's last slot).
    slots = FRAME_SLOTS[arch]
    caller_sp = sp1 + (8 if arch == "x86_64" else 0)
    if sp4 + 8 * slots != caller_sp:
        raise CheckFailed(f"stop 4: main's saved sp {sp4:#x} + {8 * slots} (the frame) should be "
                          f"main's sp before its call, {caller_sp:#x} (stop 1's sp = {sp1:#x})",
                          s1.text + s4.text)

    # The saved frames.
    for stop in (s2, s4):
        frame = stop.saved_frame()
        sp = stop.registers("register read pc sp fp", 3)[1]
        if len(frame) != slots or frame[0][0] != sp:
            raise CheckFailed(f"stop {stop.number}: `saved-frame` should show {slots} slots "
                              f"starting at sp = {sp:#x} ({arch})", stop.text)

    lookup = s2.output("image lookup --verbose --symbol cfs_trampoline")
    m = re.search(rf"range = \[({HEX})-", lookup)
    if not m:
        raise CheckFailed("stop 2: `image lookup` did not give cfs_trampoline's load address",
                          s2.text)
    trampoline = int(m.group(1), 16)
    nop = TRAMPOLINE_NOP_BYTES[arch]
    last = s2.saved_frame()[-1][1]
    if last != trampoline + nop:
        raise CheckFailed(f"stop 2: the return-address slot of the fresh frame holds {last:#x}, "
                          f"not cfs_trampoline + {nop} ({trampoline + nop:#x})", s2.text)
    summary.append(f"stop 2 saved frame: last slot = cfs_trampoline + {nop} ({last:#x})")

    ret1 = s1.return_address()
    last = s4.saved_frame()[-1][1]
    if last != ret1:
        raise CheckFailed(f"stop 4: the return-address slot of main's saved frame holds {last:#x}, "
                          f"not the return address seen at stop 1 ({ret1:#x})", s1.text + s4.text)
    summary.append(f"stop 4 saved frame: last slot = stop 1's return address ({ret1:#x})")

    summary.append("the program ran to the end and exited with status 0")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 01 lldb walk-through.")
    parser.add_argument("--lldb", required=True)
    parser.add_argument("--emulator", default="")
    parser.add_argument("--program", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--timeout", type=float, default=lldb_session.DEFAULT_TIMEOUT)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    arch = lldb_session.architecture(args.program)
    result = lldb_session.run(args.lldb, args.emulator, args.program, args.script,
                              batch=True, timeout=args.timeout)
    mode = f"under {args.emulator.split(';')[0]}" if args.emulator else "natively"
    try:
        summary = check(result, arch)
    except CheckFailed as e:
        print(f"FAIL ({arch}, {mode}): {e}\n")
        if e.excerpt:
            print("--- the relevant part of the transcript ---")
            print(e.excerpt.rstrip())
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
