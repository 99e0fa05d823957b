"""cfs_lldb_resumer.py: `cfs resumer`, the rest of the running coroutine's story.

    (lldb) command script import chapters/04-blocking-sockets/cfs_lldb.py
    (lldb) command script import chapters/04-blocking-sockets/cfs_lldb_resumer.py
    (lldb) cfs resumer        the frames of whoever resumed the running coroutine

When a coroutine runs, lldb's `thread backtrace` walks its stack and stops at
cfs_trampoline, whose unwind information says it has no caller (chapter 01).
But it does have one, in the sense that matters: the code that called
resume(). That code is suspended in cfs_switch, on the stack it was running
on when it resumed the coroutine (the thread's own stack, or another
coroutine's), and its sp is saved in the running coroutine's resumer context,
which the debugger record points to (`resumer_sp`, coroutine.h [record]).
This command reads that saved sp and walks the frames above it exactly as
`cfs bt` walks a suspended coroutine's, down to main. Put together, the two
backtraces are the thread's one chain of control: the running coroutine's
frames, then its resumer's.

It needs cfs_lldb.py (chapter 02's commands) imported first; it uses its
helpers, so the records are read the same way.
"""
import os
import sys

import lldb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cfs_lldb  # noqa: E402  (the same directory; imported already by lldb)

THREAD_STACK_LIMIT = 64 << 20  # frames of the thread's own stack lie within this of sp


def resumer_lines(target, process):
    """The lines of `cfs resumer`."""
    coroutines = cfs_lldb.live_coroutines(target, process)
    running = [c for c in coroutines if c.status == "running"]
    if not running:
        raise cfs_lldb.CfsError("cfs: no coroutine is running: the thread is on its own stack, "
                                "and `thread backtrace` shows all of it")
    coroutine = running[0]
    by_record = {c.record: c for c in coroutines}
    resumer = by_record.get(coroutine.resumer)  # None: the thread's own stack
    sp = cfs_lldb.read_pointer(process, coroutine.resumer_sp_at)
    arch = cfs_lldb.architecture(target)
    fp_offset, ra_offset = cfs_lldb.SAVED_FP_RA[arch]
    record_at = cfs_lldb.FRAME_RECORD_AT[arch]  # where fp's frame record lies
    fp = cfs_lldb.read_pointer(process, sp + fp_offset)
    pc = cfs_lldb.read_pointer(process, sp + ra_offset)
    where = ("the thread's own stack" if resumer is None else
             f"coroutine {resumer.record:#x}, stack [{resumer.stack_lo:#x}, {resumer.stack_hi:#x})")
    lines = [f"coroutine {coroutine.record:#x} is running; it was resumed from {where}",
             f"resumer's saved sp = {sp:#x}: cfs_switch's frame; fp = [sp+{fp_offset}] = {fp:#x}, "
             f"return address = [sp+{ra_offset}] = {pc:#x}"]
    number = 0
    while True:
        what = cfs_lldb.describe(target, pc)
        lines.append(f"  #{number}: {pc:#018x} {what}")
        if what.startswith("main "):
            lines.append("  (main: the bottom of the program's own frames)")
            break
        if fp == 0:
            lines.append("  (fp = 0: the end of the chain)")
            break
        record = fp + record_at
        inside = (resumer.stack_lo <= record < resumer.stack_hi if resumer is not None
                  else sp <= record < sp + THREAD_STACK_LIMIT)
        if not inside:
            lines.append(f"  (fp = {fp:#x} is outside the resumer's stack: stop)")
            break
        caller_fp = cfs_lldb.read_pointer(process, record)
        pc = cfs_lldb.read_pointer(process, record + 8)
        if caller_fp != 0 and caller_fp <= fp:
            lines.append(f"  (next fp {caller_fp:#x} is not above {fp:#x}: stop)")
            break
        fp, number = caller_fp, number + 1
    return lines


def cmd_resumer(debugger, command, exe_ctx, result, internal_dict):
    """cfs resumer: the frames of whoever resumed the running coroutine."""
    try:
        target, process = cfs_lldb._target_process(exe_ctx)
        for line in resumer_lines(target, process):
            result.AppendMessage(line)
    except cfs_lldb.CfsError as e:
        result.SetError(str(e))


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(
        f'command script add -o -f {__name__}.cmd_resumer '
        '-h "The frames of whoever resumed the running coroutine (its saved sp)." cfs resumer')
