// io.h: reading and writing a connected socket, blocking.
//
//   std::array<std::byte, 4096> buffer;
//   std::size_t n = cfs::read_some(fd, buffer);       // 1..4096 bytes, or 0 at end of file
//   std::size_t k = cfs::read_exact(fd, header);      // header.size(), unless the peer closed
//   cfs::write_all(fd, std::as_bytes(std::span(text)));
//
// recv() and send() may do less than asked: recv() returns what has arrived
// so far, send() may be cut short by a signal. And any call that waits may
// return EINTR, when a signal handler ran while it waited. These three
// functions hide all of that: they are the whole I/O interface of the
// chapters that follow.
//
// This interface is built to outlive this chapter. Each is a free function
// that takes the descriptor and a std::span, and returns a count; nothing
// about *how* it waits shows. Here, a call that cannot go on blocks the
// thread in the kernel. In chapter 05 the same calls, with the same
// signatures, suspend only the calling coroutine on an event loop, and the
// code that uses them does not change.
#pragma once

#include <cstddef>
#include <span>

#include "deadline.h"

namespace cfs {

//! [io-api]
/// Waits until at least one byte can be read, then reads what is there, up
/// to buffer.size() bytes. Returns the count, or 0 at end of file (the peer
/// closed its side). Retries on EINTR; throws SocketError on any error. The
/// buffer must not be empty (0 would mean end of file): std::invalid_argument.
/// Chapter 05: waits as fd_wait.h says (only the task, inside a loop), and
/// throws TimedOut if nothing has come by `deadline`.
std::size_t read_some(int fd, std::span<std::byte> buffer, Deadline deadline = no_deadline);

/// Reads exactly buffer.size() bytes, calling read_some() as often as it
/// takes. Returns buffer.size(), or fewer if the peer closed first (then the
/// count says how many of the bytes are valid).
std::size_t read_exact(int fd, std::span<std::byte> buffer, Deadline deadline = no_deadline);

/// Writes all of `data`, calling send() as often as it takes (each call may
/// write only part). Returns data.size(). A peer that has gone away is an
/// error (EPIPE or ECONNRESET), never a SIGPIPE.
std::size_t write_all(int fd, std::span<const std::byte> data, Deadline deadline = no_deadline);
//! [io-api]

}  // namespace cfs
