// signal_pipe.h: a signal, turned into something a task can wait for.
//
//   cfs::SignalPipe pipe;
//   pipe.catch_signals({SIGINT, SIGTERM});  // their handlers write to the pipe
//   loop.spawn("stopper", [&] {
//     int signal_number = pipe.wait();       // parks, like a read
//     ...                                    // any code at all: we are in a task
//   });
//
// A signal handler runs in the middle of whatever the thread was doing,
// perhaps inside malloc() or halfway through changing the loop's queues. So
// it may call only async-signal-safe functions, and nothing of ours: no
// allocation, no lock, no Loop. write(2) is safe. The handler writes one
// byte, the signal's number, into a pipe, and a task of the loop reads the
// other end, with the same wait as any socket read. This is the self-pipe
// trick (D. J. Bernstein's name for it).
//
// Why not kqueue's own EVFILT_SIGNAL? Our Linux shim (common/kqueue.h) does
// not have that filter. Linux's way to read signals from a descriptor is
// signalfd, which sees a signal only while it is blocked in *every* thread of
// the process: any thread that has it unblocked (a helper thread of
// run_blocking(), one a library starts) takes it instead, and SIGTERM's
// default action ends the whole process. The pipe needs no mask anywhere and
// works the same on every system.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "deadline.h"
#include "fd.h"

namespace cfs {

//! [signal-pipe]
class SignalPipe {
 public:
  /// Makes the pipe, both ends non-blocking and close-on-exec.
  SignalPipe();
  /// Puts back the actions the signals it caught had before, unless
  /// somebody has changed them since.
  ~SignalPipe();
  SignalPipe(const SignalPipe&) = delete;
  SignalPipe& operator=(const SignalPipe&) = delete;

  /// From now on, each of `signals` writes its number into this pipe
  /// instead of taking its default action. One pipe per process catches
  /// signals at a time (a handler has nowhere to keep more than one).
  void catch_signals(std::initializer_list<int> signals);

  /// Writes `signal_number` into the pipe, as a caught signal's handler
  /// does: from any thread, or from a signal handler. If the pipe is full,
  /// there is an unread byte already, and the reader wakes anyway.
  void notify(int signal_number) noexcept;

  /// Until a byte arrives (in a task, only the task waits; elsewhere, the
  /// thread, in poll): returns the signal number it carries.
  int wait(Deadline deadline = no_deadline);

 private:
  Fd read_end_;
  Fd write_end_;
  struct Caught {
    int signal_number;
    struct sigaction before;
  };
  Caught caught_[8] = {};
  int caught_count_ = 0;
};
//! [signal-pipe]

}  // namespace cfs
