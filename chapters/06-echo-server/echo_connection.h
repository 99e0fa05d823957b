// echo_connection.h: one connection of the echo server, the whole protocol.
//
//   loop.spawn("conn 9", [&](cfs::Fd fd) {
//     cfs::echo_connection(fd.get(), std::chrono::seconds(60), counters);
//   }, std::move(fd));
//
// It reads what arrives and writes all of it back, until the client has sent
// everything it will send (end of file); then it ends its own side too. It is
// chapter 04's read-write loop, run as a task of the loop, and three of the
// server's promises need no code beyond that loop:
//
//  - Backpressure. While a write waits for the client to make room, the
//    task is parked in that write: it does not read. Whatever the client
//    keeps sending waits in the kernel's buffers, whose sizes are bounded,
//    and then in the client's own send(). The server holds one buffer per
//    connection, never more.
//  - Order. One buffer, read then written in full, then the next: the bytes
//    go back in the order they came, none skipped, none twice.
//  - Half-close. End of file means the client has shut down its sending
//    side; by then every byte it sent has been written back (each was
//    written before the next read), so the task shuts down its own side at
//    once, and the client reads end of file after the last byte.
//
// The fourth, the idle timeout, is a deadline on every wait.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "deadline.h"

namespace cfs {

//! [echo-connection-api]
/// Bytes that the connections of a server moved, summed over all of them.
/// Atomic: a test or a monitor on another thread may read them at any time.
struct ByteCounts {
  std::atomic<std::uint64_t> read{0};     ///< taken from the sockets
  std::atomic<std::uint64_t> written{0};  ///< handed back to them
};

/// The buffer each connection reads into, on its own stack.
inline constexpr std::size_t kEchoBuffer = 16 * 1024;

/// Echoes everything it reads from the connected socket `fd` until end of
/// file, then shuts down its sending side. A wait for the client that
/// lasts longer than `idle` (from the start of *that* wait) throws TimedOut;
/// zero: waits have no limit. A failed connection (a reset) throws
/// SocketError. Adds what it reads and writes to `counts`.
void echo_connection(int fd, Clock::duration idle, ByteCounts& counts);
//! [echo-connection-api]

}  // namespace cfs
