#!/usr/bin/env python3
"""chapters/04-blocking-sockets/tests/walkthrough_check.py: runs walkthrough.lldb
against ch04_demo (natively, or under qemu's gdb stub) and checks that what
lldb showed is what the chapter says:

  stop 1, at the start of coroutines_over_blocking_io():
    `cfs coroutines` lists none
  stop 2, in recv (libc's), on the main thread:
    `thread backtrace` is Alice's coroutine: recv, then cfs::read_some, then
    visit_greeter with name="alice", down to cfs_trampoline, without main
    and without the dispatcher; sp is inside the running coroutine's stack;
    `cfs resumer`: resumed from the thread's own stack, whose saved sp is
    outside every coroutine's stack; its frames hold RoundRobin::run, then
    coroutines_over_blocking_io, then main;
    `cfs coroutines`: three, Bob suspended, Alice running, the heartbeat
    suspended, newest first;
    `cfs bt 1` (Bob) and `cfs bt 3` (the heartbeat) walk from a saved sp
    inside their own stacks through cfs::yield() into visit_greeter and
    cfs::heartbeat, down to cfs_trampoline;
    `thread list`: no other thread is in recv
  and the program exits by itself with status 0, having printed every part.

Usage (CMake registers it as ch04/lldb-walkthrough, see cmake/cfs.cmake):
  python3 walkthrough_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program ch04_demo --script walkthrough.lldb [--timeout S] [--verbose]
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
RECV = r"(?:__libc_recv|recv)\b"  # libc's names for it, with or without its debug information


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


def coroutines(stop: Stop) -> list[dict]:
    """The rows of `cfs coroutines` at this stop, newest first."""
    text = stop.output("cfs coroutines")
    rows = re.findall(rf"^\s*#(\d+) (\w+)\s+stack \[({HEX}), ({HEX})\).*saved sp ({HEX}|-)", text, re.M)
    count = re.search(r"^(\d+) live coroutine", text, re.M)
    if not count or int(count.group(1)) != len(rows):
        raise CheckFailed(f"stop {stop.number}: cannot read `cfs coroutines`", stop.text)
    return [{"status": s, "lo": int(lo, 16), "hi": int(hi, 16),
             "saved_sp": None if sp == "-" else int(sp, 16)} for _, s, lo, hi, sp in rows]


def check_parked(stop: Stop, number: int, row: dict, body: str) -> int:
    """`cfs bt N` of a parked coroutine: from a saved sp inside its stack,
    through cfs::yield() into `body`, down to cfs_trampoline."""
    text = stop.output(f"cfs bt {number}")
    walked = cfs_frames(text)
    names = [what for _, what in walked]
    yields = [i for i, n in enumerate(names) if n.startswith("cfs::yield()")]
    bodies = [i for i, n in enumerate(names) if body in n]
    saved = row["saved_sp"]
    if row["status"] != "suspended" or saved is None or not row["lo"] <= saved < row["hi"]:
        raise CheckFailed(f"stop {stop.number}: coroutine #{number} should be suspended with a saved "
                          "sp inside its stack", stop.output("cfs coroutines"))
    if not yields or not bodies or bodies[0] <= yields[0] or \
            not names or not names[-1].startswith("cfs_trampoline") or \
            "(fp = 0: the end of the chain)" not in text:
        raise CheckFailed(f"stop {stop.number}: `cfs bt {number}` should go from cfs::yield() into "
                          f"{body}, down to cfs_trampoline", text)
    return len(walked)


def check(result: lldb_session.Result) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", tail(transcript))

    pairs = [(c, o) for c, o in lldb_session.commands(transcript) if not c.startswith("#")]
    errors = [f"(lldb) {c}\n{o}" for c, o in pairs if re.search(r"^error:", o, re.M)]
    if errors:
        raise CheckFailed("lldb reported an error", "\n".join(errors))

    m = re.search(r"^Process \d+ exited with status = (-?\d+).*$", transcript, re.M)
    if not m or m.group(1) != "0":
        raise CheckFailed("the program did not exit with status 0 under lldb",
                          m.group(0) if m else tail(transcript))
    if result.program_status not in (0, None):
        raise CheckFailed(f"the emulator exited with status {result.program_status}",
                          result.program_output[-1500:])
    if result.lldb_status != 0:
        raise CheckFailed(f"lldb exited with status {result.lldb_status}", tail(transcript))
    for line in ('alice: got "hello, alice"', "bob: got", "heartbeat 8", "coroutines, busy polling"):
        if line not in result.program_output:
            raise CheckFailed(f"the demo did not print {line!r}",
                              "--- program output ---\n" + result.program_output)
    summary = ["the program ran to the end and exited with status 0"]

    stops = split_stops(pairs)
    where = [re.search(r"frame #0: \S+ \S+?`(.*)$", s.text, re.M) for s in stops]
    names = [w.group(1) if w else "?" for w in where]
    if len(stops) != 2 or not re.match(r"\(anonymous namespace\)::coroutines_over_blocking_io\(",
                                       names[0]) or not re.match(RECV, names[1]):
        stop_lines = re.findall(r"^.*(?:stop reason|frame #0).*$", transcript, re.M)
        raise CheckFailed("expected two stops: in coroutines_over_blocking_io, then in recv; "
                          f"got {names}", "\n".join(stop_lines))
    s1, s2 = stops

    # ---- Stop 1: before the dispatcher exists.
    if coroutines(s1):
        raise CheckFailed("stop 1: no coroutine should exist yet", s1.text)
    summary.append("stop 1 coroutines_over_blocking_io: no live coroutine")

    # ---- Stop 2: Alice's stack, recv on top.
    frames = lldb_frames(s2.output("thread backtrace"))
    what = [w for _, w in frames]
    if len(what) < 4 or not re.match(RECV, what[0]) or not what[1].startswith("cfs::read_some(") or \
            not re.search(r"visit_greeter\(.*name=\"alice\"", what[2]):
        raise CheckFailed("stop 2: `thread backtrace` should start recv, cfs::read_some, "
                          "visit_greeter(name=\"alice\")", s2.text)
    if not what[-1].startswith("cfs_trampoline") or \
            any(re.match(r"main\b", w) or "RoundRobin::run" in w for w in what):
        raise CheckFailed("stop 2: Alice's backtrace should end at cfs_trampoline, without the "
                          "dispatcher or main", s2.text)
    summary.append(f"stop 2 recv: thread backtrace is Alice's stack: recv, read_some, "
                   f"visit_greeter(\"alice\") ... cfs_trampoline ({len(frames)} frames)")

    rows = coroutines(s2)
    if [r["status"] for r in rows] != ["suspended", "running", "suspended"]:
        raise CheckFailed("stop 2: `cfs coroutines` should list Bob suspended, Alice running, the "
                          "heartbeat suspended", s2.output("cfs coroutines"))
    alice = rows[1]
    sp = s2.sp()
    if not alice["lo"] <= sp < alice["hi"]:
        raise CheckFailed(f"stop 2: sp {sp:#x} should be inside Alice's stack "
                          f"[{alice['lo']:#x}, {alice['hi']:#x})", s2.text)
    summary.append(f"stop 2: 3 coroutines (suspended, running, suspended); sp {sp:#x} inside "
                   "the running one's stack")

    text = s2.output("cfs resumer")
    resumer = [w for _, w in cfs_frames(text)]
    saved = re.search(rf"resumer's saved sp = ({HEX})", text)
    order = ["RoundRobin::run", "coroutines_over_blocking_io", "main "]
    found = [next((i for i, w in enumerate(resumer) if w.startswith(name) or
                   (name != "main " and name in w)), -1) for name in order]
    if "resumed from the thread's own stack" not in text or not saved or \
            any(r["lo"] <= int(saved.group(1), 16) < r["hi"] for r in rows) or \
            -1 in found or found != sorted(found):
        raise CheckFailed("stop 2: `cfs resumer` should walk the thread's own stack, from a saved sp "
                          "outside every coroutine's, through RoundRobin::run and "
                          "coroutines_over_blocking_io to main", text)
    summary.append(f"stop 2: cfs resumer: {len(resumer)} frames of the thread's own stack, "
                   "RoundRobin::run under Alice's recv, then main")

    bob = check_parked(s2, 1, rows[0], "visit_greeter(")
    beat = check_parked(s2, 3, rows[2], "cfs::heartbeat(")
    summary.append(f"stop 2: cfs bt 1 (Bob, {bob} frames) and cfs bt 3 (heartbeat, {beat} frames) "
                   "are parked in cfs::yield()")

    others = [line for line in s2.output("thread list").splitlines()
              if re.match(r"\s+thread #", line)]
    if any(re.search(RECV, line) for line in others):
        raise CheckFailed("stop 2: no other thread should be in recv", s2.output("thread list"))
    summary.append(f"stop 2: {len(others)} other thread(s), none in recv")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 04 lldb walk-through.")
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
