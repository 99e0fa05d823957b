#!/usr/bin/env python3
"""chapters/02-coroutine/tests/walkthrough_check.py: runs walkthrough.lldb
against ch02_demo (natively, or under qemu's gdb stub) and checks that what
lldb showed is what the chapter says:

  one stop, in report() after the second resume (value=4)
  `thread backtrace` there: main's stack only, no leaf/middle/squares
  `cfs coroutines`: one live coroutine, suspended, with a stack range
    [lo, hi); main's sp is OUTSIDE it, the coroutine's saved sp INSIDE it;
    the same numbers as the debug info's view of cfs_live_coroutines
  `cfs bt 1`: starts at that saved sp, shows leaf, middle and squares in
    that order (innermost first), and ends at cfs_trampoline where the
    frame-pointer chain ends (fp = 0)
  and the program exits by itself with status 0.

Usage (CMake registers it as ch02/lldb-walkthrough, see cmake/cfs.cmake):
  python3 walkthrough_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program ch02_demo --script walkthrough.lldb [--timeout S] [--verbose]
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


class CheckFailed(Exception):
    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.excerpt = excerpt


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Session:
    """The transcript as (command, output) pairs, comments left out."""

    def __init__(self, transcript: str):
        self.pairs = [(c, o) for c, o in lldb_session.commands(transcript)
                      if not c.startswith("#")]

    def output(self, command: str) -> str:
        """The output of the first run of `command` (exactly as written)."""
        for c, o in self.pairs:
            if c == command:
                return o
        raise CheckFailed(f"the walk-through does not run `{command}`")

    def excerpt(self, command: str) -> str:
        return f"(lldb) {command}\n{self.output(command)}"

    def errors(self) -> list[str]:
        return [f"(lldb) {c}\n{o}" for c, o in self.pairs if re.search(r"^error:", o, re.M)]


def parse_coroutines(text: str) -> list[dict]:
    """The lines of `cfs coroutines`: #N status stack [lo, hi) ... saved sp S."""
    rows = re.findall(rf"^\s*#(\d+) (\w+)\s+stack \[({HEX}), ({HEX})\).*saved sp ({HEX}|-)",
                      text, re.M)
    return [{"number": int(n), "status": status, "lo": int(lo, 16), "hi": int(hi, 16),
             "saved_sp": None if sp == "-" else int(sp, 16)}
            for n, status, lo, hi, sp in rows]


def parse_frames(text: str) -> list[tuple[int, str]]:
    """(pc, description) for each `#N: 0x... description` line of `cfs bt`."""
    return [(int(pc, 16), what) for pc, what in
            re.findall(rf"^\s*#\d+: ({HEX}) (.*)$", text, re.M)]


