// common/tests/test_kqueue_linux.cpp: what only the Linux shim has, so this
// file is built on Linux only (common/CMakeLists.txt): both paths of each
// probe behind `data` (qemu-user truncates TCP_INFO and SO_MEMINFO, so
// under qemu-aarch64 the second path is the one kevent() takes), FreeBSD
// behaviour the shim follows where macOS was not checked, and the shim's
// documented limits.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/sock_diag.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "../kqueue_epoll_probes.h"
#include "kqueue_test_support.h"

using namespace kqtest;
namespace probes = cfs_kqueue::probes;

namespace {

// Connections waiting on `listener` once the handshakes are done.
void wait_for_backlog(int listener, std::int64_t count) {
  const auto start = Clock::now();
  while (probes::pending_connections_proc(listener) != count) {
    REQUIRE_MESSAGE(ms_since(start) < 5000, "the accept queue never reached " << count);
    std::this_thread::sleep_for(1ms);
  }
}

// Makes kevent() take the second path of every probe, as under qemu-user.
struct ForcedFallbacks {
  ForcedFallbacks() { probes::force_fallbacks(true); }
  ~ForcedFallbacks() { probes::force_fallbacks(false); }
};

}  // namespace

TEST_CASE("Linux: the accept queue's length, from TCP_INFO or from /proc/net/tcp") {
  Guard guard;
  sockaddr_in addr;
  Fd listener = tcp_listener(&addr);
  std::vector<Fd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(tcp_connect(addr));
  wait_for_backlog(listener.get(), 3);
  CHECK(probes::pending_connections_proc(listener.get()) == 3);
  // Natively TCP_INFO answers; under qemu-user it comes back 4 bytes long
  // and this path must say "unknown" rather than a wrong number.
  const auto from_tcp_info = probes::pending_connections_tcp_info(listener.get());
  if (from_tcp_info) CHECK(*from_tcp_info == 3);
  CHECK(probes::pending_connections(listener.get()) == 3);

  // The reading of a TCP_INFO result, whole and cut short.
  tcp_info info{};
  info.tcpi_state = 10;  // TCP_LISTEN
  info.tcpi_unacked = 3;
  CHECK(probes::tcp_info_backlog(info, sizeof info) == 3);
  CHECK(probes::tcp_info_backlog(info, 4) == std::nullopt);  // what qemu-user returns
  info.tcpi_state = 1;  // TCP_ESTABLISHED
  CHECK(probes::tcp_info_backlog(info, sizeof info) == std::nullopt);
}

TEST_CASE("Linux: a listening socket's line in /proc/net/tcp6") {
  Guard guard;
  const std::string text =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr "
      "tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000004 "
      "00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0\n"
      "   1: 00000000000000000000000001000000:1F91 00000000000000000000000001000000:A2C4 01 00000000:00000007 "
      "00:00000000 00000000  1000        0 123457 1 0000000000000000 20 4 30 10 -1\n";
  CHECK(probes::proc_net_tcp_backlog(text, 123456) == 4);
  CHECK(probes::proc_net_tcp_backlog(text, 123457) == std::nullopt);  // not listening
  CHECK(probes::proc_net_tcp_backlog(text, 999) == std::nullopt);
}

TEST_CASE("Linux: room in the send buffer, from SO_MEMINFO or from SO_SNDBUF and SIOCOUTQ") {
  Guard guard;
  constexpr int kSendBuffer = 64 * 1024;
  auto [mine, peer] = tcp_pair(kSendBuffer);
  int reported = 0;
  socklen_t len = sizeof reported;
  REQUIRE(getsockopt(mine.get(), SOL_SOCKET, SO_SNDBUF, &reported, &len) == 0);
  CHECK(reported == 2 * kSendBuffer);  // the doubling the probes undo
  CHECK(probes::send_space_sndbuf(mine.get()) == kSendBuffer);
  const auto from_meminfo = probes::send_space_meminfo(mine.get());  // none under qemu-user
  if (from_meminfo) CHECK(*from_meminfo == kSendBuffer);
  CHECK(probes::send_space(mine.get()) == kSendBuffer);

  // The reading of an SO_MEMINFO result, whole and cut short.
  std::uint32_t meminfo[SK_MEMINFO_VARS] = {};
  meminfo[SK_MEMINFO_SNDBUF] = 131072;
  meminfo[SK_MEMINFO_WMEM_QUEUED] = 4096;
  CHECK(probes::meminfo_send_space(meminfo, sizeof meminfo) == (131072 - 4096) / 2);
  meminfo[SK_MEMINFO_WMEM_ALLOC] = 8192;  // a unix socket charges wmem_alloc
  CHECK(probes::meminfo_send_space(meminfo, sizeof meminfo) == (131072 - 8192) / 2);
  CHECK(probes::meminfo_send_space(meminfo, 4) == std::nullopt);  // what qemu-user returns
}

