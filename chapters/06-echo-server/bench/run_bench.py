#!/usr/bin/env python3
"""chapters/06-echo-server/bench/run_bench.py: `make bench-06`. Four echo
servers, one load client, in one run:

  ours     echo-server: a coroutine per connection on the kqueue loop (this chapter),
           with --spin-us 50 (see SPIN_US)
  threads  ch04_threaded_echo_server: a thread per connection, blocking calls (chapter 04)
  asio     Asio's stackful-coroutine echo server, examples/cpp11/spawn/echo_server.cpp
           from Debian's libasio-doc, compiled here into the build directory
  floor    callback-echo-server: callbacks on the same kqueue shim, no coroutines

Each server runs pinned to core 0 (taskset -c 0), echo-bench to core 1, with
RLIMIT_NOFILE raised to the hard limit for both. For each message size and
connection count, each server in turn gets the same closed-loop load (a
warm-up, then the counted seconds), in --repeat rounds (default 5) with the
servers' order turned each round; each row is the round with the median
throughput. Beside each row's figures: the CPU echo-bench used while it
counted, and the CPU the server used while echo-bench ran against it (from
/proc, connecting and warm-up included). The script prints the table and
the CPU model; then, for each row's round, how evenly the server served
its connections (echo-bench's counted messages per connection: fewest,
median, most), the messages it left unanswered, and what the kernel lost
on loopback meanwhile (segments sent again, retransmission timeouts,
backlog drops, listen-queue drops: /proc, Linux only); then the ratios
against the goals two ways: of the two
rows, and the median of the rounds' own ratios (ours and the other server
ran side by side in each round).
It writes notes/echo-bench.csv, and plots throughput and p99 latency against
connections (64-byte messages) with gnuplot, as PNG and SVG, into notes/.

  python3 chapters/06-echo-server/bench/run_bench.py [--label TEXT] [--duration S]
          [--warmup S] [--warmup-per-1000 S] [--configs 64:1,64:100,...] [--servers ours,asio,...]
          [--repeat N] [--jobs N] [--no-build] [--no-files] [--self-test]

The warm-up is --warmup seconds, or --warmup-per-1000 seconds per 1,000
connections if that is longer: 10,000 clients arriving at once take the
servers seconds to accept and set up, and the counted seconds are meant for
a server in its stride. echo-bench prolongs it, if need be, until every
connection has had an echo; the table's "warm-up" column says how long it was.

--label is printed beside every figure (e.g. "sanity run on a loaded machine").
--no-files prints the table only, writing nothing into notes/.
--self-test checks the ratios' arithmetic on made-up rounds, and runs nothing.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.join(ROOT, "build", "release")
CH04 = os.path.join(BUILD, "chapters", "04-blocking-sockets")
CH06 = os.path.join(BUILD, "chapters", "06-echo-server")
ASIO_EXAMPLE = "examples/cpp11/spawn/echo_server.cpp"
SERVERS = ["ours", "threads", "asio", "floor"]
DEFAULT_CONFIGS = "64:1,64:100,64:1000,64:10000,4096:100"
# Ours looks for events this long without sleeping before its loop sleeps
# (Loop::set_spin()). Asio's example hardly sleeps while a connection is
# busy: each read re-arms its timer, the cancelled wait posts a handler, and
# a reactor with handlers queued polls epoll without waiting; a server that
# sleeps pays a wake-up per message instead (chapter 06, "Spinning before
# sleeping"). 50 us is longer than a whole round trip at one connection on
# the machine it was chosen on (20 to 40 us). The table's server-CPU column
# shows what spinning costs.
SPIN_US = 50
# echo-bench's --timeout: a connection whose echo takes longer has failed.
CLIENT_TIMEOUT_S = 30
# What kernel_counters() reads, as printed: TCP segments sent again,
# retransmission timeouts, backlog drops, handshakes a full listen queue dropped.
KERNEL_KEYS = ("resent", "timeouts", "dropped", "listen_drops")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cpu_model() -> str:
    """`lscpu`'s model name, with its family and model numbers."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown CPU"
    def field(name: str) -> str:
        m = re.search(rf"^{re.escape(name)}:\s*(.+)$", out, re.M)
        return m.group(1).strip() if m else "?"
    model, family, number, cpus = field("Model name"), field("CPU family"), field("Model"), field("CPU(s)")
    return f"{model} (family {family}, model {number}), {cpus} CPUs"


