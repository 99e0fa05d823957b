"""cfs_lldb.py: lldb commands that show cfs coroutines, on AArch64, x86-64
and RISC-V 64, natively or through qemu's gdb stub.

    (lldb) command script import chapters/02-coroutine/cfs_lldb.py
    (lldb) cfs coroutines     every live coroutine: status, stack, saved sp
    (lldb) cfs bt 1           the backtrace of coroutine #1 (suspended or normal)

lldb's own `thread backtrace` shows the stack that sp is on: the thread's
stack, or the running coroutine's. A suspended coroutine is only memory:
its stack, with the frame cfs_switch pushed on top (asm/<arch>/switch.S).
`cfs bt` reads the frame pointer and return address from that frame, then
follows the chain of frame records that every function builds (the build
uses -fno-omit-frame-pointer). A frame record is two words, the caller's
fp and then the return address into the caller: at fp itself on AArch64
and x86-64, at fp-16 on RISC-V 64, where fp holds the CFA (the sp the
function's caller had) and the record lies just below it.

The records are read through the program's debug information (the type of
`cfs_live_coroutines`), field by field and by name, so nothing here repeats
the C++ layout: a field that is renamed or missing is an error that says
so. A suspended coroutine's sp is where its record's `saved_sp` points. A
coroutine in state normal (it resumed another) saved its sp in that other
coroutine's resumer context: the record of the coroutine whose `resumer`
it is points there (`resumer_sp`). A record's status changes only once a
switch has landed (coroutine.h, [record]), so whichever instruction the
program stopped at, the sp a record leads to is a real one.

Only lldb's Python API is used (SBValue, SBProcess memory reads, SBTarget
symbol lookups), so it works the same through a gdb-remote connection.
Debian's lldb 14 needs PYTHONPATH=/usr/lib/llvm-14/lib/python3.11/dist-packages
(and PYTHONHOME=/usr) to run Python at all; tests/lldb_session.py sets them.
"""
import lldb

STATUS_NAMES = ["suspended", "running", "normal", "dead"]  # cfs::Status

# Where cfs_switch's saved frame, at the saved sp, keeps the frame pointer
# and the return address (the [frame] pictures in asm/<arch>/switch.S).
SAVED_FP_RA = {
    "aarch64": (144, 152),  # x29, x30 (lr)
    "x86_64": (48, 56),     # rbp, and the return address `call` pushed
    "riscv64": (192, 200),  # s0 (fp), ra
}

# Where a function's frame record {caller's fp, return address} lies,
# relative to its fp.
FRAME_RECORD_AT = {"aarch64": 0, "x86_64": 0, "riscv64": -16}


class CfsError(Exception):
    pass


def architecture(target):
    """'aarch64', 'x86_64' or 'riscv64', from the target triple."""
    triple = target.GetTriple() or ""
    if triple.startswith(("aarch64", "arm64")):
        return "aarch64"
    if triple.startswith("x86_64"):
        return "x86_64"
    if triple.startswith("riscv64"):
        return "riscv64"
    raise CfsError(f"cfs: no saved-frame layout for target {triple!r}")


def read_pointer(process, address):
    error = lldb.SBError()
    value = process.ReadPointerFromMemory(address, error)
    if error.Fail():
        raise CfsError(f"cfs: cannot read memory at {address:#x}: {error.GetCString()}")
    return value


def type_name(target, process, address):
    """The demangled name of the type whose typeid(T).name() is `address`.
    That string is the object `_ZTS<mangled T>`, which lldb's symbol table
    calls "typeinfo name for T"; without the symbol, the mangled string."""
    symbol = target.ResolveLoadAddress(address).GetSymbol()
    prefix = "typeinfo name for "
    if symbol.IsValid() and symbol.GetName().startswith(prefix):
        return symbol.GetName()[len(prefix):]
    error = lldb.SBError()
    mangled = process.ReadCStringFromMemory(address, 512, error)
    return mangled if error.Success() else f"? (at {address:#x})"


def c_string(process, record, name):
    """The text a `const char*` field points to; "" if the field is absent
    (before chapter 05) or null."""
    value = record.GetChildMemberWithName(name)
    if not value.IsValid() or value.GetValueAsUnsigned() == 0:
        return ""
    error = lldb.SBError()
    text = process.ReadCStringFromMemory(value.GetValueAsUnsigned(), 256, error)
    return text if error.Success() else ""


def field(record, name):
    """Field `name` of a cfs_coroutine_record (an SBValue), as a number."""
    value = record.GetChildMemberWithName(name)
    if not value.IsValid():
        raise CfsError(f"cfs: the debug information's cfs_coroutine_record has no field "
                       f"{name!r}: does this cfs_lldb.py belong to this program's chapter?")
    return value.GetValueAsUnsigned()


