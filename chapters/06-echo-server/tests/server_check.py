#!/usr/bin/env python3
"""chapters/06-echo-server/tests/server_check.py: echo-server and echo-bench,
run as programs, each in a process of its own, on loopback.

  flags          --help: usage on stdout, status 0; a bad flag or value: the
                 usage on stderr naming it, status 2 (both programs)
  10k            the server holds CONNS connections at once (10,000; 1,000 at
                 --scale=small), each echoing and verified by echo-bench in
                 another process; the server's memory and mappings at that
                 point, how long connecting took and how many handshakes
                 full listen queues dropped meanwhile are printed
  sigterm        clients connected at SIGTERM: each gets every byte it sent
                 back, new clients are refused, those that close are done,
                 the one that does not is cut at the drain deadline; status 0
  reset, emfile  a client that resets while the server writes to it ends that
                 connection only; then, with RLIMIT_NOFILE lowered (in the
                 server's own process): at the limit it turns clients away and
                 uses no CPU while one waits; when clients leave, it serves again
  slow reader    a client that sends and never reads: the server's memory
                 stays where it was
  idle, max-conns, bench   the same as programs: an idle client is closed
                 after --idle-timeout, one past --max-conns at once;
                 echo-bench's report, as text and JSON; nobody there: status 1
  spin           --spin-us 2000: every byte echoed, and the spin found some of
                 the messages without sleeping; a silent client connected for a
                 second costs the server little CPU (it sleeps after the spin)

Usage (CMake registers it as ch06/server, see CMakeLists.txt):
  python3 server_check.py --wrapper=WRAP --scale=full|small --server PATH --bench PATH
WRAP is a ;-separated command put in front of each program: empty, the
emulator ("qemu-aarch64;-L;/usr/aarch64-linux-gnu"), or valgrind and its flags.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

TIMEOUT = 120  # seconds for anything to happen: generous, for valgrind and qemu
failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)
        if detail:
            print("     " + detail.replace("\n", "\n     "), flush=True)


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Server:
    """echo-server in a process of its own, as `wrap` runs it."""

    def __init__(self, wrap: list[str], path: str, *args: str, fd_limit: int | None = None):
        def lower_limit():
            if fd_limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))
        self.proc = subprocess.Popen(wrap + [path, "--port", "0", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=lower_limit)
        self.first = self.read_line()
        m = re.fullmatch(r"listening on (\[::1\]|127\.0\.0\.1):(\d+)\n", self.first)
        self.port = int(m.group(2)) if m else 0
        self.second = self.read_line() if m else ""

    def read_line(self) -> str:
        line, deadline = b"", time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                byte = os.read(self.proc.stdout.fileno(), 1)
                if not byte:
                    break
                line += byte
        return line.decode(errors="replace")

    def connect(self, timeout: float = TIMEOUT / 2) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def wait(self) -> tuple[int, str, str]:
        """Until it exits by itself (or TIMEOUT: then it is killed)."""
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()

    def status(self, field: str) -> int:
        """A kB field of /proc/PID/status (VmRSS, VmHWM), in KiB."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) if m else 0

    def mappings(self) -> int:
        with open(f"/proc/{self.proc.pid}/maps") as f:
            return sum(1 for _ in f)

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def echo(s: socket.socket, data: bytes) -> bytes:
    s.sendall(data)
    return read_exactly(s, len(data))


def read_exactly(s: socket.socket, n: int) -> bytes:
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def reads_eof(s: socket.socket) -> bool:
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


