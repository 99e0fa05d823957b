// echo.h: the echo protocol, both ends, with blocking calls.
//
// An echo server sends back every byte it receives, until the client closes
// its side of the connection. It is the "hello world" of servers: all of its
// time goes into waiting for the network, which is what this chapter is
// about.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace cfs {

//! [echo-server]
/// Sends back everything it reads from the connected socket `fd`, until the
/// client closes its side. Returns how many bytes it echoed.
std::size_t echo_until_eof(int fd);

/// The blocking echo server: takes `clients` clients from the listening
/// socket, one after another, and serves each until it leaves. While it
/// serves one, the next one waits: its connect() has succeeded (the kernel
/// completes the handshake and queues the connection in the listen
/// backlog), but nobody reads what it sends.
void serve_one_at_a_time(int listen_fd, int clients);
//! [echo-server]

/// The blocking echo client: sends `data` on `fd` and returns what comes
/// back, the same number of bytes (fewer if the server closed early).
///
/// It sends in pieces of kEchoPiece bytes and reads each piece's echo before
/// sending the next. Sending all of a large message before reading would
/// deadlock: the server echoes while it reads, its echo fills our receive
/// buffer, then its own send buffer; it blocks in send() and stops reading;
/// our send buffer fills, and we block in send() too, each waiting for the
/// other. A blocking program that both writes and reads has to plan for this.
std::vector<std::byte> echo_round_trip(int fd, std::span<const std::byte> data);

inline constexpr std::size_t kEchoPiece = 16 * 1024;

}  // namespace cfs
