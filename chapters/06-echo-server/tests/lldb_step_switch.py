"""tests/lldb_step_switch.py: an lldb command that single-steps one switch
and shows what the `cfs` commands (cfs_lldb.py) say at every instruction.
lldb_nested_check.py loads it and checks what it printed.

    (lldb) command script import cfs_lldb.py
    (lldb) command script import tests/lldb_step_switch.py
    (lldb) step-switch cfs::jump

runs the program to the instruction in `cfs::jump` that calls cfs_switch
(the next time it gets there), then steps one instruction at a time, into
cfs_switch and through it, until pc has left cfs_switch: the first
instruction after it returned, on the other side. At that instruction and
at every one before it, starting with the call, it prints

    == step N: pc 0x... sp 0x... in FUNCTION
    -- cfs coroutines
    (what it printed)
    -- cfs bt K          for every coroutine listed suspended or normal
    (what it printed)

The call is found by disassembling FUNCTION (a name lldb knows, e.g.
cfs::detail::ControlBlock::suspend), so it must be a real function of its
own, as it is in a Debug build.
"""
import re

import lldb

MAX_STEPS = 200  # far more than a switch takes: a switch that never ends fails


def load_address(target, name):
    """The [start, end) of symbol `name` (a function written in assembly)."""
    symbols = target.FindSymbols(name)
    for i in range(symbols.GetSize()):
        symbol = symbols.GetContextAtIndex(i).GetSymbol()
        if symbol.IsValid() and symbol.GetName() == name:
            return (symbol.GetStartAddress().GetLoadAddress(target),
                    symbol.GetEndAddress().GetLoadAddress(target))
    raise RuntimeError(f"step-switch: no symbol {name}")


def call_target(target, instruction):
    """Where a direct call instruction goes, or None if it is not one.
    AArch64 `bl 0x...` and x86-64 `call 0x...` name the address; RISC-V's
    `jal -92` (a call: rd = ra) names the distance from the instruction."""
    mnemonic, operands = instruction.GetMnemonic(target), instruction.GetOperands(target)
    if mnemonic in ("bl", "call", "callq"):
        m = re.match(r"\s*(0x[0-9a-fA-F]+)", operands)
        return int(m.group(1), 16) if m else None
    if mnemonic == "jal":
        m = re.match(r"\s*(?:ra,\s*)?(-?\d+)\s*$", operands)
        here = instruction.GetAddress().GetLoadAddress(target)
        return here + int(m.group(1)) if m else None
    return None


def calls_to(target, function_name, callee):
    """The load addresses of the instructions in `function_name` that call
    address `callee`."""
    sites = set()
    contexts = target.FindFunctions(function_name)
    for i in range(contexts.GetSize()):
        function = contexts.GetContextAtIndex(i).GetFunction()
        if not function.IsValid():
            continue
        instructions = function.GetInstructions(target)
        for j in range(instructions.GetSize()):
            instruction = instructions.GetInstructionAtIndex(j)
            if call_target(target, instruction) == callee:
                sites.add(instruction.GetAddress().GetLoadAddress(target))
    return sites


def run(interpreter, command):
    """What `command` printed, errors included."""
    result = lldb.SBCommandReturnObject()
    interpreter.HandleCommand(command, result)
    return (result.GetOutput() or "") + (result.GetError() or "")


def show_step(target, frame, interpreter, number):
    """The lines for one step (see the header)."""
    pc, sp = frame.GetPC(), frame.GetSP()
    symbol = target.ResolveLoadAddress(pc).GetSymbol()
    name = symbol.GetName() if symbol.IsValid() else "?"
    lines = [f"== step {number}: pc {pc:#x} sp {sp:#x} in {name}", "-- cfs coroutines"]
    listing = run(interpreter, "cfs coroutines")
    lines.append(listing.rstrip())
    for n in re.findall(r"^\s*#(\d+) (?:suspended|normal)\b", listing, re.M):
        lines.append(f"-- cfs bt {n}")
        lines.append(run(interpreter, f"cfs bt {n}").rstrip())
    return lines


def cmd_step_switch(debugger, command, exe_ctx, result, internal_dict):
    """step-switch FUNCTION: see the header."""
    function_name = command.strip()
    was_async = debugger.GetAsync()
    debugger.SetAsync(False)  # each Continue() and step returns once stopped
    try:
        target = debugger.GetSelectedTarget()
        process = target.GetProcess()
        interpreter = debugger.GetCommandInterpreter()
        switch_lo, switch_hi = load_address(target, "cfs_switch")
        sites = calls_to(target, function_name, switch_lo)
        if not sites:
            result.SetError(f"step-switch: no call to cfs_switch in {function_name!r}")
            return
        breakpoints = [target.BreakpointCreateByAddress(site) for site in sites]
        process.Continue()
        for breakpoint in breakpoints:
            target.BreakpointDelete(breakpoint.GetID())
        thread = process.GetSelectedThread()
        if process.GetState() != lldb.eStateStopped or thread.GetFrameAtIndex(0).GetPC() not in sites:
            result.SetError(f"step-switch: the program did not stop at the call to cfs_switch in "
                            f"{function_name} (state {process.GetState()})")
            return
        entered = False
        for number in range(MAX_STEPS):
            frame = thread.GetFrameAtIndex(0)
            for line in show_step(target, frame, interpreter, number):
                result.AppendMessage(line)
            inside = switch_lo <= frame.GetPC() < switch_hi
            if entered and not inside:
                return  # the first instruction after cfs_switch returned
            entered = entered or inside
            thread.StepInstruction(False)  # into calls: into cfs_switch
            if process.GetState() != lldb.eStateStopped:
                result.SetError(f"step-switch: the program did not stop after step {number}")
                return
        result.SetError(f"step-switch: still in cfs_switch after {MAX_STEPS} steps")
    finally:
        debugger.SetAsync(was_async)


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(
        f"command script add -o -f {__name__}.cmd_step_switch "
        '-h "Single-step the next call to cfs_switch from FUNCTION, showing the cfs '
        'commands at every instruction." step-switch')
