// common/kqueue_epoll_probes.cpp: the numbers kqueue reports in `data`.
#include "kqueue_epoll_probes.h"

#include <fcntl.h>
#include <linux/sock_diag.h>  // SK_MEMINFO_*
#include <linux/sockios.h>    // SIOCOUTQ
#include <netinet/in.h>       // IPPROTO_TCP
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

namespace cfs_kqueue::probes {

namespace {

std::atomic<bool> g_force_fallbacks{false};

constexpr unsigned char kTcpListen = 10;  // TCP_LISTEN in the kernel's numbering

std::string read_whole_file(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::optional<std::int64_t> bytes_readable(int fd) {
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0) return std::nullopt;
  return n;
}

std::optional<std::int64_t> tcp_info_backlog(const tcp_info& info, std::size_t len) {
  // For a listening socket the kernel puts the accept-queue length in
  // tcpi_unacked (and the backlog limit in tcpi_sacked).
  constexpr std::size_t needed = offsetof(tcp_info, tcpi_unacked) + sizeof(tcp_info::tcpi_unacked);
  if (len < needed || info.tcpi_state != kTcpListen) return std::nullopt;
  return info.tcpi_unacked;
}

std::optional<std::int64_t> pending_connections_tcp_info(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  return tcp_info_backlog(info, len);
}

std::optional<std::int64_t> proc_net_tcp_backlog(std::string_view text, unsigned long inode) {
  // After a header line, one line per socket:
  //   sl local_address rem_address st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...
  // For a listening socket (st 0A) rx_queue is its accept-queue length.
  std::istringstream lines{std::string(text)};
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
    unsigned long ino = 0;
    if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> ino)) {
      continue;
    }
    if (ino != inode || state != "0A") continue;
    std::size_t colon = queues.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return static_cast<std::int64_t>(std::stoul(queues.substr(colon + 1), nullptr, 16));
  }
  return std::nullopt;
}

std::optional<std::int64_t> pending_connections_proc(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return std::nullopt;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    if (auto n = proc_net_tcp_backlog(read_whole_file(path), st.st_ino)) return n;
  }
  return std::nullopt;
}

std::optional<std::int64_t> pending_connections(int fd) {
  if (!g_force_fallbacks.load(std::memory_order_relaxed)) {
    if (auto n = pending_connections_tcp_info(fd)) return n;
  }
  return pending_connections_proc(fd);
}

std::optional<std::int64_t> meminfo_send_space(const std::uint32_t* meminfo, std::size_t len) {
  if (len < (SK_MEMINFO_WMEM_QUEUED + 1) * sizeof(std::uint32_t)) return std::nullopt;
  // TCP charges its send queue to wmem_queued; other sockets charge the
  // memory of what they sent and the peer has not read to wmem_alloc.
  const std::int64_t limit = meminfo[SK_MEMINFO_SNDBUF];
  const std::int64_t used = std::max(meminfo[SK_MEMINFO_WMEM_ALLOC], meminfo[SK_MEMINFO_WMEM_QUEUED]);
  return std::max<std::int64_t>(0, (limit - used) / 2);
}

std::optional<std::int64_t> send_space_meminfo(int fd) {
  std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof meminfo;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) return std::nullopt;
  return meminfo_send_space(meminfo, len);
}

std::optional<std::int64_t> send_space_sndbuf(int fd) {
  int limit = 0;
  socklen_t len = sizeof limit;
  int queued = 0;
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &limit, &len) != 0) return std::nullopt;
  if (ioctl(fd, SIOCOUTQ, &queued) != 0) return std::nullopt;
  return std::max<std::int64_t>(0, std::int64_t{limit} / 2 - queued);
}

std::optional<std::int64_t> send_space(int fd) {
  if (!g_force_fallbacks.load(std::memory_order_relaxed)) {
    if (auto n = send_space_meminfo(fd)) return n;
  }
  return send_space_sndbuf(fd);
}

std::optional<std::int64_t> pipe_space(int fd) {
  const int capacity = fcntl(fd, F_GETPIPE_SZ);
  auto used = bytes_readable(fd);  // FIONREAD works on either end of a pipe
  if (capacity < 0 || !used) return std::nullopt;
  return std::max<std::int64_t>(0, capacity - *used);
}

int take_socket_error(int fd) {
  int error = 0;
  socklen_t len = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) return errno;
  return error;
}

void force_fallbacks(bool on) { g_force_fallbacks.store(on, std::memory_order_relaxed); }

}  // namespace cfs_kqueue::probes
