#!/usr/bin/env python3
"""chapters/02-coroutine/tests/lldb_nested_check.py: debugs lldb_nested.cpp's
program in lldb (natively, or under qemu's gdb stub) with cfs_lldb.py, and
checks what the `cfs` commands show.

1. Nested coroutines. main resumes A, A resumes B, B stops at a breakpoint
   (b_stops_here). There:
     `cfs coroutines`    B running, A normal, idle suspended (newest first)
     `cfs bt` of A       A's own frames, innermost first: cfs::jump (which
                         called cfs_switch), resume_inner (the program's
                         function that called resume()), outer_body (A's
                         body), ..., cfs_trampoline, where fp = 0
     `cfs bt` of idle    idle_body, ..., cfs_trampoline
     `thread backtrace`  B's frames: b_stops_here, inner_body, ...,
                         cfs_trampoline; none of A's, nor main
2. A switch in flight. lldb_step_switch.py's `step-switch` single-steps
   A's second resume() of B and then B's yield() back, each from the call
   into cfs_switch to the first instruction after it returns on the other
   side, and runs `cfs coroutines` and `cfs bt N` at every instruction, for
   every coroutine listed suspended or normal. Every such backtrace must be
   sane: it starts at a saved sp, every frame is a function of the program
   (the chapter's cfs::, the test's anonymous namespace) or of the C++
   library (std::) with a source line, and it ends at cfs_trampoline, where
   fp = 0. And it must be the same at every step: a coroutine that waits
   does not move, so a backtrace that changes while the switch is in flight
   was read from a stale sp at some step. The coroutine the switch goes to
   must show its backtrace at every step (it waits until it has arrived),
   with the function it waits in (B: inner_body; A: resume_inner_deep,
   four frames, then outer_body).
3. The program runs to its end and exits with status 0.

Usage (CMake registers it as chNN/lldb-nested, see the chapter's CMakeLists.txt):
  python3 lldb_nested_check.py --lldb /usr/bin/lldb --emulator=EMU \
      --program chNN_lldb_nested [--cfs-lldb FILE] [--timeout S] [--verbose]
EMU is empty for a native run, else e.g. "qemu-aarch64;-L;/usr/aarch64-linux-gnu".
--cfs-lldb loads another cfs_lldb.py than the chapter's (to see this check
fail with one that is broken); --verbose prints the whole transcript.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tests"))
import lldb_session  # noqa: E402  (tests/lldb_session.py)

HEX = r"0x[0-9a-fA-F]+"
RESUME_FROM = "cfs::jump"  # the function whose call to cfs_switch a resume() makes
YIELD_FROM = "cfs::detail::ControlBlock::suspend"  # the same for a yield()


class CheckFailed(Exception):
    def __init__(self, message: str, excerpt: str = ""):
        super().__init__(message)
        self.excerpt = excerpt


def script(cfs_lldb: str) -> str:
    """The lldb command file: check 1 at the first stop, then check 2's steps."""
    lines = [
        "settings set stop-disassembly-display never",
        "settings set stop-line-count-before 0",
        "settings set stop-line-count-after 0",
        f"command script import {shlex.quote(cfs_lldb)}",
        f"command script import {shlex.quote(os.path.join(HERE, 'lldb_step_switch.py'))}",
        "breakpoint set --name b_stops_here",
        "continue",
        "cfs coroutines", "cfs bt 1", "cfs bt 2", "cfs bt 3",
        "thread backtrace",
        "breakpoint delete --force",
        "breakpoint set --name step_next_switch",
        "continue",  # in A, before its second resume() of B
        f"step-switch {RESUME_FROM}",
        "continue",  # in B, before its second yield()
        f"step-switch {YIELD_FROM}",
        "breakpoint delete --force",
        "continue",
    ]
    return "\n".join(lines) + "\n"


# --- Reading what the cfs commands print ------------------------------------

def parse_listing(text: str) -> list[dict]:
    """The lines of `cfs coroutines`."""
    rows = re.findall(rf"^\s*#(\d+) (\S+)\s+stack \[({HEX}), ({HEX})\).*"
                      rf"saved sp ({HEX}|-)\s+record ({HEX})", text, re.M)
    return [{"number": int(n), "status": status, "lo": int(lo, 16), "hi": int(hi, 16),
             "record": int(record, 16)} for n, status, lo, hi, _, record in rows]