class Coroutine:
    """One cfs_coroutine_record, read through the debug information."""

    def __init__(self, target, process, record):
        self.record = record.GetLoadAddress()
        self.saved_sp_at = field(record, "saved_sp")      # &self_.sp
        self.resumer_sp_at = field(record, "resumer_sp")  # &resumer_.sp
        self.resumer = field(record, "resumer")           # its resumer's record, or 0
        self.stack_lo = field(record, "stack_lo")
        self.stack_hi = field(record, "stack_hi")
        status = field(record, "status")
        self.status = STATUS_NAMES[status] if status < len(STATUS_NAMES) else f"?{status}"
        self.body = type_name(target, process, field(record, "body_type"))
        # Chapter 05 on: a label ("conn 17") and what it waits for.
        self.label = c_string(process, record, "label")
        self.activity = c_string(process, record, "activity")
        fd = record.GetChildMemberWithName("activity_fd")
        self.activity_fd = fd.GetValueAsSigned() if fd.IsValid() else -1
        self.resumed = None  # set by live_coroutines(): the one it resumed, if normal

    def doing(self):
        """`conn 17: waiting read (fd 9)`, or as much of it as is known."""
        text = self.label or "(no label)"
        if self.activity:
            text += f": {self.activity}"
            if self.activity_fd >= 0:
                text += f" (fd {self.activity_fd})"
        return text

    def saved_sp(self, process):
        """Where this coroutine's sp was saved when it last switched out: a
        suspended one in its own context; a normal one in the resumer context
        of the coroutine it resumed. A running one keeps sp in the register
        (None), and a dead one has none."""
        if self.status == "suspended":
            return read_pointer(process, self.saved_sp_at)
        if self.status == "normal" and self.resumed is not None:
            return read_pointer(process, self.resumed.resumer_sp_at)
        return None


def live_coroutines(target, process):
    """The list that starts at cfs_live_coroutines, newest first."""
    head = target.FindFirstGlobalVariable("cfs_live_coroutines")
    if not head.IsValid():
        raise CfsError("cfs: no variable cfs_live_coroutines with debug information: not a "
                       "chapter 02+ program, or built without -g?")
    coroutines, node, seen = [], head, set()
    while node.GetValueAsUnsigned() != 0 and node.GetValueAsUnsigned() not in seen:
        seen.add(node.GetValueAsUnsigned())  # a torn list cannot loop us
        record = node.Dereference()
        coroutines.append(Coroutine(target, process, record))
        node = record.GetChildMemberWithName("next")
    by_record = {c.record: c for c in coroutines}
    for c in coroutines:  # who is waiting for whom
        if c.resumer in by_record and c.status in ("running", "normal"):
            by_record[c.resumer].resumed = c
    return coroutines


def abbreviate(name, limit=100):
    """A long C++ name with the insides of its outermost <> and () cut to
    `...`: `std::__invoke_impl<...>(...)` rather than 300 characters."""
    if len(name) <= limit:
        return name
    out, depth, inside = "", 0, False
    for ch in name:
        if ch in "<(":
            depth += 1
            if depth == 1:
                out, inside = out + ch, False
            else:
                inside = True
        elif ch in ">)" and depth > 0:
            depth -= 1
            if depth == 0:
                out += ("..." if inside else "") + ch
        elif depth == 0:
            out += ch
        else:
            inside = True
    return out if depth == 0 else name  # unbalanced (operator<): leave it


def describe(target, pc):
    """`function + offset at file:line` for a return address. The call
    itself is the instruction before pc, so look up pc - 1 (as debuggers
    do): after a call that never returns, pc may already be the next
    function's first instruction. A zero return address (what a stale or
    damaged frame may hold) is no address at all: "?"."""
    if pc == 0:
        return "?"
    address = target.ResolveLoadAddress(pc - 1)
    context = target.ResolveSymbolContextForAddress(address, lldb.eSymbolContextEverything)
    function, symbol = context.GetFunction(), context.GetSymbol()
    if function.IsValid():
        name, start = function.GetName(), function.GetStartAddress()
    elif symbol.IsValid():
        name, start = symbol.GetName(), symbol.GetStartAddress()
    else:
        return "?"
    # In an optimised build, one pc may stand for several calls that the
    # compiler inlined: name the inlined ones too, innermost first.
    inlined, block = [], context.GetBlock().GetContainingInlinedBlock()
    while block.IsValid():
        inlined.append(block.GetInlinedName())
        block = block.GetParent().GetContainingInlinedBlock()
    text = " [inlined] in ".join(abbreviate(n) for n in inlined + [name])
    text += f" + {pc - start.GetLoadAddress(target)}"
    line = context.GetLineEntry()
    if line.IsValid():
        text += f" at {line.GetFileSpec().GetFilename()}:{line.GetLine()}"
    return text