# ---------------------------------------------------------------------------
def check_flags(wrap, server, bench) -> None:
    # (arguments, the flag the message must name)
    for name, program, bad in [
        ("echo-server", server, [(["--bogus"], "--bogus"), (["--port"], "--port"),
                                 (["--port", "65536"], "--port"), (["--port", "12x"], "--port"),
                                 (["--max-conns", "0"], "--max-conns"), (["--max-conns", "many"], "--max-conns"),
                                 (["--idle-timeout", "-1"], "--idle-timeout"),
                                 (["--idle-timeout", "soon"], "--idle-timeout"),
                                 (["--drain-timeout", "1s"], "--drain-timeout"),
                                 (["--stack-size", "1K"], "--stack-size"), (["--stack-size", "64Q"], "--stack-size"),
                                 (["--spin-us", "10001"], "--spin-us"), (["--spin-us", "-5"], "--spin-us"),
                                 (["extra"], "extra")]),
        ("echo-bench", bench, [([], "--port"), (["--port", "0"], "--port"),
                               (["--port", "1", "--connections", "0"], "--connections"),
                               (["--port", "1", "--size", "0"], "--size"),
                               (["--port", "1", "--duration", "-3"], "--duration"),
                               (["--port", "1", "--bogus"], "--bogus")]),
    ]:
        r = subprocess.run(wrap + [program, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0 and r.stdout.startswith("usage:"), f"{name} --help: usage on stdout, status 0",
              f"status {r.returncode}\n{r.stdout}{r.stderr}")
        for args, named in bad:
            r = subprocess.run(wrap + [program] + args, capture_output=True, text=True, timeout=TIMEOUT)
            check(r.returncode == 2 and "usage:" in r.stderr and named in r.stderr.split("usage:")[0]
                  and r.stdout == "",
                  f"{name} {' '.join(args) or '(no flags)'}: usage on stderr naming {named}, status 2",
                  f"status {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")


def listen_overflows() -> int:
    """Linux's count, since boot, of handshakes dropped because a listen queue was full."""
    try:
        with open("/proc/net/netstat") as f:
            lines = [line.split() for line in f if line.startswith("TcpExt:")]
        return int(dict(zip(lines[0], lines[1]))["ListenOverflows"])
    except (OSError, IndexError, KeyError, ValueError):
        return -1


def check_many(wrap, server, bench, conns: int, plain: bool) -> None:
    # The server's default idle timeout (60 s) stays: a loop that stalls
    # while clients connect shows as connections closed for idleness. (It
    # did: see "The load client" in the chapter.)
    s = Server(wrap, server, "--max-conns", str(conns))
    try:
        check(s.port != 0, "echo-server --port 0: prints 'listening on' with the port it got", repr(s.first))
        if not s.port:
            return
        base_rss, peak = s.status("VmRSS"), {"maps": 0, "rss": 0}
        done = threading.Event()

        def sample():  # the most mappings and memory seen while the client runs
            while not done.wait(0.05):
                try:
                    peak["maps"] = max(peak["maps"], s.mappings())
                    peak["rss"] = max(peak["rss"], s.status("VmRSS"))
                except OSError:
                    return
        sampler = threading.Thread(target=sample)
        sampler.start()
        overflows = listen_overflows()
        r = subprocess.run(wrap + [bench, "--port", str(s.port), "--connections", str(conns),
                                   "--messages", "2", "--size", "64", "--timeout", "100",
                                   "--close-wait", "100"],
                           capture_output=True, text=True, timeout=TIMEOUT * 4)
        done.set()
        sampler.join()
        for line in r.stdout.splitlines():
            if line.startswith("connections"):
                print(f"     echo-bench: {line}")
        if overflows >= 0:
            print(f"     handshakes dropped meanwhile by full listen queues (ListenOverflows): "
                  f"{listen_overflows() - overflows}")
        hwm = s.status("VmHWM")
        ok = (r.returncode == 0 and f"connections  {conns} of {conns} open at once" in r.stdout and
              f"messages     {2 * conns} in" in r.stdout and "errors       0" in r.stdout and
              f"closed       {conns} cleanly" in r.stdout)
        check(ok, f"{conns} connections open at once in another process, each echoing 2 messages, "
              "every byte checked, each closed by the server after the client's end of file",
              f"status {r.returncode}\n{r.stdout}{r.stderr}")
        per = (hwm - base_rss) / conns
        print(f"     server: {base_rss} KiB before, peak {hwm} KiB with {conns} connections: "
              f"{per:.1f} KiB per connection; at most {peak['maps']} memory mappings seen")
        if plain:  # natively, without sanitizers: the figures the chapter states
            check(per < 64, f"memory per connection under 64 KiB ({per:.1f} KiB)")
        status, out, err = s.stop()
        check(status == 0 and f"stopped by SIGTERM: {conns} connection(s) served (at most {conns} at once)" in out,
              "SIGTERM with no clients: status 0, and the counts", f"status {status}\n{out}{err}")
    finally:
        s.kill()


def check_sigterm(wrap, server, drain: float) -> None:
    s = Server(wrap, server, "--drain-timeout", str(drain))
    try:
        clients = [s.connect() for _ in range(5)]
        before = [echo(c, f"client {i}, part 1;".encode()) for i, c in enumerate(clients)]
        check(all(b == f"client {i}, part 1;".encode() for i, b in enumerate(before)),
              "sigterm: five clients served before the signal")
        for i, c in enumerate(clients):
            c.sendall(f"client {i}, part 2, sent just before SIGTERM;".encode())
        signaled = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        got = [read_exactly(c, len(f"client {i}, part 2, sent just before SIGTERM;")) for i, c in enumerate(clients)]
        check(all(g == f"client {i}, part 2, sent just before SIGTERM;".encode() for i, g in enumerate(got)),
              "sigterm: every client gets all it sent echoed, after the signal too", repr(got))
        refused = False
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", s.port), timeout=5).close()
            except ConnectionRefusedError:
                refused = True
                break
            time.sleep(0.05)
        check(refused, "sigterm: new clients are refused once it has stopped accepting")
        for c in clients[:4]:  # four finish by themselves...
            c.shutdown(socket.SHUT_WR)
        check(all(reads_eof(c) for c in clients[:4]), "sigterm: the clients that close see the server's end of file")
        # ...the fifth does not: it is cut at the drain deadline.
        check(reads_eof(clients[4]), "sigterm: the client that stays is closed at the drain deadline")
        status, out, err = s.wait()  # no second signal: it exits by itself
        took = time.monotonic() - signaled
        check(status == 0 and "stopped by SIGTERM" in out and "1 cut at the drain deadline" in out
              and took >= drain * 0.9,
              f"sigterm: status 0 after the {drain} s drain ({took:.2f} s), one cut",
              f"status {status}\n{out}{err}")
        for c in clients:
            c.close()
    finally:
        s.kill()
    s = Server(wrap, server)
    status, out, err = s.stop(signal.SIGINT)
    check(status == 0 and "stopped by SIGINT: 0 connection(s)" in out, "SIGINT with no clients: status 0",
          f"status {status}\n{out}{err}")


def reset_mid_stream(s: Server) -> bool:
    """A client pushes bytes without reading until the server is parked in
    a write to it, then resets the connection (SO_LINGER 0): the server's
    write fails. True if the server still serves another client."""
    c = s.connect()
    c.setblocking(False)
    chunk = b"x" * 65536
    while True:
        try:
            c.send(chunk)
            continue
        except BlockingIOError:
            pass
        if not select.select([], [c], [], 0.5)[1]:
            break
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    other = s.connect()
    ok = echo(other, b"still there") == b"still there"
    other.close()
    return ok


def check_emfile(wrap, server, limit: int) -> None:
    s = Server(wrap, server, fd_limit=limit)
    # First a reset, which the program survives.
    check(reset_mid_stream(s), "reset: a client that resets while the server writes to it ends only that connection")
    held: list[socket.socket] = []
    try:
        # Fill the server up: each client has its echo, until one is turned away.
        turned_away = None
        for i in range(limit + 20):
            c = s.connect(timeout=30)
            try:
                if echo(c, b"hello") == b"hello":
                    held.append(c)
                    continue
            except ConnectionResetError:
                pass
            turned_away = i
            c.close()
            break
        check(turned_away is not None and len(held) > limit // 3,
              f"emfile: with {limit} descriptors the server served {len(held)} clients, then turned the next away")
        # At the limit: clients keep coming; each is turned away, and the
        # server does not spin.
        cpu0, t0 = s.cpu_seconds(), time.monotonic()
        waiting = s.connect(timeout=30)  # stays in the queue unless the server acts
        told = reads_eof(waiting)
        for _ in range(10):
            c = s.connect(timeout=30)
            told = reads_eof(c) and told
            c.close()
            time.sleep(0.1)
        time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
        cpu, wall = s.cpu_seconds() - cpu0, time.monotonic() - t0
        check(told, "emfile: at the limit, each new client reads end of file at once")
        check(cpu < 0.3 * wall, f"emfile: at the limit the server used {cpu:.2f} s of CPU in {wall:.2f} s (no spin)")
        waiting.close()
        # Clients leave: the server serves again.
        for c in held[:5]:
            c.close()
        served = False
        for _ in range(100):
            c = s.connect(timeout=30)
            try:
                served = echo(c, b"again") == b"again"
            except ConnectionResetError:
                served = False
            c.close()
            if served:
                break
            time.sleep(0.1)
        check(served, "emfile: once clients have left, new ones are served again")
        for c in held:
            c.close()
        status, out, err = s.stop()
        m = re.search(r"(\d+) turned away \(out of descriptors\)", out)
        # Under Valgrind, Valgrind enforces the limit itself, after the
        # kernel: accept() succeeds, Valgrind closes the new descriptor and
        # says EMFILE, so the clients are told no without the spare.
        least = 1 if any("valgrind" in w for w in wrap) else 12
        check(status == 0 and m is not None and int(m.group(1)) >= least and " 1 failed" in out,
              f"emfile: status 0, and it counted those it turned away ({m.group(1) if m else '?'}) "
              "and the reset connection", f"status {status}\n{out}{err}")
    finally:
        for c in held:
            c.close()
        s.kill()


def check_slow_reader(wrap, server, bound_kib: int) -> None:
    s = Server(wrap, server)
    try:
        c = s.connect()
        before = s.status("VmRSS")
        c.setblocking(False)
        chunk, sent = bytes(range(256)) * 256, 0
        while True:
            try:
                sent += c.send(chunk[sent % len(chunk):])
                continue
            except BlockingIOError:
                pass
            if not select.select([], [c], [], 0.5)[1]:
                break  # no room for half a second: the server stopped reading
        grew = s.status("VmRSS") - before
        check(grew < bound_kib, f"slow reader: {sent // 1024} KiB sent and never read; the server grew by "
              f"{grew} KiB (bound {bound_kib} KiB)")
        c.setblocking(True)
        c.settimeout(TIMEOUT / 2)
        c.shutdown(socket.SHUT_WR)
        back = bytearray()
        while chunk_back := c.recv(1 << 16):
            back += chunk_back
        check(len(back) == sent and all(back[i] == i % 256 for i in range(0, sent, 4093)),
              "slow reader: once it reads, every byte comes back, then end of file")
        c.close()
    finally:
        s.stop()
        s.kill()


def check_idle_and_max(wrap, server) -> None:
    s = Server(wrap, server, "--idle-timeout", "0.5", "--max-conns", "2")
    try:
        a, b = s.connect(), s.connect()
        # a's idle time starts when the server waits for its next message,
        # after it wrote the echo: later than this, never earlier.
        t0 = time.monotonic()
        check(echo(a, b"a") == b"a" and echo(b, b"b") == b"b", "max-conns 2: two clients served")
        third = s.connect()
        check(reads_eof(third), "max-conns 2: the third reads end of file at once")
        third.close()
        check(reads_eof(a) and 0.45 <= time.monotonic() - t0 < 30,
              f"idle-timeout 0.5: a silent client is closed after {time.monotonic() - t0:.2f} s")
        # b went silent at the same moment as a: its deadline comes a little
        # after a's. Closing it first would make it a client that left.
        check(reads_eof(b), "idle-timeout 0.5: the other silent client is closed too")
        a.close()
        b.close()
        status, out, err = s.stop()
        check(status == 0 and "1 refused (max-conns)" in out and "2 idle timeout(s)" in out,
              "idle and max-conns counted at exit", f"status {status}\n{out}{err}")
    finally:
        s.kill()


def bench_json(wrap, bench, port: int, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """echo-bench --json against the port: the run, and its JSON line ({} if none)."""
    r = subprocess.run(wrap + [bench, "--port", str(port), *args, "--json"], capture_output=True, text=True,
                       timeout=TIMEOUT)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, {}


def check_spin(wrap, server, bench) -> None:
    # --spin-us: before it sleeps, the loop looks for events a while without
    # sleeping. Under load that keeps a core busy; with nothing coming (a
    # client connected but silent) the server must still go to sleep.
    s = Server(wrap, server, "--spin-us", "2000")
    try:
        check("spin 2000 us" in s.second, "--spin-us 2000: the server says so", s.second)
        r, j = bench_json(wrap, bench, s.port, "--connections", "2", "--size", "1000", "--messages", "200")
        check(r.returncode == 0 and j.get("messages") == 400 and j.get("errors") == 0,
              "--spin-us 2000: 400 messages echoed, every byte checked", f"status {r.returncode}\n{r.stdout}{r.stderr}")
        c = s.connect()
        check(echo(c, bytes(range(256))) == bytes(range(256)), "--spin-us 2000: a client's 256 byte values")
        before = s.cpu_seconds()
        time.sleep(1.0)
        used = s.cpu_seconds() - before
        check(used < 0.3, f"--spin-us 2000, a silent client for 1 s: the server used {used:.2f} s of CPU")
        c.close()
        status, out, err = s.stop()
        check(status == 0 and ": 3 connection(s) served" in out, "--spin-us 2000: stops as usual",
              f"status {status}\n{out}{err}")
        m = re.search(r"the loop's spin found work (\d+) time\(s\) without sleeping", out)
        check(m is not None and int(m.group(1)) > 0,
              f"--spin-us 2000: the spin found work {m.group(1) if m else '?'} time(s) in 400 echoes",
              out)
    finally:
        s.kill()


def check_bench(wrap, server, bench) -> None:
    s = Server(wrap, server)
    try:
        r = subprocess.run(wrap + [bench, "--port", str(s.port), "--connections", "10", "--warmup", "0.2",
                                   "--duration", "0.5"], capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 0 and re.search(r"msg/s", r.stdout) and re.search(r"p99 [\d.]+ us", r.stdout)
              and "errors       0" in r.stdout and "closed       10 cleanly" in r.stdout,
              "echo-bench by time: its report", f"status {r.returncode}\n{r.stdout}{r.stderr}")
        r, j = bench_json(wrap, bench, s.port, "--connections", "3", "--size", "4K", "--messages", "5")
        check(r.returncode == 0 and j.get("messages") == 15 and j.get("errors") == 0 and j.get("size") == 4096,
              "echo-bench --json: one line of JSON", f"status {r.returncode}\n{r.stdout}{r.stderr}")
    finally:
        s.stop()
        s.kill()
    with socket.socket() as gone:
        gone.bind(("127.0.0.1", 0))
        port = gone.getsockname()[1]
    r = subprocess.run(wrap + [bench, "--port", str(port), "--connections", "2", "--messages", "1"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 1 and "Connection refused" in r.stdout and "errors       2" in r.stdout,
          "echo-bench with nobody there: the errors, status 1", f"status {r.returncode}\n{r.stdout}{r.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description="Check echo-server and echo-bench as programs.")
    parser.add_argument("--wrapper", default="")
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--server", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--sanitized", action="store_true",
                        help="the programs are an AddressSanitizer build")
    args = parser.parse_args()
    wrap = [w for w in re.split(r"[;\s]+", args.wrapper) if w]
    small = args.scale == "small"
    hard = raise_fd_limit()
    conns = min(1000 if small else 10000, hard - 100)
    print(f"descriptor limit (RLIMIT_NOFILE, hard): {hard}; {conns} connections", flush=True)

    # What a server that buffers nothing may still grow by while a client
    # fills its buffers: 2 MiB. Under an emulator or Valgrind, 16 MiB (their
    # own bookkeeping). Under ASan too: with detect_stack_use_after_return
    # (CFS_TEST_ENV) every call takes its frame from a "fake stack" that
    # moves on at each call, so the pages it touches grow with the number of
    # the loop's turns (each turn's 8 KiB kevent array in Loop::poll()),
    # not with what the server holds: 3.4 MiB here, 36 KiB without it.
    slow_reader_bound = 16 * 1024 if wrap or args.sanitized else 2048
    checks = [
        ("flags", lambda: check_flags(wrap, args.server, args.bench)),
        ("idle and max-conns", lambda: check_idle_and_max(wrap, args.server)),
        ("bench", lambda: check_bench(wrap, args.server, args.bench)),
        ("spin", lambda: check_spin(wrap, args.server, args.bench)),
        ("sigterm", lambda: check_sigterm(wrap, args.server, drain=2.0)),
        ("slow reader", lambda: check_slow_reader(wrap, args.server, bound_kib=slow_reader_bound)),
        ("reset and emfile", lambda: check_emfile(wrap, args.server, limit=64)),
        ("many", lambda: check_many(wrap, args.server, args.bench, conns, plain=not wrap and not small)),
    ]
    for name, run in checks:
        try:
            run()
        except Exception:  # a socket that timed out, say: that scenario failed
            check(False, f"{name}: an exception", traceback.format_exc())
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
