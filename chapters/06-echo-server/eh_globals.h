// eh_globals.h: the C++ runtime's per-thread exception state, read directly.
//
// Every thread has one small record that exception handling keeps up to
// date (the Itanium C++ ABI, section 2.2.2, which GCC's libstdc++ and LLVM's
// libc++abi both follow, on Linux and on macOS):
//
//   struct __cxa_eh_globals {
//     __cxa_exception* caughtExceptions;   // being handled: a stack, newest first
//     unsigned int     uncaughtExceptions; // thrown and still looking for a handler
//   };
//
// It belongs to the thread, not to a stack. If a coroutine switched away
// inside a catch block, the resumer would run with the coroutine's exception
// on top of that stack, and the end of the resumer's own catch block would
// pop the wrong one. yield() refuses that case by comparing this record with
// what it held when the coroutine was resumed. (std::current_exception()
// answers the same question, but costs an atomic reference count and two
// library calls on every yield; this costs two loads.)
#pragma once

#include <cxxabi.h>

// libstdc++'s <cxxabi.h> declares __cxa_get_globals(); LLVM's libc++abi
// (macOS) exports it but leaves it out of its public header.
#if !defined(__GLIBCXX__)
namespace __cxxabiv1 {
struct __cxa_eh_globals;
extern "C" __cxa_eh_globals* __cxa_get_globals() noexcept;
}  // namespace __cxxabiv1
#endif

namespace cfs::detail {

//! [eh-globals]
/// Our view of __cxa_eh_globals: the first two members, as the ABI fixes them.
struct EhGlobals {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

/// This thread's record. Its address never changes for a thread, so it is
/// asked for once and kept in a thread_local.
inline EhGlobals* eh_globals() {
  thread_local EhGlobals* globals = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
  return globals;
}
//! [eh-globals]

}  // namespace cfs::detail