TEST_CASE("Linux: kevent() reports the same data through the second paths, as under qemu-user") {
  Guard guard;
  ForcedFallbacks fallbacks;
  Fd kq = make_kqueue();
  sockaddr_in addr;
  Fd listener = tcp_listener(&addr);
  std::vector<Fd> clients;
  for (int i = 0; i < 2; ++i) clients.push_back(tcp_connect(addr));
  REQUIRE(change(kq.get(), listener.get(), EVFILT_READ, EV_ADD) == 0);
  auto two = [](const struct kevent& ev) { return ev.data == 2; };
  CHECK(wait_until(kq.get(), listener.get(), EVFILT_READ, two).data == 2);

  constexpr int kSendBuffer = 64 * 1024;
  auto [mine, peer] = tcp_pair(kSendBuffer);
  REQUIRE(change(kq.get(), mine.get(), EVFILT_WRITE, EV_ADD) == 0);
  CHECK(wait_for(kq.get(), mine.get(), EVFILT_WRITE).data == kSendBuffer);
}

TEST_CASE("Linux: EVFILT_READ's end of file takes the socket error, so read() then returns 0") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  REQUIRE(change(kq.get(), mine.get(), EVFILT_READ, EV_ADD) == 0);
  const linger abort_on_close{1, 0};
  REQUIRE(setsockopt(peer.get(), SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  peer.reset();
  auto eof = [](const struct kevent& ev) { return (ev.flags & EV_EOF) != 0; };
  CHECK(wait_until(kq.get(), mine.get(), EVFILT_READ, eof).fflags == static_cast<unsigned>(ECONNRESET));
  // The real kqueue leaves the error for read() (-1, ECONNRESET); Linux
  // reports it once, and the shim took it. fflags keeps saying it.
  char byte;
  CHECK(read(mine.get(), &byte, 1) == 0);
  CHECK(wait_for(kq.get(), mine.get(), EVFILT_READ).fflags == static_cast<unsigned>(ECONNRESET));
}

TEST_CASE("Linux (documented limit): a number made to name the same open file again keeps its knotes") {
  Guard guard;
  Fd kq = make_kqueue();
  auto [in, out] = make_pipe();
  Fd copy(dup(in.get()));
  REQUIRE(copy.get() >= 0);
  REQUIRE(change(kq.get(), in.get(), EVFILT_READ, EV_ADD) == 0);
  const int number = in.get();
  in.reset();
  REQUIRE(dup2(copy.get(), number) == number);  // the same open file, at the same number
  Fd again(number);
  send_text(out.get(), "x");
  // kqueue dropped the knote at close(); the shim cannot tell this close
  // happened, and still reports it.
  CHECK(find(poll_events(kq.get()), number, EVFILT_READ) != nullptr);
}

namespace {

// The events mask of `fd`'s entry in the epoll set `epfd`, as
// /proc/self/fdinfo shows it, less EPOLLERR and EPOLLHUP (which epoll
// always watches, and adds); -1 if it has none.
long epoll_mask(int epfd, int fd) {
  std::ifstream info("/proc/self/fdinfo/" + std::to_string(epfd));
  std::string line;
  while (std::getline(info, line)) {
    int tfd = -1;
    unsigned events = 0;
    if (std::sscanf(line.c_str(), "tfd: %d events: %x", &tfd, &events) == 2 && tfd == fd) {
      return events & ~static_cast<unsigned>(EPOLLERR | EPOLLHUP);
    }
  }
  return -1;
}

}  // namespace

TEST_CASE("Linux: a descriptor's epoll entry watches what its enabled knotes wait for") {
  // A socket is nearly always writable: watched for writing while nothing
  // waits for it, every acknowledgement from the peer would wake the loop,
  // and every re-arm would report it. An EV_CLEAR knote keeps everything
  // watched (changing the mask would report it again).
  Guard guard;
  Fd kq = make_kqueue();
  auto [mine, peer] = tcp_pair();
  const int fd = mine.get();
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ADD | EV_DISPATCH) == 0);
  CHECK(epoll_mask(kq.get(), fd) == (EPOLLIN | EPOLLRDHUP | EPOLLET));
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ADD | EV_DISPATCH) == 0);
  CHECK(epoll_mask(kq.get(), fd) == (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
  REQUIRE(poll_events(kq.get()).size() == 1);  // the write knote: disabled now
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_ENABLE) == 0);
  CHECK(epoll_mask(kq.get(), fd) == (EPOLLIN | EPOLLRDHUP | EPOLLET));
  REQUIRE(change(kq.get(), fd, EVFILT_READ, EV_DISABLE) == 0);
  REQUIRE(change(kq.get(), fd, EVFILT_WRITE, EV_ENABLE) == 0);
  CHECK(epoll_mask(kq.get(), fd) == (EPOLLOUT | EPOLLET));

  auto [other, other_peer] = tcp_pair();
  REQUIRE(change(kq.get(), other.get(), EVFILT_READ, EV_ADD | EV_CLEAR) == 0);
  CHECK(epoll_mask(kq.get(), other.get()) == (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));
}

