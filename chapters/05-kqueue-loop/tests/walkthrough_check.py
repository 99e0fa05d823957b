#!/usr/bin/env python3
"""chapters/03-tree-yield/tests/walkthrough_check.py: runs walkthrough.lldb
against ch03_demo (natively, or under qemu's gdb stub) and checks that what
lldb showed is what the chapter says:

  stop 1, in cfs::yield<int>(value=0), inside the in-order generator:
    `thread backtrace` holds yield_in_order at least three times, one frame
    per level, right above yield<int>, and ends at cfs_trampoline (no main);
    `frame variable n->value` in those frames reads 0, 1, 3: the path from
    the leaf up to the root of the demo's tree;
    `cfs coroutines`: one coroutine, running, and sp INSIDE its stack;
    `cfs bt 1` says a running coroutine has no saved frame
  stop 2, in Pull<int>::next, asking for the second value, on main's stack:
    sp OUTSIDE the coroutine's stack; `cfs coroutines`: the same stack,
    suspended, saved sp INSIDE it; `cfs bt 1` holds the same three levels
    of yield_in_order, with the same return addresses that lldb's own
    backtrace showed at stop 1, and ends at cfs_trampoline (fp = 0)
  and the program exits by itself with status 0.

Usage (CMake registers it as ch03/lldb-walkthrough, see cmake/cfs.cmake):
  python3 walkthrough_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program ch03_demo --script walkthrough.lldb [--timeout S] [--verbose]
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

HEX = r"0x[0-9a-fA-F]+"

# The demo's tree (demo.cpp, balanced_of_size(7)): root 3, left child 1,
# its left child 0. The first in-order yield is 0's, three levels down.
PATH_FROM_ROOT = [3, 1, 0]


class CheckFailed(Exception):
    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.excerpt = excerpt


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Stop:
    """One breakpoint stop: what lldb printed, and each command run there."""

    def __init__(self, number: int, text: str):
        self.number = number  # 1-based, counting breakpoint stops only
        self.text = text  # the stop as lldb printed it, for messages
        self.pairs: list[tuple[str, str]] = []

    def add(self, command: str, output: str) -> None:
        self.pairs.append((command, output))
        self.text += f"(lldb) {command}\n{output}"

    def output(self, command: str) -> str:
        """The output of the first run of `command` at this stop."""
        for c, o in self.pairs:
            if c == command:
                return o
        raise CheckFailed(f"stop {self.number}: the walk-through does not run `{command}` there",
                          self.text)

    def sp(self) -> int:
        values = re.findall(rf"^\s*\w+ = ({HEX})", self.output("register read pc sp fp"), re.M)
        if len(values) != 3:
            raise CheckFailed(f"stop {self.number}: expected 3 registers from "
                              "`register read pc sp fp`", self.text)
        return int(values[1], 16)


def split_stops(pairs: list[tuple[str, str]]) -> list[Stop]:
    """Groups the commands by the breakpoint stop they ran at."""
    stops: list[Stop] = []
    current = None
    for command, output in pairs:
        if command.startswith("#"):
            continue  # the walk-through's comments, echoed by lldb
        if command in ("continue", "c", "process continue"):
            current = None
            if re.search(r"stop reason = breakpoint", output):
                current = Stop(len(stops) + 1, f"(lldb) {command}\n{output}")
                stops.append(current)
        elif current is not None:
            current.add(command, output)
    return stops


def lldb_frames(backtrace: str) -> list[tuple[int, str]]:
    """(pc, rest of the line) for each `frame #N: 0x... module`function` line."""
    return [(int(pc, 16), what) for pc, what in
            re.findall(rf"^\s*\*?\s*frame #\d+: ({HEX}) \S+?`(.*)$", backtrace, re.M)]


def cfs_frames(text: str) -> list[tuple[int, str]]:
    """(pc, description) for each `#N: 0x... description` line of `cfs bt`."""
    return [(int(pc, 16), what) for pc, what in
            re.findall(rf"^\s*#\d+: ({HEX}) (.*)$", text, re.M)]


