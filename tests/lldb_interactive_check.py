#!/usr/bin/env python3
"""tests/lldb_interactive_check.py: `make lldb-NN LLDB=interactive` leaves
the reader at lldb's prompt at the walk-through's first stop, ready to step,
with the chapter's commands loaded.

It runs tests/lldb_session.py without --batch, as the make target does, on
a pseudo-terminal, and types at the prompt as a reader would:

  1. waits for the first stop: "stop reason = breakpoint", then the prompt;
  2. `register read pc`, `thread step-inst`, `register read pc`: one
     instruction later, the pc has moved;
  3. the chapter's own command: `cfs coroutines` where the walk-through
     imports cfs_lldb.py (it must list the live coroutines), else the
     runner's `return-address` alias (it must print an address);
  4. `quit`, answering lldb's question: lldb and the program end.

Usage (CMake registers it as chNN/lldb-interactive, see cmake/cfs.cmake):
  python3 lldb_interactive_check.py --lldb LLDB --emulator=EMU
      --program chNN_demo --script walkthrough.lldb [--timeout S]
EMU is empty for a native run, else e.g. "qemu-aarch64;-L;/usr/aarch64-linux-gnu".
"""
from __future__ import annotations

import argparse
import os
import pty
import re
import select
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
PROMPT = "(lldb) "


class Terminal:
    """A child process on a pseudo-terminal, and everything it printed."""

    def __init__(self, argv: list[str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the session, as `make lldb-NN` runs it
            os.execvp(argv[0], argv)
        self.text = ""
        self.exit_status = None

    def _read(self, seconds: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], seconds)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            data = b""
        if not data:
            return False
        self.text += ANSI.sub("", data.decode(errors="replace"))
        return True

    def wait_for(self, pattern: str, since: int, deadline: float) -> re.Match | None:
        """The first match of `pattern` in what was printed after `since`."""
        while time.monotonic() < deadline:
            m = re.compile(pattern, re.S).search(self.text, since)
            if m:
                return m
            if not self._read(0.2):
                break
        return re.compile(pattern, re.S).search(self.text, since)

    def settle(self, quiet: float, deadline: float) -> None:
        """Reads until nothing more arrives for `quiet` seconds."""
        while time.monotonic() < deadline:
            size = len(self.text)
            end = time.monotonic() + quiet
            while time.monotonic() < end and self._read(0.1):
                pass
            if len(self.text) == size:
                return

    def type(self, line: str, deadline: float, until: str | None = None) -> str:
        """Types a command and returns its output: up to the next prompt or,
        for a command that lets the program run (lldb does not wait for
        it), up to the `until` pattern that says it stopped again."""
        since = len(self.text)
        os.write(self.fd, (line + "\n").encode())
        m = self.wait_for(re.escape(line) + r"\n(.*?)" + (until or re.escape(PROMPT)),
                          since, deadline)
        if not m:
            raise Failure(f"no {'stop' if until else 'prompt'} after `{line}`",
                          self.text[since:])
        self.settle(0.3, deadline)
        return m.group(1)

    def finish(self, deadline: float) -> int | None:
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self._read(0.2)
        return None


class Failure(Exception):
    def __init__(self, message: str, excerpt: str):
        super().__init__(message)
        self.excerpt = excerpt


def check(term: Terminal, script: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    # The runner's last command is a comment that says where the rest is:
    # once lldb has echoed it, the prompt after it is the reader's.
    ready = term.wait_for(r"# Stopped at the walk-through's first stop[^\n]*\n"
                          + re.escape(PROMPT), 0, deadline)
    term.settle(1.0, deadline)  # a reader types after lldb has gone quiet, not before
    stop = re.search(r"stop reason = breakpoint[^\n]*", term.text)
    if not ready or not stop:
        raise Failure("lldb did not stop at a breakpoint and wait at its prompt", term.text)
    summary = [f"stopped at the first stop: {stop.group(0).strip()}"]
    if "invalid thread" in term.text or re.search(r"Process \d+ exited", term.text):
        raise Failure("the program ran past the first stop", term.text)

    def pc() -> int:
        out = term.type("register read pc", deadline)
        m = re.search(r"(?:pc|rip) = (0x[0-9a-fA-F]+)", out)
        if not m:
            raise Failure("`register read pc` printed no pc", out)
        return int(m.group(1), 16)

    before = pc()
    term.type("thread step-inst", deadline, until=r"stop reason = instruction step")
    after = pc()
    if after == before:
        raise Failure(f"`thread step-inst` left pc at {before:#x}", term.text[-2000:])
    summary.append(f"thread step-inst moved pc from {before:#x} to {after:#x}")

    with open(script, encoding="utf-8") as f:
        imports_cfs = re.search(r"^command script import .*cfs_lldb\.py", f.read(), re.M)
    if imports_cfs:
        out = term.type("cfs coroutines", deadline)
        if "live coroutine(s)" not in out:
            raise Failure("`cfs coroutines` did not list the live coroutines", out)
        summary.append("cfs coroutines: " + out.strip().splitlines()[0])
    else:
        out = term.type("return-address", deadline)
        if not re.search(r"0x[0-9a-fA-F]+", out):
            raise Failure("the runner's `return-address` alias printed no address", out)
        summary.append("return-address alias: " + out.strip().splitlines()[-1].strip())

    since = len(term.text)
    os.write(term.fd, b"quit\n")
    if term.wait_for(r"Do you really want to proceed", since, deadline):
        os.write(term.fd, b"y\n")
    status = term.finish(deadline)
    if status is None:
        raise Failure("the session did not end after `quit`", term.text[since:])
    summary.append(f"quit: the session ended with status {status}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lldb", required=True)
    parser.add_argument("--emulator", default="")
    parser.add_argument("--program", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()

    argv = [sys.executable, os.path.join(HERE, "lldb_session.py"), "--lldb", args.lldb,
            f"--emulator={args.emulator}", "--program", args.program, "--script", args.script]
    term = Terminal(argv)
    mode = f"under {args.emulator.split(';')[0]}" if args.emulator else "natively"
    try:
        summary = check(term, args.script, args.timeout)
    except Failure as e:
        try:
            os.killpg(term.pid, 9)  # the session and lldb (pty.fork made a new session)
        except ProcessLookupError:
            pass
        print(f"FAIL ({mode}): {e}\n--- the terminal ---\n{e.excerpt.rstrip()[-4000:]}")
        return 1
    print(f"ok ({mode}):")
    for line in summary:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
