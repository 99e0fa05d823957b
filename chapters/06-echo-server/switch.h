// switch.h: the C++ view of the hand-written context switch in asm/<arch>/switch.S.
//
// A suspended computation is a stack plus the callee-saved registers, and
// the registers are kept on that very stack. So a context is one pointer,
// the saved stack pointer, and switching is one function call.
#pragma once

extern "C" {

//! [switch-api]
/// Saves the callee-saved registers on the current stack, stores the stack
/// pointer in `*save_sp`, loads `to_sp` (a stack pointer saved by an earlier
/// cfs_switch, or made by cfs_prepare), restores the registers saved there
/// and returns `arg` *on that side*: the other side's cfs_switch call
/// returns it. This side's own call returns later, when somebody switches
/// back to `*save_sp`, with whatever `arg` they pass.
void* cfs_switch(void** save_sp, void* to_sp, void* arg);

/// Lays out a first saved frame at the top of a fresh stack (16-byte
/// aligned down) and returns the stack pointer for cfs_switch. The first
/// switch to it calls `entry(arg)` on that stack, where `arg` is the
/// switch's third argument. `entry` must never return: it has no caller.
/// If it does, the process aborts with a message (cfs_entry_returned).
void* cfs_prepare(void* stack_top, void (*entry)(void* arg));
//! [switch-api]

/// Where cfs_prepare points the fresh frame's return address. Declared so
/// that tests can check the frame and debuggers can find the bottom frame.
void cfs_trampoline();

/// Called by cfs_trampoline when an entry function returns: prints a
/// message naming the stack and aborts (common/entry_returned.cpp).
[[noreturn]] void cfs_entry_returned(void* sp);
}
