#!/usr/bin/env python3
"""chapters/04-blocking-sockets/tests/programs_check.py: the chapter's programs,
run as programs.

  ch04_threaded_echo_server
    --help prints the usage on stdout, exit status 0;
    an unknown flag, a flag without its value, a port out of range: the
    usage on stderr, exit status 2;
    started with --port 0 (on 127.0.0.1, then on ::1), it prints
    "listening on HOST:PORT", serves several clients connected at once
    (each has its echo while all the others stay connected), and on SIGTERM
    closes everything and exits with status 0, saying how many it served.
  ch04_demo
    --help: usage, status 0; an unknown part: usage on stderr, status 2.

Usage (CMake registers it as ch04/programs, see CMakeLists.txt):
  python3 programs_check.py --wrapper=WRAP --server PATH --demo PATH
WRAP is a ;-separated command put in front of each program: empty, the
emulator ("qemu-aarch64;-L;/usr/aarch64-linux-gnu"), or valgrind and its flags.
"""
from __future__ import annotations

import argparse
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 120  # seconds for anything to happen: generous, for valgrind and qemu
failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)
        if detail:
            print("     " + detail.replace("\n", "\n     "))


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


def check_flags(wrap: list[str], program: str, name: str, bad: list[list[str]]) -> None:
    r = run(wrap + [program, "--help"])
    check(r.returncode == 0 and r.stdout.startswith("usage:"),
          f"{name} --help: usage on stdout, status 0", f"status {r.returncode}\n{r.stdout}{r.stderr}")
    for args in bad:
        r = run(wrap + [program] + args)
        check(r.returncode == 2 and "usage:" in r.stderr and r.stdout == "",
              f"{name} {' '.join(args)}: usage on stderr, status 2",
              f"status {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")


def read_line(proc: subprocess.Popen, deadline: float) -> str:
    """The next line of proc's stdout, or '' at end of file or time out."""
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            byte = os.read(proc.stdout.fileno(), 1)  # unbuffered: select() sees the rest
            if not byte:
                break
            line += byte
    return line.decode(errors="replace")


def check_serving(wrap: list[str], server: str, host: str, clients: int = 5) -> None:
    proc = subprocess.Popen(wrap + [server, "--host", host, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = read_line(proc, time.monotonic() + TIMEOUT)
        m = re.fullmatch(r"listening on (\[::1\]|127\.0\.0\.1):(\d+)\n", first)
        check(m is not None and int(m.group(2)) != 0,
              f"server on {host} port 0: prints 'listening on' with the port it got", repr(first))
        if m is None:
            return
        port = int(m.group(2))
        family = socket.AF_INET6 if host == "::1" else socket.AF_INET
        connections = []
        for _ in range(clients):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(TIMEOUT / 2)  # a server that does not answer fails, not hangs
            s.connect((host, port))
            connections.append(s)
        served = 0
        for i, s in reversed(list(enumerate(connections))):  # the last one first
            message = f"client {i}".encode()
            s.sendall(message)
            echo = b""
            try:
                while len(echo) < len(message):
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    echo += chunk
            except socket.timeout:
                pass
            served += echo == message
        check(served == clients, f"server on {host}: {clients} clients connected at once, "
              f"each has its echo while the others wait ({served} did)")
        for s in connections:
            s.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
        check(proc.returncode == 0 and
              f"stopped by SIGTERM after {clients} connection(s)" in out.decode(),
              f"server on {host}: SIGTERM stops it, status 0",
              f"status {proc.returncode}\nstdout: {out.decode()}\nstderr: {err.decode()}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description="Check the chapter 04 programs.")
    parser.add_argument("--wrapper", default="")
    parser.add_argument("--server", required=True)
    parser.add_argument("--demo", required=True)
    args = parser.parse_args()
    wrap = [w for w in re.split(r"[;\s]+", args.wrapper) if w]

    check_flags(wrap, args.server, "ch04_threaded_echo_server",
                [["--bogus"], ["--port"], ["--port", "65536"], ["--port", "12x"], ["extra"]])
    check_flags(wrap, args.demo, "ch04_demo", [["--bogus"], ["no-such-part"]])
    check_serving(wrap, args.server, "127.0.0.1")
    check_serving(wrap, args.server, "::1")
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
