#!/usr/bin/env python3
"""tests/lldb_session.py: run an lldb command file against a program, natively
or under qemu's gdb stub, and hand back what lldb printed.

The chapters' walk-throughs (chapters/NN-*/walkthrough.lldb) are plain lldb
command files. They set breakpoints and `continue`, but never start the
program themselves: starting it is the one step that differs between a native
run and an emulated one, so this runner does it, then sources the file.

  native:    lldb -o "target create PROG" -o "process launch --stop-at-entry"
                  -o <prelude> -o "command source SCRIPT"
  emulated:  qemu-aarch64 -L /usr/aarch64-linux-gnu -g PORT PROG   (halted at
             its first instruction, waiting for a debugger), then
             lldb -o "target create PROG" -o "gdb-remote PORT"
                  -o <prelude> -o "command source SCRIPT"

The prelude defines two command aliases whose definition depends on the
architecture (read from the program's ELF or Mach-O header), so that the
walk-throughs themselves stay the same on all of them:

  return-address   at a function's first instruction, where the call will
                   return to: AArch64 keeps it in lr (x30), RISC-V in ra,
                   x86-64's `call` pushed it at [sp].
  saved-frame      the frame cfs_switch saves, read at sp, one 8-byte slot a
                   line, symbolised: 20 slots on AArch64, 8 on x86-64, 26 on
                   RISC-V 64 (see asm/<arch>/switch.S). Its last slot is the
                   return address.

RISC-V 64 needs one more thing before lldb attaches: Debian's lldb 14 has no
RISC-V ABI plugin and does not know by itself which of qemu's registers is
pc, sp, fp or ra, so the runner first points it at a file that says so
(tests/riscv64_target_definition.py, which explains what works with it).
Under qemu, the runner also adds the target's library directory (qemu's -L
prefix + /lib) to lldb's target.exec-search-paths, so that lldb finds the
program's shared libraries and a breakpoint on a libc function resolves.

Command line (python3 only, no packages beyond the standard library):

  python3 tests/lldb_session.py --lldb LLDB --emulator=EMU --program PROG
                                [--script FILE] [--batch] [--timeout SECONDS]

  --lldb      the lldb to run (e.g. lldb or /usr/bin/lldb)
  --emulator  empty for a native run; otherwise the emulator command as CMake
              writes CMAKE_CROSSCOMPILING_EMULATOR, a ;-separated list, e.g.
              --emulator="qemu-aarch64;-L;/usr/aarch64-linux-gnu"
              (spaces separate too). Only qemu-user's `-g PORT` is supported.
  --program   the program to debug
  --script    the lldb command file to source after the program is stopped
              at its entry (optional: without it you get just the stopped
              program and the prelude)
  --batch     run lldb with -b and exit when the file is done; print lldb's
              transcript, then the program's own output. Without --batch
              (interactive: `make lldb-NN LLDB=interactive`), lldb sources
              the file only up to its first `continue`, so it stops at the
              walk-through's first stop, with the file's breakpoints set and
              its commands loaded (cfs_lldb.py), and leaves you at its
              prompt there: to step (`thread step-inst`), to read, or to
              `command source` the rest of the file, whose path it prints.
              The program's output then goes to the terminal.
  --timeout   batch mode only: give up after this many seconds (default 90)

Exit status in batch mode: 0 if lldb and the program both exited with 0.

From Python (the walk-through checks do this):

  sys.path.insert(0, <repo>/tests); import lldb_session
  result = lldb_session.run(lldb, emulator, program, script)
  result.transcript        lldb's output (its stderr too)
  result.program_output    the program's stdout and stderr
  result.lldb_status, result.program_status (None if unknown)
  lldb_session.commands(result.transcript)   -> [(command, its output), ...]

lldb's Python is not needed, but Debian's lldb 14 prints a traceback at start
unless PYTHONPATH names its Python package (and, under pyenv or a venv,
PYTHONHOME=/usr); lldb_environment() sets both when it finds the package.
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEFAULT_TIMEOUT = 90.0  # seconds, for the whole session

# The architecture-dependent aliases (see the header comment).
PRELUDE = {
    "x86_64": [
        "command alias return-address memory read --size 8 --format A --count 1 $sp",
        "command alias saved-frame memory read --size 8 --format A --count 8 $sp",
    ],
    "aarch64": [
        "command alias return-address register read lr",
        "command alias saved-frame memory read --size 8 --format A --count 20 $sp",
    ],
    "riscv64": [
        "command alias return-address register read ra",
        "command alias saved-frame memory read --size 8 --format A --count 26 $sp",
    ],
}

# Settings that must be in place before lldb attaches, per architecture.
TARGET_DEFINITION = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "riscv64_target_definition.py")
BEFORE_ATTACH = {
    "riscv64": [
        "settings set plugin.process.gdb-remote.target-definition-file "
        + shlex.quote(TARGET_DEFINITION),
    ],
}


@dataclasses.dataclass
class Result:
    transcript: str  # everything lldb printed
    program_output: str  # what the program itself printed
    lldb_status: int | None  # lldb's exit status (None: killed on timeout)
    program_status: int | None  # the emulator's exit status; None when native
    timed_out: bool = False
    command_line: list[str] = dataclasses.field(default_factory=list)


def architecture(program: str) -> str:
    """'x86_64', 'aarch64' or 'riscv64', from the executable's ELF or
    Mach-O header."""
    with open(program, "rb") as f:
        head = f.read(20)
    if head[:4] == b"\x7fELF":
        byteorder = "little" if head[5] == 1 else "big"
        machine = int.from_bytes(head[18:20], byteorder)
        names = {0x3E: "x86_64", 0xB7: "aarch64"}
        if head[4] == 2:  # ELFCLASS64: EM_RISCV names RV32 and RV64 alike
            names[0xF3] = "riscv64"
    elif head[:4] == b"\xcf\xfa\xed\xfe":  # 64-bit Mach-O, little-endian
        machine = int.from_bytes(head[4:8], "little")
        names = {0x01000007: "x86_64", 0x0100000C: "aarch64"}
    else:
        raise ValueError(f"{program}: neither ELF nor 64-bit Mach-O")
    if machine not in names:
        raise ValueError(f"{program}: unsupported machine {machine:#x}")
    return names[machine]


def split_emulator(emulator: str | list[str] | None) -> list[str]:
    """CMake's ;-separated CMAKE_CROSSCOMPILING_EMULATOR (or a shell-like
    string, or a list) as an argument list; empty for a native run."""
    if not emulator:
        return []
    if isinstance(emulator, list):
        return emulator
    return [word for part in emulator.split(";") for word in shlex.split(part)]


def lldb_environment() -> dict[str, str]:
    """os.environ, plus what Debian's lldb needs to start its Python quietly
    (Debian 12's lldb 14: `lldb -P` names a directory that does not exist,
    and `script` then fails with "No module named
    'lldb.embedded_interpreter'"): PYTHONPATH naming its `lldb` package, and
    PYTHONHOME=/usr, because lldb's Python otherwise takes its prefix from
    the first python3 on PATH, which under pyenv or a venv is another Python
    that lacks Debian's modules (`No module named 'six'`)."""
    env = dict(os.environ)
    found = sorted(glob.glob("/usr/lib/llvm-*/lib/python3.*/dist-packages/lldb/embedded_interpreter.py"))
    if found:
        package_dir = os.path.dirname(os.path.dirname(found[-1]))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_dir, env.get("PYTHONPATH")]))
        version = package_dir.split("/lib/")[-1].split("/")[0]  # "python3.11"
        if os.path.exists(f"/usr/lib/{version}/os.py"):
            env["PYTHONHOME"] = "/usr"
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_socket_inodes(pgid: int) -> set[str]:
    """Inodes of the sockets open in process group `pgid` (the emulator and,
    if it is a wrapper, what it started)."""
    inodes = set()
    for proc_dir in glob.glob("/proc/[0-9]*"):
        try:
            with open(f"{proc_dir}/stat") as f:
                fields_after_name = f.read().rsplit(")", 1)[1].split()
            if int(fields_after_name[2]) != pgid:  # field 5 of stat: pgrp
                continue
            fds = os.listdir(f"{proc_dir}/fd")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to look at
        for fd in fds:
            try:
                target = os.readlink(f"{proc_dir}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    return inodes


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets in state LISTEN on `port` (/proc/net/tcp{,6})."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A":  # 0A = LISTEN
                inodes.add(fields[9])
    return inodes


def wait_until_listening(proc: subprocess.Popen, port: int, deadline: float) -> bool:
    """Waits until `proc` (started with start_new_session, so it leads its
    own process group) listens on `port`. We must not probe by connecting:
    qemu-user serves the first connection only, and a probe would take it.
    So we look for a LISTEN socket on the port that is open in proc's
    process group. False if proc exits or time runs out."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        listening = _listening_inodes(port)
        if listening and listening & _group_socket_inodes(proc.pid):
            return True
        time.sleep(0.02)  # poll again; the condition decides, not the sleep
    return False


def _kill(proc: subprocess.Popen | None) -> None:
    """Ends proc and whatever it started (its own process group)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def _interactive(cmd: list[str], env: dict[str, str]) -> int:
    """Runs lldb on this terminal. Ctrl-C belongs to lldb (it interrupts the
    program), so this process ignores it meanwhile; lldb gets the default."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(
            cmd, env=env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    finally:
        signal.signal(signal.SIGINT, previous)


_CONTINUE = ("continue", "c", "process continue")


def split_at_first_stop(script: str, directory: str) -> tuple[str, str]:
    """Writes the command file `script` into `directory` as two files: its
    lines up to and including the first `continue` (the breakpoints, the
    imports, and the run to the first stop), and the rest. A file sourced
    from another directory would look for --relative-to-command-file paths
    there, so those become absolute paths into the script's own directory.
    Returns the two paths."""
    base = os.path.dirname(os.path.abspath(script))
    with open(script, encoding="utf-8") as f:
        lines = f.read().splitlines()
    relative = re.compile(r"^(\s*command\s+(?:script\s+import|source))\s+"
                          r"(?:--relative-to-command-file|-c)\s+(\S+)\s*$")
    lines = [relative.sub(lambda m: f"{m.group(1)} {shlex.quote(os.path.join(base, m.group(2)))}",
                          line) for line in lines]
    cut = next((i + 1 for i, line in enumerate(lines) if line.strip() in _CONTINUE), len(lines))
    paths = []
    for name, part in (("first-stop.lldb", lines[:cut]), ("rest.lldb", lines[cut:])):
        paths.append(os.path.join(directory, name))
        with open(paths[-1], "w", encoding="utf-8") as f:
            f.write("\n".join(part) + "\n")
    return paths[0], paths[1]


def emulator_libraries(emulator: list[str]) -> str | None:
    """The target's library directory under qemu-user's -L prefix (e.g.
    /usr/riscv64-linux-gnu/lib), or None."""
    for flag, value in zip(emulator, emulator[1:]):
        if flag == "-L":
            return os.path.join(value, "lib")
    return None


def _lldb_command(lldb: str, program: str, attach: str, arch: str,
                  script: str | None, batch: bool, rest: str | None = None,
                  libraries: str | None = None) -> list[str]:
    cmd = [lldb]
    if batch:
        # -x: ignore ~/.lldbinit; -b: quit when done; -k: if the program
        # crashes, show where before quitting.
        cmd += ["-x", "-b", "-k", "thread backtrace all"]
    for line in BEFORE_ATTACH.get(arch, []):
        cmd += ["-o", line]
    if libraries:
        # Under qemu, lldb learns the program's shared libraries by the paths
        # the program sees (/lib/libc.so.6): look for them under -L instead,
        # so that a breakpoint on a libc function resolves.
        cmd += ["-o", f"settings append target.exec-search-paths {shlex.quote(libraries)}"]
    cmd += ["-o", f"target create {shlex.quote(program)}", "-o", attach]
    for line in PRELUDE[arch]:
        cmd += ["-o", line]
    if script:
        cmd += ["-o", f"command source {shlex.quote(script)}"]
    if rest:  # lldb echoes a comment: the reader sees where the rest is
        cmd += ["-o", "# Stopped at the walk-through's first stop. Step with `thread step-inst`, "
                      f"go on with `continue`, or run the rest of it: command source {rest}"]
    return cmd


def run(lldb: str, emulator, program: str, script: str | None,
        batch: bool = True, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Runs the session; see the header comment. In interactive mode
    (batch=False) lldb uses the terminal, stops at the script's first
    stop, and the transcript stays empty."""
    emulator = split_emulator(emulator)
    program = os.path.abspath(program)
    script = os.path.abspath(script) if script else None
    arch = architecture(program)
    env = lldb_environment()
    deadline = time.monotonic() + timeout

    with tempfile.TemporaryDirectory(prefix="lldb-session-") as tmp:
        out_path = os.path.join(tmp, "program.out")
        err_path = os.path.join(tmp, "program.err")  # native runs only
        qemu = None
        try:
            if emulator:
                # A port picked now could be taken before qemu binds it; then
                # qemu exits at once, and we try again with another.
                for _ in range(5):
                    port = free_port()
                    out = open(out_path, "wb") if batch else None
                    qemu = subprocess.Popen(
                        emulator + ["-g", str(port), program],
                        stdin=subprocess.DEVNULL, stdout=out,
                        stderr=subprocess.STDOUT if batch else None,
                        start_new_session=True)
                    if out:
                        out.close()
                    if wait_until_listening(qemu, port, deadline):
                        break
                    _kill(qemu)
                else:
                    raise RuntimeError(
                        f"{' '.join(emulator)} never listened on a gdb port:\n"
                        + (_read(out_path) if batch else ""))
                attach = f"gdb-remote {port}"
            else:
                attach = "process launch --stop-at-entry"
                if batch:  # two files: lldb opens each path on its own
                    attach += (f" --stdout {shlex.quote(out_path)}"
                               f" --stderr {shlex.quote(err_path)}")
            if not batch:
                rest = None
                if script:
                    script, rest = split_at_first_stop(script, tmp)
                cmd = _lldb_command(lldb, program, attach, arch, script, batch, rest,
                                    emulator_libraries(emulator))
                return Result("", "", _interactive(cmd, env), None, command_line=cmd)
            cmd = _lldb_command(lldb, program, attach, arch, script, batch,
                                libraries=emulator_libraries(emulator))

            lldb_proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, start_new_session=True)
            timed_out = False
            try:
                transcript, _ = lldb_proc.communicate(
                    timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(lldb_proc)
                transcript, _ = lldb_proc.communicate()
            program_status = None
            if qemu is not None:
                # lldb is gone, so the program runs on undebugged (or has
                # exited already): give it what is left of the time.
                try:
                    program_status = qemu.wait(timeout=max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    timed_out = True
                    _kill(qemu)
            output = _read(out_path) if os.path.exists(out_path) else ""
            if os.path.exists(err_path):
                output += _read(err_path)
            return Result(transcript.decode(errors="replace"), output,
                          None if timed_out else lldb_proc.returncode,
                          program_status, timed_out, cmd)
        finally:
            _kill(qemu)


_PROMPT = "(lldb) "


def commands(transcript: str) -> list[tuple[str, str]]:
    """Splits a batch transcript into (command, output) pairs, one for each
    `(lldb) command` line. Text before the first command is left out."""
    pairs: list[tuple[str, str]] = []
    for line in transcript.splitlines():
        if line.startswith(_PROMPT):
            pairs.append((line[len(_PROMPT):].strip(), ""))
        elif pairs:
            command, output = pairs[-1]
            pairs[-1] = (command, output + line + "\n")
    return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lldb", default="lldb")
    parser.add_argument("--emulator", default="",
                        help='empty for native, else e.g. "qemu-aarch64;-L;/usr/aarch64-linux-gnu"')
    parser.add_argument("--program", required=True)
    parser.add_argument("--script")
    parser.add_argument("--batch", action="store_true")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    args = parser.parse_args(argv)

    result = run(args.lldb, args.emulator, args.program, args.script,
                 batch=args.batch, timeout=args.timeout)
    if not args.batch:
        return result.lldb_status or 0
    print(result.transcript, end="")
    print("--- program output ---")
    print(result.program_output, end="")
    if result.timed_out:
        print(f"--- timed out after {args.timeout:g} s ---")
        return 1
    ok = result.lldb_status == 0 and result.program_status in (0, None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
