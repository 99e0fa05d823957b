// polling_io.h: the same socket calls, in non-blocking mode, for coroutines.
//
// A socket in non-blocking mode (O_NONBLOCK) never puts the thread to
// sleep. A call that would have to wait fails at once instead:
//
//   recv(), send()  -> -1 with errno EAGAIN (also spelt EWOULDBLOCK): no data
//                      has arrived yet / no room in the send buffer yet
//   connect()       -> -1 with errno EINPROGRESS: the handshake has started
//                      and goes on without us; SO_ERROR tells how it ended
//
// That is what a coroutine needs: where the blocking call would wait, the
// functions below call cfs::yield(), so the dispatcher can give the others
// their turns, and try again at their next turn. They have exactly the
// signatures of tcp.h and io.h, so code written against those runs on them
// unchanged. But nobody tells a waiting coroutine when to try again: the
// dispatcher keeps resuming it, and it keeps asking the kernel "anything
// yet?". If every coroutine is waiting, that loop never sleeps: it burns a
// whole core to wait. polls_not_ready() counts those wasted questions.
//
// Call them inside a coroutine run by a dispatcher (round_robin.h):
// outside one, cfs::yield() throws CoroutineError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "fd.h"

namespace cfs::polling {

/// Puts `fd` in non-blocking mode.
void set_nonblocking(int fd);

//! [polling-api]
/// As cfs::connect_tcp, but the socket is non-blocking (and stays so), and
/// the coroutine yields until the handshake has ended.
Fd connect_tcp(const std::string& host, std::uint16_t port);
/// As cfs::read_some, yielding until something has arrived.
std::size_t read_some(int fd, std::span<std::byte> buffer);
/// As cfs::read_exact, on polling::read_some.
std::size_t read_exact(int fd, std::span<std::byte> buffer);
/// As cfs::write_all, yielding while the send buffer is full.
std::size_t write_all(int fd, std::span<const std::byte> data);
//! [polling-api]

/// How many times, since the program started, one of the calls above asked
/// the kernel, found nothing ready, and yielded.
std::uint64_t polls_not_ready();

}  // namespace cfs::polling