def check(result: lldb_session.Result) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", tail(transcript))

    # An lldb error first: `command source` stops at the first one, so the
    # rest of the walk-through, and the program, never ran.
    session = Session(transcript)
    if session.errors():
        raise CheckFailed("lldb reported an error", "\n".join(session.errors()))

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
    if "resume() returned nothing" not in result.program_output:
        raise CheckFailed("the demo did not run to its end",
                          "--- program output ---\n" + result.program_output)
    summary = ["the program ran to the end and exited with status 0"]

    # The one stop: report(value=4, ...), after the second resume.
    stops = re.findall(r"stop reason = breakpoint.*\n\s*frame #0: .*$", transcript, re.M)
    if len(stops) != 1 or not re.search(r"`\(anonymous namespace\)::report\(value=4\b", stops[0]):
        raise CheckFailed(f"expected one breakpoint stop, in report(value=4, ...); "
                          f"got {len(stops)}", "\n".join(stops) or tail(transcript))
    summary.append("one stop: report(value=4), after the second resume")

    # Main's stack: lldb's backtrace is main's, and knows nothing of the body.
    bt = session.output("thread backtrace")
    if not re.search(r"`main\b", bt) or re.search(r"\b(leaf|middle|squares)\(", bt):
        raise CheckFailed("`thread backtrace` should show report and main, and none of "
                          "leaf, middle, squares", session.excerpt("thread backtrace"))
    values = re.findall(rf"^\s*\w+ = ({HEX})", session.output("register read pc sp fp"), re.M)
    if len(values) != 3:
        raise CheckFailed("expected 3 registers from `register read pc sp fp`",
                          session.excerpt("register read pc sp fp"))
    main_sp = int(values[1], 16)

    # The list of live coroutines.
    listing = session.output("cfs coroutines")
    coroutines = parse_coroutines(listing)
    if not re.search(r"^1 live coroutine", listing, re.M) or len(coroutines) != 1:
        raise CheckFailed("`cfs coroutines` should list exactly one coroutine",
                          session.excerpt("cfs coroutines"))
    c = coroutines[0]
    lo, hi, saved_sp = c["lo"], c["hi"], c["saved_sp"]
    if c["status"] != "suspended" or saved_sp is None or not lo < hi:
        raise CheckFailed("the coroutine should be suspended, with a stack [lo, hi) and a saved sp",
                          session.excerpt("cfs coroutines"))
    if lo <= main_sp < hi:
        raise CheckFailed(f"main's sp {main_sp:#x} should be OUTSIDE the coroutine's stack "
                          f"[{lo:#x}, {hi:#x})", session.excerpt("register read pc sp fp")
                          + session.excerpt("cfs coroutines"))
    if not lo <= saved_sp < hi:
        raise CheckFailed(f"the saved sp {saved_sp:#x} should be INSIDE the coroutine's stack "
                          f"[{lo:#x}, {hi:#x})", session.excerpt("cfs coroutines"))
    summary.append(f"cfs coroutines: 1, suspended, stack [{lo:#x}, {hi:#x})")
    summary.append(f"main's sp {main_sp:#x} outside it; saved sp {saved_sp:#x} inside it")

    # lldb's own view of the record (debug info) agrees with cfs_lldb.py's.
    record = session.output("expression -- *cfs_live_coroutines")
    fields = dict(re.findall(rf"^\s*(stack_lo|stack_hi|status) = ({HEX}|\d+)", record, re.M))
    if fields != {"stack_lo": f"{lo:#018x}", "stack_hi": f"{hi:#018x}", "status": "0"}:
        raise CheckFailed("`expression -- *cfs_live_coroutines` should show the same stack "
                          "and status 0", session.excerpt("expression -- *cfs_live_coroutines")
                          + session.excerpt("cfs coroutines"))
    m = re.search(rf"= ({HEX})", session.output("expression -- *cfs_live_coroutines->saved_sp"))
    if not m or int(m.group(1), 16) != saved_sp:
        raise CheckFailed(f"`expression -- *cfs_live_coroutines->saved_sp` should be {saved_sp:#x}",
                          session.excerpt("expression -- *cfs_live_coroutines->saved_sp"))
    summary.append("expression -- *cfs_live_coroutines: the same stack, status and saved sp")

    # The suspended coroutine's backtrace, from its saved frame.
    text = session.output("cfs bt 1")
    excerpt = session.excerpt("cfs bt 1")
    m = re.search(rf"saved sp = ({HEX})", text)
    if not m or int(m.group(1), 16) != saved_sp:
        raise CheckFailed(f"`cfs bt 1` should start at the saved sp {saved_sp:#x}", excerpt)
    frames = parse_frames(text)
    where = {}
    for name in ("leaf", "middle", "squares"):
        found = [i for i, (_, what) in enumerate(frames) if re.search(rf"\b{name}\(", what)]
        if len(found) != 1:
            raise CheckFailed(f"`cfs bt 1` should show {name}() once", excerpt)
        where[name] = found[0]
    if not where["leaf"] < where["middle"] < where["squares"]:
        raise CheckFailed("`cfs bt 1` should show leaf, middle, squares in that order "
                          "(innermost first)", excerpt)
    if not re.match(r"cfs_trampoline\b", frames[-1][1]) or \
            "(fp = 0: the end of the chain)" not in text:
        raise CheckFailed("`cfs bt 1` should end at cfs_trampoline, where fp = 0", excerpt)
    summary.append(f"cfs bt 1: {len(frames)} frames; leaf #{where['leaf']}, middle "
                   f"#{where['middle']}, squares #{where['squares']}, cfs_trampoline "
                   f"#{len(frames) - 1}, then fp = 0")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 02 lldb walk-through.")
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
