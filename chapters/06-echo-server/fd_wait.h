// fd_wait.h: wait until a descriptor is ready, without blocking a loop.
//
// Chapter 05's sockets are non-blocking: a call that cannot go on returns
// EAGAIN (EINPROGRESS for connect) instead of putting the thread to sleep.
// The socket functions (io.h, tcp.h) then wait here, and *how* they wait
// depends on who calls them:
//
//  - inside a task of a running Loop: only that task waits; it parks on
//    the loop (Loop::wait_readable), and the loop runs the other tasks;
//  - anywhere else (main, a thread of its own, chapter 04's servers): the
//    thread waits in poll(2), exactly as a blocking call would have.
//
// So the code that calls read_some() is the same in both worlds.
#pragma once

#include "deadline.h"

namespace cfs {

//! [fd-wait]
/// Until `fd` can be read (data, end of file, an error, or a connection to
/// accept). Throws TimedOut past `deadline`. Returns a socket error that the
/// wait learned of and the socket may no longer hold (a reset, on the loop:
/// Loop::wait_readable), else 0.
int wait_readable(int fd, Deadline deadline = no_deadline);
/// Until `fd` can be written (room in its send buffer, or a connect() done).
void wait_writable(int fd, Deadline deadline = no_deadline);
//! [fd-wait]

}  // namespace cfs
