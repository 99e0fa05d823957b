#!/usr/bin/env python3
"""chapters/05-kqueue-loop/tests/cfs_lldb_check.py: `cfs coroutines` and
`cfs bt N` (cfs_lldb.py) on records made up here, without lldb or a program.

The lldb walk-through checks the commands on a real program, but it can only
stop where the program is. Some states cannot be stopped at on purpose, such
as a coroutine in state normal that no live coroutine names as its resumer:
`cfs bt` must then say so, not fail. This file gives cfs_lldb.py a small
stand-in for lldb's Python module, with the records in a dictionary of
"memory", and checks what the commands print:

  - a labelled task waiting on a descriptor: `conn 7: waiting read (fd 7)`;
  - a task without label or activity: no such line;
  - `cfs bt` of a normal coroutine that nobody names as its resumer: the
    message that says so.

Usage: python3 cfs_lldb_check.py   (exit status 0 when every check passes)
"""
from __future__ import annotations

import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- a stand-in for the parts of lldb's module that cfs_lldb.py uses -------
class SBError:
    def __init__(self):
        self.failed = False

    def Fail(self):
        return self.failed

    def Success(self):
        return not self.failed

    def GetCString(self):
        return "no memory there"


class Value:
    """An SBValue: a number, or a pointer to a record, or nothing."""

    def __init__(self, memory, number=None, record=None, address=0):
        self.memory, self.number, self.record, self.address = memory, number, record, address

    def IsValid(self):
        return self.number is not None or self.record is not None

    def GetValueAsUnsigned(self):
        return self.number if self.number is not None else 0

    def GetValueAsSigned(self):
        return self.number

    def GetChildMemberWithName(self, name):
        if self.record is None or name not in self.record:
            return Value(self.memory)
        return Value(self.memory, number=self.record[name])

    def GetLoadAddress(self):
        return self.address

    def Dereference(self):
        address = self.GetValueAsUnsigned()
        return Value(self.memory, record=self.memory.records[address], address=address)


class Symbol:
    def IsValid(self):
        return False


class Address:
    def GetSymbol(self):
        return Symbol()


class Target:
    def __init__(self, memory):
        self.memory = memory

    def GetTriple(self):
        return "x86_64-pc-linux-gnu"

    def FindFirstGlobalVariable(self, name):
        return Value(self.memory, number=self.memory.head)

    def ResolveLoadAddress(self, address):
        return Address()


class Process:
    def __init__(self, memory):
        self.memory = memory

    def GetState(self):
        return fake_lldb.eStateStopped

    def IsValid(self):
        return True

    def ReadCStringFromMemory(self, address, limit, error):
        if address in self.memory.strings:
            return self.memory.strings[address]
        error.failed = True
        return ""

    def ReadPointerFromMemory(self, address, error):
        if address in self.memory.words:
            return self.memory.words[address]
        error.failed = True
        return 0


class Memory:
    def __init__(self):
        self.records, self.strings, self.words, self.head = {}, {}, {}, 0


class Result:
    def __init__(self):
        self.lines, self.error = [], None

    def AppendMessage(self, line):
        self.lines.append(line)

    def SetError(self, message):
        self.error = message


class Context:
    def __init__(self, memory):
        self.target, self.process = Target(memory), Process(memory)

    def GetTarget(self):
        return self.target

    def GetProcess(self):
        return self.process


fake_lldb = types.ModuleType("lldb")
fake_lldb.SBError = SBError
fake_lldb.eStateStopped = 5
fake_lldb.eSymbolContextEverything = 0
sys.modules["lldb"] = fake_lldb
sys.dont_write_bytecode = True  # no __pycache__ in the chapter directory
sys.path.insert(0, os.path.join(HERE, ".."))
import cfs_lldb  # noqa: E402  (the chapter's, with the stand-in above)


# ---- the made-up program: three records, newest first -----------------------
SUSPENDED, RUNNING, NORMAL = 0, 1, 2


def program() -> Memory:
    m = Memory()
    m.strings = {0x100: "conn 7", 0x108: "waiting read", 0x110: "",
                 0x200: "typeinfo name"}
    records = [
        # a parked task: labelled, waiting to read fd 7
        dict(status=SUSPENDED, label=0x100, activity=0x108, activity_fd=7),
        # a task with neither label nor activity
        dict(status=SUSPENDED, label=0x110, activity=0, activity_fd=-1),
        # normal (it resumed a coroutine), but no live record names it as
        # that coroutine's resumer
        dict(status=NORMAL, label=0x110, activity=0, activity_fd=-1),
    ]
    addresses = [0x1000, 0x2000, 0x3000]
    for i, (address, r) in enumerate(zip(addresses, records)):
        r.update(next=addresses[i + 1] if i + 1 < len(addresses) else 0, prev=0,
                 saved_sp=address + 0x800, resumer_sp=address + 0x808, resumer=0,
                 stack_lo=address * 0x10000, stack_hi=address * 0x10000 + 0x10000,
                 body_type=0x200)
        m.records[address] = r
        m.words[address + 0x800] = r["stack_lo"] + 0x100  # a suspended one's saved sp
    m.head = addresses[0]
    return m


def run(command, memory, argument=""):
    result = Result()
    command(None, argument, Context(memory), result, {})
    if result.error:
        raise AssertionError(f"the command failed: {result.error}")
    return result.lines


def main() -> int:
    memory = program()
    failures = []
    try:
        listing = run(cfs_lldb.cmd_coroutines, memory)
    except Exception as e:  # noqa: BLE001  (any failure is the finding)
        listing = []
        failures.append(f"`cfs coroutines` raised {type(e).__name__}: {e}")
    text = "\n".join(listing)
    if listing:
        if "conn 7: waiting read (fd 7)" not in text:
            failures.append("`cfs coroutines` should show the task as `conn 7: waiting read (fd 7)`")
        if text.count("(no label)") != 0:
            failures.append("a coroutine with neither label nor activity should get no such line")
    try:
        bt = "\n".join(run(cfs_lldb.cmd_bt, memory, "3"))
        if "no live coroutine names it as its resumer" not in bt:
            failures.append(f"`cfs bt 3` of an unnamed normal coroutine should say so; it said:\n{bt}")
    except Exception as e:  # noqa: BLE001
        failures.append(f"`cfs bt 3` raised {type(e).__name__}: {e}")
    if failures:
        print("FAIL:\n  " + "\n  ".join(failures))
        print("--- cfs coroutines ---\n" + text)
        return 1
    print("ok: cfs coroutines shows labels and activities; cfs bt of an unnamed normal "
          "coroutine explains itself")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