def frames(text: str) -> list[tuple[int, str]]:
    """(pc, description) for each `#N: 0x... description` line of `cfs bt`."""
    return [(int(pc, 16), what) for pc, what in
            re.findall(rf"^\s*#\d+: ({HEX}) (.*)$", text, re.M)]


def function_of(description: str) -> str:
    """`cfs::jump(...) + 81 at context.h:38` -> `cfs::jump(...)`."""
    return re.sub(r" \+ \d+( at \S+:\d+)?$", "", description)


def known(description: str) -> bool:
    """A function of the program or the C++ library, with a source line."""
    m = re.match(r"^(.+) \+ \d+ at \S+:\d+$", description)
    if not m:
        return False
    name = m.group(1)
    return (name == "cfs_trampoline"
            or re.search(r"(^|[\s(<])(cfs::|std::|\(anonymous namespace\)::)", name) is not None)


def insane(text: str) -> str | None:
    """Why the output of `cfs bt N` is not a sane backtrace, or None."""
    if re.search(r"^error:", text, re.M):
        return "it is an error"
    if not re.search(rf"^saved sp = {HEX}", text, re.M):
        return "it does not start at a saved sp"
    found = frames(text)
    if not found:
        return "it has no frames"
    for pc, what in found:
        if not known(what):
            return f"frame {pc:#x} is not a function of the program or the C++ library " \
                   f"with a source line: {what!r}"
    if not found[-1][1].startswith("cfs_trampoline "):
        return "it does not end at cfs_trampoline"
    if "(fp = 0: the end of the chain)" not in text:
        return "its frame-pointer chain does not end with fp = 0"
    return None


def names(text: str) -> list[str]:
    """The plain function names of a backtrace, innermost first:
    `(anonymous namespace)::resume_inner(...)` -> `resume_inner`."""
    out = []
    for _, what in frames(text):
        m = re.search(r"(\w+)(?:<[^()]*>)?\(", function_of(what))
        out.append(m.group(1) if m else function_of(what))
    return out


# --- The transcript ---------------------------------------------------------

class Session:
    """The transcript as (command, output) pairs."""

    def __init__(self, transcript: str):
        self.pairs = lldb_session.commands(transcript)

    def output(self, command: str) -> str:
        for c, o in self.pairs:
            if c == command:
                return o
        raise CheckFailed(f"the session did not run `{command}` (did an earlier command fail?)",
                          "\n".join(self.errors()))

    def excerpt(self, *commands: str) -> str:
        return "".join(f"(lldb) {c}\n{self.output(c)}" for c in commands)

    def errors(self) -> list[str]:
        return [f"(lldb) {c}\n{o}" for c, o in self.pairs if re.search(r"^error:", o, re.M)]


