// exercises/gather-write/gather_write.h: YOUR CODE (exercise 8 of chapter 04),
// with gather_write.cpp beside it. Test it with
// `make exercise-04 EX=gather-write`; hints: ../README.md.
#pragma once

#include <cstddef>
#include <span>

namespace cfs {

/// A message in pieces (a header, a body, a trailer), sent as one.
using Pieces = std::span<const std::span<const std::byte>>;

/// One sendmsg() for as many of `pieces` as it takes at once (at most
/// IOV_MAX of them), in order, as if they were one buffer. Blocks until
/// the socket has room for some; returns how many bytes went, which may be
/// fewer than all. Retries on EINTR; a peer that has gone away is a
/// SocketError (EPIPE or ECONNRESET), never a SIGPIPE.
std::size_t write_some_gathered(int fd, Pieces pieces);

/// All of `pieces`, in order: write_some_gathered() as often as it takes,
/// each call starting at the first byte not written yet. Returns the
/// total.
std::size_t write_all_gathered(int fd, Pieces pieces);

}  // namespace cfs
