// common/child_process.h: run a piece of code in a child process.
//
// Some behaviour ends the process on purpose: an entry function that
// returns, a stack overflow. Tests run such code in a fork()ed child and
// look at how it ended and what it wrote to stderr.
#pragma once

#include <functional>
#include <string>

namespace cfs {

/// How a child process ended.
struct ChildResult {
  bool exited = false;    ///< it called exit(); `code` holds the status
  int code = -1;          ///< exit status, when `exited`
  bool signaled = false;  ///< a signal ended it; `signal` holds which
  int signal = 0;         ///< the signal number, when `signaled`
  std::string err;        ///< everything it wrote to stderr
};

/// What the child does with the crash signals before it runs `body`.
enum class ChildSignals {
  /// SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE back to the default action:
  /// test frameworks (doctest) install handlers for these that would report
  /// and carry on in the child. What most tests want.
  reset_to_default,
  /// Keep every handler the parent had, as a plain fork() does: for tests
  /// of what a child inherits.
  inherit,
};

/// Runs `body` in a child process with stderr captured, then _exit(0)s.
/// Returns how the child ended and what it wrote to stderr.
ChildResult run_in_child(const std::function<void()>& body,
                         ChildSignals signals = ChildSignals::reset_to_default);

}  // namespace cfs