def check_nested(session: Session) -> tuple[dict, list[str]]:
    """Check 1. Returns the records of B, A and idle, and a summary."""
    stop = session.output("continue")
    if not re.search(r"stop reason = breakpoint.*\n\s*frame #0: .*b_stops_here", stop):
        raise CheckFailed("the program should stop in b_stops_here()", session.excerpt("continue"))

    listing = parse_listing(session.output("cfs coroutines"))
    statuses = [c["status"] for c in listing]
    if statuses != ["running", "normal", "suspended"]:
        raise CheckFailed(f"`cfs coroutines` should list B running, A normal, idle suspended "
                          f"(newest first); got {statuses}", session.excerpt("cfs coroutines"))
    b, a, idle = listing

    for number, who, must in ((2, "A", ["jump", "resume_inner", "outer_body"]),
                              (3, "idle", ["idle_body"])):
        text = session.output(f"cfs bt {number}")
        why = insane(text)
        if why:
            raise CheckFailed(f"`cfs bt {number}` (coroutine {who}, "
                              f"{listing[number - 1]['status']}): {why}",
                              session.excerpt(f"cfs bt {number}"))
        got = names(text)
        if [n for n in got if n in must] != must or (who == "A" and got[0] != "jump"):
            raise CheckFailed(f"`cfs bt {number}` should show {who}'s frames {must}, innermost "
                              f"first{' (starting with jump)' if who == 'A' else ''}; got {got}",
                              session.excerpt(f"cfs bt {number}"))
        if "inner_body" in got or "b_stops_here" in got:
            raise CheckFailed(f"`cfs bt {number}` shows B's frames in {who}'s backtrace",
                              session.excerpt(f"cfs bt {number}"))
    if not re.search(r"is running: no saved frame", session.output("cfs bt 1")):
        raise CheckFailed("`cfs bt 1` (B, running) should say it has no saved frame",
                          session.excerpt("cfs bt 1"))

    bt = session.output("thread backtrace")
    got = re.findall(r"^\s*\*?\s*frame #\d+: \S+ [^`\s]+`(?:::)?(?:\(anonymous namespace\)::)?"
                     r"([A-Za-z_]\w*)", bt, re.M)
    if got[:2] != ["b_stops_here", "inner_body"] or not got or got[-1] != "cfs_trampoline" \
            or {"outer_body", "resume_inner", "main"} & set(got):
        raise CheckFailed(f"`thread backtrace` should show B's frames, from b_stops_here and "
                          f"inner_body to cfs_trampoline, and none of A's or main; got {got}",
                          session.excerpt("thread backtrace"))
    summary = [
        "stop in B (main -> A -> B): cfs coroutines lists B running, A normal, idle suspended",
        f"cfs bt of A (normal): {len(frames(session.output('cfs bt 2')))} frames, jump, "
        "resume_inner, outer_body ... cfs_trampoline, fp = 0",
        f"thread backtrace: B's {len(got)} frames, b_stops_here ... cfs_trampoline",
    ]
    return {"B": b["record"], "A": a["record"], "idle": idle["record"]}, summary


def parse_steps(text: str) -> list[dict]:
    """What `step-switch` printed, one dict a step (see lldb_step_switch.py):
    number, pc, sp, function, text, listing (`cfs coroutines`), and
    backtraces: record -> what `cfs bt` printed, for each coroutine listed
    suspended or normal."""
    steps = []
    for block in re.split(r"^(?=== step )", text, flags=re.M):
        m = re.match(rf"== step (\d+): pc ({HEX}) sp ({HEX}) in (.*)$", block, re.M)
        if not m:
            continue
        parts = re.split(r"^-- (cfs coroutines|cfs bt \d+)\n", block, flags=re.M)
        outputs = dict(zip(parts[1::2], parts[2::2]))
        listing = parse_listing(outputs.get("cfs coroutines", ""))
        step = {"number": int(m.group(1)), "pc": int(m.group(2), 16), "sp": int(m.group(3), 16),
                "function": m.group(4), "text": block, "listing": listing, "backtraces": {}}
        for c in listing:
            if c["status"] in ("suspended", "normal"):
                bt = outputs.get(f"cfs bt {c['number']}")
                if bt is None:
                    raise CheckFailed(f"step {step['number']}: step-switch did not run "
                                      f"`cfs bt {c['number']}`", block)
                step["backtraces"][c["record"]] = bt
        steps.append(step)
    return steps


