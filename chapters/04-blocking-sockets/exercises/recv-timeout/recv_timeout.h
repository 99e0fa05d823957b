// exercises/recv-timeout/recv_timeout.h: YOUR CODE (exercise 3 of chapter 04),
// with recv_timeout.cpp beside it. Test it with
// `make exercise-04 EX=recv-timeout`; hints: ../README.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>

namespace cfs {

/// Gives `fd` a receive timeout (SO_RCVTIMEO): a blocking recv() on it that
/// has waited `timeout` with nothing come gives up with EAGAIN, for which
/// read_some() throws a SocketError. Throws SocketError if it cannot.
void set_receive_timeout(int fd, std::chrono::milliseconds timeout);

/// read_some() for a coroutine, on a socket with a receive timeout: each
/// time recv() gives up, it yields to the dispatcher, then tries again.
/// Returns what read_some() returns (0 at end of file); any other error (a
/// reset) goes on up as the SocketError it is.
std::size_t read_some_yielding(int fd, std::span<std::byte> buffer);

}  // namespace cfs
