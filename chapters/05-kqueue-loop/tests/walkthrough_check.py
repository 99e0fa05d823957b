#!/usr/bin/env python3
"""chapters/05-kqueue-loop/tests/walkthrough_check.py: runs walkthrough.lldb
against ch05_demo (natively, or under qemu's gdb stub) and checks that what
lldb showed is what the chapter says:

  stop 1, at the start of cfs::fetch_on_loop():
    `cfs coroutines` lists none
  stop 2, in cfs::Loop::dispatch() with a read event:
    `thread backtrace` is the thread's own stack: dispatch, poll, run,
    fetch_on_loop, main; no task's frame is on it (no read_some, no
    cfs_trampoline);
    `frame variable ev`: filter -1 (EVFILT_READ), and a udata that lies at
    the top of the stack of the task waiting on that descriptor (the task's
    control block lives there);
    `cfs coroutines`: three tasks, all suspended, each shown as
    `fetch PORT: waiting read (fd N)`, with different descriptors;
    `cfs bt 1`, `cfs bt 2`, `cfs bt 3` each walk from a saved sp inside the
    task's stack: cfs::yield(), Loop::park, Loop::wait_readable,
    cfs::wait_readable, read_some, read_exact, fetch, down to cfs_trampoline;
    `thread list`: the other threads exist, and none of them waits in
    kevent() or epoll_wait(): there is no I/O thread
  and the program exits by itself with status 0, having printed every part.

Usage (CMake registers it as ch05/lldb-walkthrough, see cmake/cfs.cmake):
  python3 walkthrough_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program ch05_demo --script walkthrough.lldb [--timeout S] [--verbose]
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
    """The rows of `cfs coroutines` at this stop, newest first, each with the
    line under it that says what it does (label and activity), if any."""
    text = stop.output("cfs coroutines")
    rows = re.findall(rf"^\s*#(\d+) (\w+)\s+stack \[({HEX}), ({HEX})\).*saved sp ({HEX}|-).*\n"
                      r"(?:\s{5}(?!body:)(.*)\n)?", text + "\n", re.M)
    count = re.search(r"^(\d+) live coroutine", text, re.M)
    if not count or int(count.group(1)) != len(rows):
        raise CheckFailed(f"stop {stop.number}: cannot read `cfs coroutines`", stop.text)
    return [{"status": s, "lo": int(lo, 16), "hi": int(hi, 16),
             "saved_sp": None if sp == "-" else int(sp, 16), "doing": doing.strip()}
            for _, s, lo, hi, sp, doing in rows]


# A parked task's frames, innermost first: each name must come after the one before.
PARKED_CHAIN = ["cfs::yield()", "cfs::Loop::park(", "cfs::Loop::wait_readable(",
                "cfs::wait_readable(", "cfs::read_some(", "cfs::read_exact(", "cfs::fetch"]


def check_parked(stop: Stop, number: int, row: dict) -> int:
    """`cfs bt N` of a task parked in read: from a saved sp inside its stack,
    through PARKED_CHAIN, down to cfs_trampoline."""
    text = stop.output(f"cfs bt {number}")
    names = [what for _, what in cfs_frames(text)]
    saved = row["saved_sp"]
    if row["status"] != "suspended" or saved is None or not row["lo"] <= saved < row["hi"]:
        raise CheckFailed(f"stop {stop.number}: task #{number} should be suspended with a saved "
                          "sp inside its stack", stop.output("cfs coroutines"))
    places = [next((i for i, n in enumerate(names) if n.startswith(f)), -1) for f in PARKED_CHAIN]
    if -1 in places or places != sorted(places) or not names[-1].startswith("cfs_trampoline") or \
            "(fp = 0: the end of the chain)" not in text:
        raise CheckFailed(f"stop {stop.number}: `cfs bt {number}` should go "
                          f"{' -> '.join(PARKED_CHAIN)} ... down to cfs_trampoline", text)
    return len(names)


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
    for line in ('alice: echo of "bye"; leaving', "tasks on the loop", "caller: ... returned 42"):
        if line not in result.program_output:
            raise CheckFailed(f"the demo did not print {line!r}",
                              "--- program output ---\n" + result.program_output)
    summary = ["the program ran to the end and exited with status 0"]

    stops = split_stops(pairs)
    where = [re.search(r"frame #0: \S+ \S+?`(.*)$", s.text, re.M) for s in stops]
    names = [w.group(1) if w else "?" for w in where]
    if len(stops) != 2 or not names[0].startswith("cfs::fetch_on_loop") or \
            not names[1].startswith("cfs::Loop::dispatch("):
        stop_lines = re.findall(r"^.*(?:stop reason|frame #0).*$", transcript, re.M)
        raise CheckFailed("expected two stops: in cfs::fetch_on_loop, then in cfs::Loop::dispatch; "
                          f"got {names}", "\n".join(stop_lines))
    s1, s2 = stops

    # ---- Stop 1: before the loop exists.
    if coroutines(s1):
        raise CheckFailed("stop 1: no coroutine should exist yet", s1.text)
    summary.append("stop 1 fetch_on_loop: no live coroutine")

    # ---- Stop 2: the loop's own stack, no task on it.
    what = [w for _, w in lldb_frames(s2.output("thread backtrace"))]
    order = ["cfs::Loop::dispatch(", "cfs::Loop::poll(", "cfs::Loop::run(", "cfs::fetch_on_loop",
             "main("]
    places = [next((i for i, w in enumerate(what) if w.startswith(name)), -1) for name in order]
    if -1 in places or places != sorted(places) or places[0] != 0:
        raise CheckFailed("stop 2: `thread backtrace` should be dispatch, poll, run, "
                          "fetch_on_loop, ..., main", s2.output("thread backtrace"))
    if any(w.startswith(("cfs::read_some(", "cfs_trampoline", "cfs::yield()")) for w in what):
        raise CheckFailed("stop 2: no task's frame should be on the loop's stack",
                          s2.output("thread backtrace"))
    summary.append(f"stop 2 dispatch: the thread's stack is the loop's ({len(what)} frames: "
                   "dispatch, poll, run, fetch_on_loop ... main), no task on it")

    ev = s2.output("frame variable ev")
    fields = dict(re.findall(r"\b(ident|filter|udata) = (-?\w+)", ev))
    if fields.get("filter") != "-1" or "ident" not in fields or "udata" not in fields:
        raise CheckFailed("stop 2: `frame variable ev` should show a read event (filter -1) "
                          "with its ident and udata", ev)
    ident, udata = int(fields["ident"]), int(fields["udata"], 16)

    rows = coroutines(s2)
    doing = [re.fullmatch(r"fetch (\d+): waiting read \(fd (\d+)\)", r["doing"]) for r in rows]
    if len(rows) != 3 or any(r["status"] != "suspended" for r in rows) or not all(doing) or \
            len({int(d.group(2)) for d in doing}) != 3:
        raise CheckFailed("stop 2: `cfs coroutines` should list three suspended tasks, each "
                          "`fetch PORT: waiting read (fd N)` on a descriptor of its own",
                          s2.output("cfs coroutines"))
    owner = [i for i, r in enumerate(rows) if r["lo"] <= udata < r["hi"]]
    if len(owner) != 1 or int(doing[owner[0]].group(2)) != ident:
        raise CheckFailed(f"stop 2: the event's udata {udata:#x} should lie in the stack of the task "
                          f"waiting on fd {ident}", ev + "\n" + s2.output("cfs coroutines"))
    summary.append(f"stop 2: 3 tasks `fetch PORT: waiting read (fd N)`; the event for fd {ident} "
                   f"names task #{owner[0] + 1} (udata {udata:#x} at the top of its stack)")

    lengths = [check_parked(s2, n, rows[n - 1]) for n in (1, 2, 3)]
    summary.append(f"stop 2: cfs bt 1, 2, 3 ({', '.join(map(str, lengths))} frames): "
                   + " -> ".join(PARKED_CHAIN) + " ... cfs_trampoline")

    others = [line for line in s2.output("thread list").splitlines()
              if re.match(r"\s+thread #", line)]
    if not others or any(re.search(r"epoll_wait|kevent|Loop::", line) for line in others):
        raise CheckFailed("stop 2: there should be other threads (the servers), none of them "
                          "in kevent() or epoll_wait()", s2.output("thread list"))
    summary.append(f"stop 2: {len(others)} other thread(s), none waiting in kevent or epoll_wait")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 05 lldb walk-through.")
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