def check_switch(session: Session, command: str, what: str, records: dict, leaving: str,
                 arriving: str, arriving_in: str, waits_in: list[str]) -> list[str]:
    """Check 2 for one switch: `command` is the step-switch that stepped it,
    from the call in its function, through cfs_switch, to the first
    instruction in `arriving_in` on the other side; `leaving` and `arriving`
    name its two coroutines, `waits_in` the frames the arriving one waits in."""
    text = session.output(command)
    steps = parse_steps(text)
    caller = command.split()[1]
    functions = [s["function"] for s in steps]
    if len(steps) < 6 or not functions[0].startswith(caller) or \
            set(functions[1:-1]) != {"cfs_switch"} or not functions[-1].startswith(arriving_in):
        raise CheckFailed(f"{what}: the steps should go from the call in {caller}, through "
                          f"cfs_switch, to {arriving_in}; got {functions}", text[-3000:])
    who = {record: name for name, record in records.items()}

    def fail(step: dict, message: str, earlier: dict | None = None):
        raise CheckFailed(f"{what}, step {step['number']} (pc {step['pc']:#x} in "
                          f"{step['function']}): {message}",
                          (earlier["text"] if earlier else "") + step["text"])

    def stack(step: dict, name: str) -> tuple[int, int]:
        for c in step["listing"]:
            if c["record"] == records[name]:
                return c["lo"], c["hi"]
        fail(step, f"`cfs coroutines` does not list {name}")

    for step in steps:
        if sorted(c["record"] for c in step["listing"]) != sorted(records.values()):
            fail(step, "`cfs coroutines` should list A, B and idle")
    lo, hi = stack(steps[0], leaving)
    if not lo <= steps[0]["sp"] < hi:
        fail(steps[0], f"the switch should start on {leaving}'s stack")
    lo, hi = stack(steps[-1], arriving)
    if not lo <= steps[-1]["sp"] < hi:
        fail(steps[-1], f"the switch should end on {arriving}'s stack")

    #! [every-step]
    # At every instruction, each coroutine listed as waiting (suspended or
    # normal) has a sane backtrace, and the same one at every step: it does
    # not move while it waits, so a backtrace that changes was read from a
    # stale sp.
    first_seen = {}  # record -> (step, its frames then)
    for step in steps:
        for record, bt in step["backtraces"].items():
            why = insane(bt)
            if why:
                fail(step, f"the backtrace of {who[record]} is garbage: {why}")
            seen, frames_then = first_seen.setdefault(record, (step, frames(bt)))
            if frames(bt) != frames_then:
                fail(step, f"the backtrace of {who[record]} changed since step "
                           f"{seen['number']} while it waited: read from a stale sp", seen)
    #! [every-step]

    # And the coroutine the switch goes to is one of them at every step (it
    # waits until it has arrived: coroutine.h, [record]), in the function it
    # waits in.
    for step in steps:
        if records[arriving] not in step["backtraces"]:
            fail(step, f"{arriving}, which the switch goes to, does not read as waiting")
    got = names(steps[0]["backtraces"][records[arriving]])
    if [n for n in got if n in waits_in] != waits_in:
        fail(steps[0], f"{arriving}'s backtrace should show {waits_in}, innermost first; "
                       f"got {got}")
    shown = sum(len(s["backtraces"]) for s in steps)
    return [f"{what}: {len(steps)} steps, from the call in {caller} through cfs_switch to "
            f"{arriving_in} on {arriving}'s stack; {shown} backtraces, each sane and unchanged "
            f"while waiting"]


def check(result: lldb_session.Result) -> list[str]:
    """Raises CheckFailed, or returns a summary of what was checked."""
    transcript = result.transcript
    if result.timed_out:
        raise CheckFailed("the session timed out", transcript[-3000:])
    session = Session(transcript)
    if session.errors():
        raise CheckFailed("lldb reported an error", "\n".join(session.errors()))

    records, summary = check_nested(session)
    summary += check_switch(session, f"step-switch {RESUME_FROM}", "A's resume() of B", records,
                            leaving="A", arriving="B", arriving_in="cfs::detail::ControlBlock::suspend",
                            waits_in=["yield", "inner_body"])
    summary += check_switch(session, f"step-switch {YIELD_FROM}", "B's yield() to A", records,
                            leaving="B", arriving="A", arriving_in="cfs::jump",
                            waits_in=["jump"] + ["resume_inner_deep"] * 4 + ["outer_body"])

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
    summary.append("the program ran to the end and exited with status 0")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description="Check cfs_lldb.py on nested coroutines and "
                                                 "through a switch, single-stepped.")
    parser.add_argument("--lldb", required=True)
    parser.add_argument("--emulator", default="")
    parser.add_argument("--program", required=True)
    parser.add_argument("--cfs-lldb", default=os.path.join(HERE, "..", "cfs_lldb.py"))
    parser.add_argument("--timeout", type=float, default=lldb_session.DEFAULT_TIMEOUT)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    arch = lldb_session.architecture(args.program)
    with tempfile.NamedTemporaryFile("w", suffix=".lldb", prefix="lldb-nested-") as f:
        f.write(script(os.path.abspath(args.cfs_lldb)))
        f.flush()
        result = lldb_session.run(args.lldb, args.emulator, args.program, f.name,
                                  batch=True, timeout=args.timeout)
    mode = f"under {args.emulator.split(';')[0]}" if args.emulator else "natively"
    try:
        summary = check(result)
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
