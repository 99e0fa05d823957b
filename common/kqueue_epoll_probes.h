// common/kqueue_epoll_probes.h: the numbers kqueue reports in `data`, asked
// of Linux one descriptor at a time (Linux only).
//
// epoll says *that* a descriptor is ready; kqueue also says *how much*:
// bytes to read, connections waiting, room to write. Each function here
// gets one such number. Where the best source is a socket option that
// qemu-user truncates (TCP_INFO and SO_MEMINFO come back 4 bytes long under
// qemu-aarch64), there is a second path, and both are public so that tests
// can check each of them on its own.
#pragma once

#include <netinet/tcp.h>  // struct tcp_info

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cfs_kqueue::probes {

/// Bytes that read() would return now (FIONREAD). nullopt if the descriptor
/// has no such count (a listening socket, or not a socket/pipe/FIFO).
std::optional<std::int64_t> bytes_readable(int fd);

/// Connections waiting in a listening TCP socket's accept queue: TCP_INFO
/// first, /proc/net/tcp{,6} when TCP_INFO is unavailable or truncated.
std::optional<std::int64_t> pending_connections(int fd);
/// Path 1: getsockopt(TCP_INFO); nullopt if it fails or comes back short.
std::optional<std::int64_t> pending_connections_tcp_info(int fd);
/// Path 1's reading of a TCP_INFO result `len` bytes long: tcpi_unacked of a
/// listening socket; nullopt if `len` is too short to hold it or the socket
/// is not listening.
std::optional<std::int64_t> tcp_info_backlog(const tcp_info& info, std::size_t len);
/// Path 2: the listening socket's line in /proc/net/tcp or /proc/net/tcp6.
std::optional<std::int64_t> pending_connections_proc(int fd);
/// The accept-queue length of the listening socket with this inode in the
/// text of /proc/net/tcp or /proc/net/tcp6 (its rx_queue column).
std::optional<std::int64_t> proc_net_tcp_backlog(std::string_view text, unsigned long inode);

/// Room left in a socket's send buffer, in bytes, as BSD counts it.
/// Linux counts buffer memory (data plus bookkeeping) against a limit that
/// it reports doubled (socket(7): "the kernel doubles this value"); half of
/// the free memory is the byte figure matching the SO_SNDBUF the program set.
/// SO_MEMINFO first; SO_SNDBUF and SIOCOUTQ when it is unavailable or short.
std::optional<std::int64_t> send_space(int fd);
/// Path 1: (SO_MEMINFO's sndbuf - memory queued) / 2.
std::optional<std::int64_t> send_space_meminfo(int fd);
/// Path 1's reading of an SO_MEMINFO result (`len` bytes of SK_MEMINFO_*
/// counters); nullopt if `len` is too short.
std::optional<std::int64_t> meminfo_send_space(const std::uint32_t* meminfo, std::size_t len);
/// Path 2: SO_SNDBUF / 2 - SIOCOUTQ (the bytes not yet acknowledged).
std::optional<std::int64_t> send_space_sndbuf(int fd);

/// Room left in a pipe or FIFO: its capacity less the bytes in it.
std::optional<std::int64_t> pipe_space(int fd);

/// The socket's pending error (SO_ERROR). Linux clears it by reporting it.
int take_socket_error(int fd);

/// Tests only: skip path 1 of pending_connections and send_space, as
/// happens by itself under qemu-user.
void force_fallbacks(bool on);

}  // namespace cfs_kqueue::probes