def the_coroutine(stop: Stop) -> dict:
    """The one coroutine `cfs coroutines` lists at this stop."""
    text = stop.output("cfs coroutines")
    rows = re.findall(rf"^\s*#(\d+) (\w+)\s+stack \[({HEX}), ({HEX})\).*saved sp ({HEX}|-)",
                      text, re.M)
    if not re.search(r"^1 live coroutine", text, re.M) or len(rows) != 1:
        raise CheckFailed(f"stop {stop.number}: `cfs coroutines` should list exactly one "
                          "coroutine (the in-order generator)", stop.text)
    _, status, lo, hi, sp = rows[0]
    return {"status": status, "lo": int(lo, 16), "hi": int(hi, 16),
            "saved_sp": None if sp == "-" else int(sp, 16)}


def is_level(what: str) -> bool:
    return re.search(r"\bcfs::yield_in_order<int>\(", what) is not None


def check(result: lldb_session.Result) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", tail(transcript))

    # An lldb error first: `command source` stops at the first one, so the
    # rest of the walk-through, and the program, never ran.
    pairs = [(c, o) for c, o in lldb_session.commands(transcript) if not c.startswith("#")]
    errors = [f"(lldb) {c}\n{o}" for c, o in pairs if re.search(r"^error:", o, re.M)]
    if errors:
        raise CheckFailed("lldb reported an error", "\n".join(errors))

    # The end first: the program ran to completion by itself.
    m = re.search(r"^Process \d+ exited with status = (-?\d+).*$", transcript, re.M)
    if not m or m.group(1) != "0":
        raise CheckFailed("the program did not exit with status 0 under lldb",
                          m.group(0) if m else tail(transcript))
    if result.program_status not in (0, None):
        raise CheckFailed(f"the emulator exited with status {result.program_status}",
                          result.program_output[-1500:])
    if result.lldb_status != 0:
        raise CheckFailed(f"lldb exited with status {result.lldb_status}", tail(transcript))
    if "in-order:   0 1 2 3 4 5 6" not in result.program_output or \
            "same fringe as 0 1 2 99" not in result.program_output:
        raise CheckFailed("the demo did not print all its lines",
                          "--- program output ---\n" + result.program_output)
    summary = ["the program ran to the end and exited with status 0"]

    stops = split_stops(pairs)
    where = [re.search(r"frame #0: \S+ \S+?`(.*?)\(", s.text) for s in stops]
    names = [w.group(1) if w else "?" for w in where]
    if len(stops) != 2 or names[0] != "void cfs::yield<int>" or \
            names[1] != "cfs::Pull<int>::next":
        stop_lines = re.findall(r"^.*(?:stop reason|frame #0).*$", transcript, re.M)
        raise CheckFailed("expected two stops: in cfs::yield<int>, then in "
                          f"cfs::Pull<int>::next; got {names}", "\n".join(stop_lines))
    s1, s2 = stops

    # ---- Stop 1: the running coroutine's own stack, every level on it.
    if not re.search(r"frame #0: .*yield<int>\(value=0\)", s1.text):
        raise CheckFailed("stop 1 should be the yield of 0, the first value in order", s1.text)
    frames = lldb_frames(s1.output("thread backtrace"))
    levels = [i for i, (_, what) in enumerate(frames) if is_level(what)]
    if len(levels) < len(PATH_FROM_ROOT) or levels[:3] != [1, 2, 3]:
        raise CheckFailed(f"stop 1: `thread backtrace` should show yield_in_order at least "
                          f"{len(PATH_FROM_ROOT)} times, in frames 1, 2, 3", s1.text)
    if not frames[-1][1].startswith("cfs_trampoline") or \
            any(re.match(r"main\b", what) for _, what in frames):
        raise CheckFailed("stop 1: the coroutine's backtrace should end at cfs_trampoline, "
                          "without main", s1.text)
    summary.append(f"stop 1 yield<int>(0): thread backtrace has {len(levels)} yield_in_order "
                   f"frames (#1-#3), then down to cfs_trampoline (#{len(frames) - 1})")

    # n->value in frames 1, 2, 3, each after its `frame select`.
    values, selected = [], None
    for command, output in s1.pairs:
        m = re.match(r"frame select (\d+)$", command)
        if m:
            selected = int(m.group(1))
            if selected in (1, 2, 3) and not is_level(output):
                raise CheckFailed(f"stop 1: frame {selected} is not yield_in_order", s1.text)
        elif command == "frame variable n->value" and selected in (1, 2, 3):
            v = re.search(r"n->value = (-?\d+)", output)
            values.append(int(v.group(1)) if v else None)
    if values != PATH_FROM_ROOT[::-1]:
        raise CheckFailed(f"stop 1: n->value in frames 1, 2, 3 should be "
                          f"{PATH_FROM_ROOT[::-1]} (leaf to root), got {values}", s1.text)
    summary.append(f"stop 1: n->value in frames 1, 2, 3 = {values}: the path from the root "
                   f"{PATH_FROM_ROOT}, reversed")

    c1 = the_coroutine(s1)
    lo, hi = c1["lo"], c1["hi"]
    sp1 = s1.sp()
    if c1["status"] != "running" or not lo <= sp1 < hi:
        raise CheckFailed(f"stop 1: the coroutine should be running, with sp {sp1:#x} inside "
                          f"its stack [{lo:#x}, {hi:#x})", s1.text)
    if "is running: no saved frame" not in s1.output("cfs bt 1"):
        raise CheckFailed("stop 1: `cfs bt 1` should say a running coroutine has no saved frame",
                          s1.text)
    summary.append(f"stop 1: cfs coroutines: 1, running, stack [{lo:#x}, {hi:#x}); "
                   f"sp {sp1:#x} inside it")

    # ---- Stop 2: main's stack; the recursion suspended on the other one.
    main_frames = lldb_frames(s2.output("thread backtrace"))
    if not any(re.match(r"main\b", what) for _, what in main_frames) or \
            any(is_level(what) for _, what in main_frames):
        raise CheckFailed("stop 2: `thread backtrace` should be main's stack, without "
                          "yield_in_order", s2.text)
    c2 = the_coroutine(s2)
    sp2, saved_sp = s2.sp(), c2["saved_sp"]
    if c2["status"] != "suspended" or (c2["lo"], c2["hi"]) != (lo, hi) or saved_sp is None:
        raise CheckFailed(f"stop 2: the same coroutine [{lo:#x}, {hi:#x}) should be suspended, "
                          "with a saved sp", s2.text)
    if lo <= sp2 < hi or not lo <= saved_sp < hi:
        raise CheckFailed(f"stop 2: sp {sp2:#x} should be OUTSIDE [{lo:#x}, {hi:#x}), and the "
                          f"saved sp {saved_sp:#x} INSIDE", s2.text)
    summary.append(f"stop 2 Pull<int>::next: sp {sp2:#x} outside; suspended, saved sp "
                   f"{saved_sp:#x} inside")
    text = s2.output("cfs bt 1")
    walked = cfs_frames(text)
    walked_levels = [pc for pc, what in walked if is_level(what)]
    lldb_levels = [frames[i][0] for i in levels]
    if walked_levels != lldb_levels:
        raise CheckFailed("stop 2: `cfs bt 1` should show the yield_in_order frames of stop 1's "
                          f"backtrace, with the same addresses {[hex(a) for a in lldb_levels]}",
                          s1.output("thread backtrace") + s2.text)
    if not walked or not walked[-1][1].startswith("cfs_trampoline") or \
            "(fp = 0: the end of the chain)" not in text:
        raise CheckFailed("stop 2: `cfs bt 1` should end at cfs_trampoline, where fp = 0", s2.text)
    summary.append(f"stop 2: cfs bt 1 walks {len(walked)} frames from the saved sp; its "
                   f"{len(walked_levels)} yield_in_order frames match stop 1's addresses")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 03 lldb walk-through.")
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
        summary = check(result)
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