TEST_CASE("Linux: the bookkeeping of a closed kqueue is freed by the next kqueue() call") {
  Guard guard;
  Fd first = make_kqueue();
  const std::size_t tracked = cfs_kqueue::testing::kqueues_tracked();
  REQUIRE(change(first.get(), 1, EVFILT_USER, EV_ADD) == 0);
  for (int i = 0; i < 20; ++i) {
    Fd kq = make_kqueue();
    REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD, 0, 1000) == 0);
  }
  first.reset();
  Fd last = make_kqueue();
  CHECK(cfs_kqueue::testing::kqueues_tracked() <= tracked);
}

TEST_CASE("Linux: timer parameters as FreeBSD takes them") {
  Guard guard;
  Fd kq = make_kqueue();
  // A period of 0 is one unit; a one-shot of 0 fires at once.
  REQUIRE(change(kq.get(), 1, EVFILT_TIMER, EV_ADD | EV_ONESHOT, 0, 0) == 0);
  CHECK(wait_for(kq.get(), 1, EVFILT_TIMER, 1000ms).data == 1);
  const auto start = Clock::now();
  REQUIRE(change(kq.get(), 2, EVFILT_TIMER, EV_ADD, 0, 0) == 0);
  std::this_thread::sleep_for(30ms);
  const std::intptr_t expirations = wait_for(kq.get(), 2, EVFILT_TIMER).data;
  CHECK(expirations >= 20);
  CHECK(expirations <= ms_since(start) + 1);
  // Negative periods, unknown units, two units at once: EINVAL.
  CHECK(change_error(kq.get(), 3, EVFILT_TIMER, EV_ADD, 0, -1) == EINVAL);
  CHECK(change_error(kq.get(), 3, EVFILT_TIMER, EV_ADD, 0x100, 10) == EINVAL);
  CHECK(change_error(kq.get(), 3, EVFILT_TIMER, EV_ADD, NOTE_SECONDS | NOTE_USECONDS, 10) == EINVAL);
  // EV_ENABLE with EV_DISABLE: EINVAL.
  REQUIRE(change(kq.get(), 4, EVFILT_USER, EV_ADD) == 0);
  CHECK(change_error(kq.get(), 4, EVFILT_USER, EV_ENABLE | EV_DISABLE) == EINVAL);
}