def backtrace(target, process, coroutine):
    """The lines of `cfs bt`: walk the frame records of a suspended coroutine."""
    sp = coroutine.saved_sp(process)
    if sp is None:
        why = {"running": "its registers are live: see `thread backtrace`",
               "normal": "no live coroutine names it as its resumer",
               "dead": "its body has finished"}.get(coroutine.status, "")
        return [f"coroutine {coroutine.record:#x} is {coroutine.status}: no saved frame; {why}"]
    lo, hi = coroutine.stack_lo, coroutine.stack_hi
    arch = architecture(target)
    fp_offset, ra_offset = SAVED_FP_RA[arch]
    record_at = FRAME_RECORD_AT[arch]
    fp = read_pointer(process, sp + fp_offset)
    pc = read_pointer(process, sp + ra_offset)
    where = ("suspended" if coroutine.status == "suspended" else
             f"normal (it resumed coroutine {coroutine.resumed.record:#x}, whose resumer "
             "context holds this sp)")
    lines = [f"coroutine {coroutine.record:#x}, {where}; stack [{lo:#x}, {hi:#x})",
             f"saved sp = {sp:#x}: cfs_switch's frame; fp = [sp+{fp_offset}] = {fp:#x}, "
             f"return address = [sp+{ra_offset}] = {pc:#x}"]
    if fp == 0 and target.ResolveLoadAddress(pc).GetSymbol().GetName() == "cfs_trampoline":
        lines.append("  not started yet: cfs_prepare's frame; its first resume() enters "
                     "cfs_trampoline")
        return lines
    number = 0
    while True:
        lines.append(f"  #{number}: {pc:#018x} {describe(target, pc)}")
        if fp == 0:  # cfs_prepare starts the chain: cfs_trampoline runs with fp = 0
            lines.append("  (fp = 0: the end of the chain)")
            break
        record = fp + record_at
        if not lo <= record < hi:
            lines.append(f"  (fp = {fp:#x} is outside the coroutine's stack: stop)")
            break
        # The frame record of the function that pc is in: its caller's fp,
        # then the return address into its caller.
        caller_fp, pc = read_pointer(process, record), read_pointer(process, record + 8)
        if caller_fp != 0 and caller_fp <= fp:  # callers' frames lie higher up
            lines.append(f"  (next fp {caller_fp:#x} is not above {fp:#x}: stop)")
            break
        fp, number = caller_fp, number + 1
    return lines


def _target_process(exe_ctx):
    target, process = exe_ctx.GetTarget(), exe_ctx.GetProcess()
    if not process.IsValid() or process.GetState() != lldb.eStateStopped:
        raise CfsError("cfs: needs a stopped process")
    return target, process


def cmd_coroutines(debugger, command, exe_ctx, result, internal_dict):
    """cfs coroutines: list the live coroutines, newest first."""
    try:
        target, process = _target_process(exe_ctx)
        coroutines = live_coroutines(target, process)
        result.AppendMessage(f"{len(coroutines)} live coroutine(s), newest first:")
        for number, c in enumerate(coroutines, 1):
            sp = c.saved_sp(process)
            result.AppendMessage(
                f"  #{number} {c.status:<9} stack [{c.stack_lo:#x}, {c.stack_hi:#x}) "
                f"{(c.stack_hi - c.stack_lo) // 1024} KiB  "
                f"saved sp {'-' if sp is None else f'{sp:#x}'}  record {c.record:#x}")
            if c.label or c.activity:
                result.AppendMessage(f"     {c.doing()}")
            result.AppendMessage(f"     body: {c.body}")
    except CfsError as e:
        result.SetError(str(e))


def cmd_bt(debugger, command, exe_ctx, result, internal_dict):
    """cfs bt N: the backtrace of coroutine #N of `cfs coroutines`."""
    try:
        target, process = _target_process(exe_ctx)
        coroutines = live_coroutines(target, process)
        number = command.strip() or "1"
        if not number.isdigit() or not 1 <= int(number) <= len(coroutines):
            raise CfsError(f"cfs bt N: N from 1 to {len(coroutines)}, as `cfs coroutines` "
                           "numbers them")
        for line in backtrace(target, process, coroutines[int(number) - 1]):
            result.AppendMessage(line)
    except CfsError as e:
        result.SetError(str(e))


def __lldb_init_module(debugger, internal_dict):
    run = debugger.HandleCommand
    run('command container add -o '
        '-h "Coroutines of the cfs library: cfs coroutines, cfs bt N." cfs')
    run(f'command script add -o -f {__name__}.cmd_coroutines '
        '-h "List the live coroutines: status, stack, saved sp." cfs coroutines')
    run(f'command script add -o -f {__name__}.cmd_bt '
        '-h "Backtrace of suspended or normal coroutine N (from cfs coroutines)." cfs bt')