def asio_source() -> str:
    """Where Debian's libasio-doc put the example (dpkg -L says)."""
    out = subprocess.run(["dpkg", "-L", "libasio-doc"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.endswith(ASIO_EXAMPLE):
            return line
    sys.exit(f"run_bench: {ASIO_EXAMPLE} not found in libasio-doc: `make setup` installs it")


def build(jobs: int) -> str:
    """The release build of what is measured; returns the Asio server's path."""
    subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "--preset", "release", "-j", str(jobs), "--target",
                    "ch06_echo_server", "ch06_echo_bench", "ch06_callback_echo_server",
                    "ch04_threaded_echo_server"], cwd=ROOT, check=True)
    source, binary = asio_source(), os.path.join(BUILD, "asio", "asio_spawn_echo_server")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        os.makedirs(os.path.dirname(binary), exist_ok=True)
        log(f"run_bench: compiling {source}")
        # -O3 -DNDEBUG as CMake's Release builds ours; Asio's spawn() runs on
        # Boost.Coroutine (deprecated in favour of Coroutine2, hence the define).
        subprocess.run(["g++", "-std=c++17", "-O3", "-DNDEBUG", "-DBOOST_COROUTINES_NO_DEPRECATION_WARNING",
                        "-DBOOST_ALLOW_DEPRECATED_HEADERS", source, "-o", binary,
                        "-lboost_coroutine", "-lboost_context", "-pthread"], check=True)
    return binary


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, command: list[str], port: int | None):
        self.name = name
        self.proc = subprocess.Popen(["taskset", "-c", "0"] + command, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, preexec_fn=raise_fd_limit)
        if port is None:  # it prints "listening on HOST:PORT"
            line = self.proc.stdout.readline().decode()
            m = re.search(r"listening on \S+:(\d+)", line)
            if not m:
                self.stop()
                sys.exit(f"run_bench: {name} did not say where it listens: {line!r}")
            port = int(m.group(1))
        self.port = port
        self.pid = self.proc.pid  # taskset execs the server: the same process
        for _ in range(200):  # until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit(f"run_bench: {name} does not accept connections on port {port}")

    def cpu_seconds(self) -> float:
        """User and system time the server has used so far (/proc/PID/stat)."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_servers(names: list[str], asio: str) -> dict[str, Server]:
    commands = {
        "ours": ([os.path.join(CH06, "echo-server"), "--port", "0", "--max-conns", "20000",
                  "--spin-us", str(SPIN_US)], None),
        "threads": ([os.path.join(CH04, "ch04_threaded_echo_server"), "--port", "0"], None),
        "floor": ([os.path.join(CH06, "callback-echo-server"), "--port", "0"], None),
    }
    asio_port = free_port()
    commands["asio"] = ([asio, str(asio_port)], asio_port)
    return {n: Server(n, *commands[n]) for n in names}


def kernel_counters() -> dict[str, int]:
    """Loopback trouble the kernel counts for this network namespace (Linux;
    {} elsewhere, or where /proc/net is not readable): TCP segments sent
    again, retransmission timeouts that fired, packets dropped because a
    CPU's backlog of received packets was full (loopback delivers through
    it: net.core.netdev_max_backlog), and handshakes dropped because a
    listen queue was full. A lost segment usually waits for a timeout of
    200 ms or more (a lost handshake 1 s), and that shows in the p99 of
    whoever lost it."""
    try:
        with open("/proc/net/snmp") as f:
            tcp = [line.split() for line in f if line.startswith("Tcp:")]
        with open("/proc/net/netstat") as f:
            ext = [line.split() for line in f if line.startswith("TcpExt:")]
        with open("/proc/net/softnet_stat") as f:
            dropped = sum(int(line.split()[1], 16) for line in f if line.strip())
        tcp_ext = dict(zip(ext[0], ext[1]))
        return {"resent": int(dict(zip(tcp[0], tcp[1]))["RetransSegs"]),
                "timeouts": int(tcp_ext["TCPTimeouts"]), "dropped": dropped,
                "listen_drops": int(tcp_ext["ListenDrops"])}
    except (OSError, IndexError, KeyError, ValueError):
        return {}


def measure(server: Server, size: int, conns: int, warmup: float, duration: float) -> dict:
    command = ["taskset", "-c", "1", os.path.join(CH06, "echo-bench"), "--port", str(server.port),
               "--connections", str(conns), "--size", str(size), "--warmup", str(warmup),
               "--duration", str(duration), "--close-wait", "0", "--timeout", str(CLIENT_TIMEOUT_S),
               "--connecting", "64", "--json"]
    cpu0, wall0, kernel0 = server.cpu_seconds(), time.monotonic(), kernel_counters()
    r = subprocess.run(command, capture_output=True, text=True, preexec_fn=raise_fd_limit,
                       timeout=warmup + duration + 300)
    server_cpu = (server.cpu_seconds() - cpu0) / max(time.monotonic() - wall0, 1e-9)
    try:
        result = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {"msg_per_s": 0, "mb_per_s": 0, "p50_us": 0, "p99_us": 0, "p999_us": 0,
                  "max_us": 0, "errors": conns, "client_cpu": 0, "connected": 0, "warmup_s": 0,
                  "fewest_per_conn": 0, "median_per_conn": 0, "most_per_conn": 0,
                  "unanswered": 0}
    result["server_cpu"] = server_cpu
    kernel1 = kernel_counters()  # over the whole run of echo-bench, connecting included
    for key in KERNEL_KEYS:
        result[key] = kernel1[key] - kernel0[key] if key in kernel0 and key in kernel1 else None
    if r.returncode != 0:
        result["note"] = (r.stdout + r.stderr).strip().splitlines()[-1:] or ["?"]
    return result


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput (the lower middle of an even
    count): its latencies and CPU come with it, from one and the same run."""
    ordered = sorted(runs, key=lambda r: r["msg_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def print_table(rows: list[dict], header: str) -> None:
    print(header)
    print(f"{'size':>6} {'conns':>6}  {'server':<8} {'msg/s':>10} {'MB/s':>8} {'p50 us':>8} "
          f"{'p99 us':>8} {'p99.9 us':>9} {'max us':>9} {'errors':>6} {'client CPU':>10} {'server CPU':>10} "
          f"{'warm-up':>7}  "
          f"rounds' msg/s")
    for r in rows:
        print(f"{r['size']:>6} {r['connections']:>6}  {r['server']:<8} {r['msg_per_s']:>10.0f} "
              f"{r['mb_per_s']:>8.2f} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f} {r['p999_us']:>9.1f} "
              f"{r['max_us']:>9.1f} {r['errors']:>6} {100 * r['client_cpu']:>9.0f}% "
              f"{100 * r['server_cpu']:>9.0f}% {r['warmup_s']:>6.1f}s  "
              + " ".join(f"{x:.0f}" for x in r.get("rounds_msg_per_s", []))
              + (f"  ({r['note'][0]})" if r.get("note") else ""))


def print_shares(rows: list[dict]) -> None:
    """What the latency percentiles mix together: how evenly each server
    served its connections (counted messages per connection), and what the
    kernel lost on loopback meanwhile; for each row's round, and under it
    for the round with the highest p99 if that was 1.5 times the row's or
    more (a tail that came in one round: what else came with it?)."""
    print(f"\nShares and losses, each row's round. Counted messages per connection: fewest, median,\n"
          f"most (a fair server gives all about the same); unanswered: messages not echoed within\n"
          f"{CLIENT_TIMEOUT_S} s (in no percentile). What the kernel counted while echo-bench ran, connecting\n"
          f"and warm-up included (n/a: not Linux): TCP segments sent again, retransmission timeouts,\n"
          f"packets a full backlog dropped, handshakes a full listen queue dropped. Under a row, its\n"
          f"worst round, if its p99 was 1.5 times the row's or more.")
    print(f"{'size':>6} {'conns':>6}  {'server':<8} {'fewest':>7} {'median':>7} {'most':>7} "
          f"{'unanswered':>10} {'resent':>7} {'timeouts':>8} {'dropped':>8} {'listen drops':>12}")
    na = lambda v: "n/a" if v is None else str(v)
    def line(size: object, conns: object, server: str, r: dict) -> str:
        return (f"{size:>6} {conns:>6}  {server:<8} {r['fewest_per_conn']:>7} "
                f"{r['median_per_conn']:>7} {r['most_per_conn']:>7} {r['unanswered']:>10} "
                f"{na(r.get('resent')):>7} {na(r.get('timeouts')):>8} {na(r.get('dropped')):>8} "
                f"{na(r.get('listen_drops')):>12}")
    for r in rows:
        print(line(r["size"], r["connections"], r["server"], r))
        worst = r.get("worst")
        if worst and r["p99_us"] and worst["p99_us"] >= 1.5 * r["p99_us"]:
            print(line("", "", "  worst", worst) + f"  (p99 {worst['p99_us'] / 1000:.1f} ms, "
                  f"p50 {worst['p50_us'] / 1000:.1f} ms, {worst['msg_per_s']:.0f} msg/s)")


def ratio_cells(ours: dict, other: dict, key: str, invert: bool = False) -> tuple[float, float, list[float]] | None:
    """ours over other (other over ours for latency, so that more is better
    in every column): from the two rows (each server's median round), the
    median of the rounds' own ratios, and those ratios. Round i of ours and
    round i of the other ran within a minute of each other, on the same
    state of the machine; the pairs cancel a drift that the medians of
    separate rounds do not."""
    def r(a: float, b: float) -> float:
        return (b / a if invert else a / b) if a and b else 0.0
    pairs = [r(a, b) for a, b in zip(ours.get(f"rounds_{key}", []), other.get(f"rounds_{key}", []))]
    pairs = [x for x in pairs if x]
    if not pairs or not r(ours[key], other[key]):
        return None
    return r(ours[key], other[key]), sorted(pairs)[(len(pairs) - 1) // 2], pairs


def print_ratios(rows: list[dict]) -> None:
    by = {(r["size"], r["connections"], r["server"]): r for r in rows}
    configs = sorted({(r["size"], r["connections"]) for r in rows})
    print("\nRatios, higher is better for ours. Goals: ours/asio throughput >= 1.0x, ours/floor >= 0.9x,\n"
          "ours' p99 no worse than asio's (asio/ours p99 >= 1.0x). Where a server left messages\n"
          "unanswered, its percentiles are over the connections it answered, fewer in flight: the\n"
          "p99 line says so.\n"
          "'rows': the ratio of the two rows above; 'rounds': the median of each round's own ratio "
          "(the pair ran minutes apart at most), then each round's.")
    print(f"{'size':>6} {'conns':>6}  {'ratio':<18} {'goal':>5} {'rows':>7} {'rounds':>7}  each round")
    for size, conns in configs:
        get = lambda s: by.get((size, conns, s))
        ours = get("ours")
        if not ours:
            continue
        for other, key, goal, invert, name in [(get("asio"), "msg_per_s", 1.0, False, "ours/asio msg/s"),
                                               (get("floor"), "msg_per_s", 0.9, False, "ours/floor msg/s"),
                                               (get("threads"), "msg_per_s", None, False, "ours/threads msg/s"),
                                               (get("asio"), "p99_us", 1.0, True, "asio/ours p99")]:
            cells = ratio_cells(ours, other, key, invert) if other else None
            if cells is None:
                continue
            rows_x, rounds_x, each = cells
            verdict = ("" if goal is None else
                       "  met" if rows_x >= goal and rounds_x >= goal else
                       "  NOT MET" if rows_x < goal and rounds_x < goal else "  met by one measure")
            if invert:  # latency: over the same connections?
                verdict += "".join(f" ({r['server']} left {max(r['rounds_unanswered'])} of {conns} "
                                   f"unanswered in a round)" for r in (ours, other)
                                   if max(r.get("rounds_unanswered", [0])) > 0)
            print(f"{size:>6} {conns:>6}  {name:<18} {'' if goal is None else f'{goal:.1f}x':>5} "
                  f"{rows_x:>6.2f}x {rounds_x:>6.2f}x  " + " ".join(f"{x:.2f}" for x in each) + verdict)


def plot(rows: list[dict], prefix: str, title: str) -> list[str]:
    """Throughput and p99 against connections (64-byte messages), PNG and SVG."""
    if not shutil.which("gnuplot"):
        log("run_bench: no gnuplot: no plots (`make setup` installs gnuplot-nox)")
        return []
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = [s for s in SERVERS if any(r["server"] == s and r["size"] == 64 for r in rows)]
        for s in servers:
            with open(os.path.join(tmp, f"{s}.dat"), "w") as f:
                for r in sorted((r for r in rows if r["server"] == s and r["size"] == 64),
                                key=lambda r: r["connections"]):
                    f.write(f"{r['connections']} {r['msg_per_s']} {r['p99_us']}\n")
        names = {"ours": "ours (coroutine per connection)", "threads": "thread per connection (ch. 04)",
                 "asio": "Asio spawn (Boost.Coroutine)", "floor": "callbacks, no coroutines"}
        for what, column, ylabel, logy in [("throughput", 2, "messages per second", False),
                                           ("p99", 3, "p99 round trip (microseconds)", True)]:
            for term, ext in [("pngcairo size 900,560 font 'sans,10'", "png"),
                              ("svg size 900,560 dynamic font 'sans,10'", "svg")]:
                out = f"{prefix}-{what}.{ext}"
                lines = ", ".join(f"'{tmp}/{s}.dat' using 1:{column} with linespoints lw 2 "
                                  f"title '{names[s]}'" for s in servers)
                script = (f"set terminal {term}\nset output '{out}'\n"
                          f"set title \"{title}\" noenhanced\nset logscale x\n"
                          f"{'set logscale y' if logy else 'set yrange [0:*]'}\n"
                          f"set xlabel 'connections (64-byte messages, closed loop)'\n"
                          f"set ylabel '{ylabel}'\nset grid\nset key outside bottom center horizontal\n"
                          f"set xtics ('1' 1, '10' 10, '100' 100, '1000' 1000, '10000' 10000)\n"
                          f"plot {lines}\n")
                subprocess.run(["gnuplot"], input=script, text=True, check=True)
                written.append(out)
    return written


def self_test() -> int:
    """The arithmetic of the ratios, on made-up rounds (no server runs)."""
    import contextlib
    import io

    def row(server: str, msgs: list[float], p99s: list[float], unanswered: list[int] | None = None) -> dict:
        mid = median_run([{"msg_per_s": m, "p99_us": p} for m, p in zip(msgs, p99s)])
        return {"size": 64, "connections": 100, "server": server, **mid, "rounds_msg_per_s": msgs,
                "rounds_p99_us": p99s, "rounds_unanswered": unanswered or [0] * len(msgs)}

    # The machine runs twice as fast from the middle of round 2 on: ours
    # had it fast in rounds 2 and 3, asio only in round 3. The rows' ratio
    # says 2.2x; every round, run side by side, says 1.1x or (round 2) 2.2x.
    ours = row("ours", [110, 220, 220], [90, 45, 45])
    asio = row("asio", [100, 100, 200], [100, 100, 50])
    rows_x, rounds_x, each = ratio_cells(ours, asio, "msg_per_s")
    assert (rows_x, rounds_x) == (2.2, 1.1), (rows_x, rounds_x)
    assert [round(x, 2) for x in each] == [1.1, 2.2, 1.1], each
    # Latency is inverted, so that more is better in every column: asio/ours.
    rows_p, rounds_p, _ = ratio_cells(ours, asio, "p99_us", invert=True)
    assert (round(rows_p, 2), round(rounds_p, 2)) == (2.22, 1.11), (rows_p, rounds_p)
    # A failed run (0 msg/s) takes no part in the rounds' median.
    failed = row("floor", [0, 200, 200], [0, 50, 50])
    assert ratio_cells(ours, failed, "msg_per_s")[2] == [1.1, 1.1]
    # The verdict: met by both, by one, by neither.
    slow = row("floor", [300, 300, 120], [10, 10, 10])  # ours/floor: rows 0.73x, rounds 0.73x
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_ratios([ours, asio, slow])
    lines = {line.split()[2]: line for line in out.getvalue().splitlines() if line.startswith("    64")}
    assert lines["ours/asio"].endswith("met"), lines
    assert lines["asio/ours"].endswith("met"), lines
    assert lines["ours/floor"].endswith("NOT MET"), lines
    half = row("asio", [200, 100, 300], [100, 100, 100])  # rows 1.1x, rounds 0.73x
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_ratios([ours, half])
    line = next(line for line in out.getvalue().splitlines() if "ours/asio msg/s" in line)
    assert "1.10x   0.73x  0.55 2.20 0.73  met by one measure" in line, line
    assert "unanswered" not in out.getvalue().split("each round")[-1]  # none: no note
    # Asio leaves 7 connections unanswered in one round: the p99 line says so.
    lossy = row("asio", [100, 100, 100], [100, 100, 100], [0, 7, 0])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_ratios([ours, lossy])
    line = next(line for line in out.getvalue().splitlines()
                if line.startswith("    64") and "asio/ours p99" in line)
    assert line.endswith("met (asio left 7 of 100 unanswered in a round)"), line
    # A row's worst round is shown under it when its p99 was 1.5 times the row's.
    def result(p99: float, fewest: int) -> dict:
        return {"p99_us": p99, "p50_us": p99 / 2, "msg_per_s": 1000, "fewest_per_conn": fewest,
                "median_per_conn": 9, "most_per_conn": 9, "unanswered": 0}
    calm = {"size": 64, "connections": 100, "server": "ours", **result(100, 9), "worst": result(140, 9)}
    tail = {**calm, "server": "floor", "worst": result(400, 1)}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_shares([calm, tail])
    table = out.getvalue().splitlines()[-3:]
    assert table[0].split()[:4] == ["64", "100", "ours", "9"], table
    assert table[1].split()[:2] == ["64", "100"] and "floor" in table[1], table
    assert table[2].split()[:2] == ["worst", "1"] and "(p99 0.4 ms, p50 0.2 ms, 1000 msg/s)" in table[2], table
    # The kernel's counters parse here (Linux, where /proc/net is readable), and only go up.
    before = kernel_counters()
    if before:
        assert set(before) == set(KERNEL_KEYS), before
        after = kernel_counters()
        assert all(0 <= before[k] <= after[k] for k in before), (before, after)
    print("run_bench self-test: ratios, rounds' medians and verdicts as expected; kernel counters read")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="make bench-06: four echo servers, one load client.")
    parser.add_argument("--label", default="", help="printed beside every figure")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--warmup", type=float, default=1.0,
                        help="seconds of warm-up, or --warmup-per-1000 per 1,000 connections if longer")
    parser.add_argument("--warmup-per-1000", type=float, default=0.5,
                        help="warm-up seconds per 1,000 connections (default 0.5: 5 s at 10,000)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="rounds per row, servers interleaved; the median round is kept (default 5)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="SIZE:CONNS,...")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--jobs", type=int, default=1, help="build jobs (default 1)")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-files", action="store_true", help="print only; write nothing into notes/")
    parser.add_argument("--self-test", action="store_true", help="check the ratios' arithmetic, run nothing")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    names = [s for s in args.servers.split(",") if s]
    unknown = [s for s in names if s not in SERVERS]
    if unknown:
        sys.exit(f"run_bench: unknown server(s) {unknown}: pick from {SERVERS}")
    configs = [tuple(int(x) for x in c.split(":")) for c in args.configs.split(",")]
    if not shutil.which("taskset"):
        sys.exit("run_bench: needs taskset (util-linux) to pin the server and the client")

    asio = os.path.join(BUILD, "asio", "asio_spawn_echo_server") if args.no_build else build(args.jobs)
    if "asio" in names and not os.path.exists(asio):
        sys.exit(f"run_bench: {asio} is not built: run once without --no-build")
    raise_fd_limit()
    cpu = cpu_model()
    when = datetime.date.today().isoformat()
    label = f"; {args.label}" if args.label else ""
    header = (f"\nEcho servers, {when}, {cpu}; server on core 0, echo-bench on core 1; "
              f"{args.warmup:g} s warm-up (or {args.warmup_per_1000:g} s per 1,000 connections), "
              f"{args.duration:g} s counted per run; "
              f"each row the median of {args.repeat} round(s), servers interleaved; "
              f"RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)[1]}{label}\n")
    log(header.strip())
    servers = start_servers(names, asio)
    rows = []
    try:
        for size, conns in configs:
            # Rounds, each over every server, the order turned by one each
            # round: a machine whose speed drifts (a virtual one, with
            # neighbours) then favours no server, and one bad round does not
            # decide a row.
            runs: dict[str, list[dict]] = {name: [] for name in names}
            for round_ in range(args.repeat):
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    log(f"run_bench: {name:<8} {conns:>6} connections, {size}-byte messages "
                        f"(round {round_ + 1} of {args.repeat}) ...")
                    warmup = max(args.warmup, args.warmup_per_1000 * conns / 1000)
                    runs[name].append(measure(servers[name], size, conns, warmup, args.duration))
                    time.sleep(0.5)  # let the last connections' teardown settle
            for name in names:
                r = median_run(runs[name])
                rows.append({"date": when, "cpu": cpu, "label": args.label, "server": name,
                             "size": size, "connections": conns, **{k: r.get(k, 0) for k in (
                                 "msg_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "max_us",
                                 "errors", "client_cpu", "server_cpu", "warmup_s", "fewest_per_conn",
                                 "median_per_conn", "most_per_conn", "unanswered")},
                             **{k: r.get(k) for k in KERNEL_KEYS}, "note": r.get("note"),
                             "rounds_msg_per_s": [x["msg_per_s"] for x in runs[name]],
                             "rounds_p99_us": [x["p99_us"] for x in runs[name]],
                             "rounds_unanswered": [x["unanswered"] for x in runs[name]],
                             "worst": max(runs[name], key=lambda x: x["p99_us"])})
    finally:
        for s in servers.values():
            s.stop()

    print_table(rows, header)
    print_shares(rows)
    print_ratios(rows)
    if not args.no_files:
        notes = os.path.join(ROOT, "notes")
        path = os.path.join(notes, "echo-bench.csv")
        with open(path, "w", newline="") as f:
            fields = ["date", "cpu", "label", "server", "size", "connections", "msg_per_s", "mb_per_s",
                      "p50_us", "p99_us", "p999_us", "max_us", "errors", "client_cpu", "server_cpu",
                      "warmup_s", "fewest_per_conn", "median_per_conn", "most_per_conn",
                      "unanswered", *KERNEL_KEYS]
            w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        title = f"Echo servers, {cpu}, {when}{label}"
        written = [path] + plot(rows, os.path.join(notes, "echo-bench"), title)
        print("\nwrote " + ", ".join(os.path.relpath(p, ROOT) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
