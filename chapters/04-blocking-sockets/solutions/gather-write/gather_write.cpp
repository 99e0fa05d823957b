// solutions/gather-write/gather_write.cpp: a reference solution of chapter
// 04's exercise 8.
#include "gather_write.h"

#include <limits.h>  // IOV_MAX
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "socket_error.h"

namespace cfs {

namespace {

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;  // EPIPE, not SIGPIPE (as in io.cpp)
#else
constexpr int kSendFlags = 0;  // macOS: the socket has SO_NOSIGPIPE (tcp.cpp)
#endif

#if defined(IOV_MAX)
constexpr std::size_t kMostPieces = IOV_MAX;  // the kernel refuses more: EMSGSIZE
#else
constexpr std::size_t kMostPieces = 1024;
#endif

}  // namespace

std::size_t write_some_gathered(int fd, Pieces pieces) {
  // One iovec per piece that has bytes, up to the limit. sendmsg(), unlike
  // writev(), takes flags: MSG_NOSIGNAL.
  std::vector<iovec> iov;
  iov.reserve(std::min(pieces.size(), kMostPieces));
  for (std::span<const std::byte> piece : pieces) {
    if (iov.size() == kMostPieces) break;
    if (piece.empty()) continue;
    iov.push_back(iovec{const_cast<std::byte*>(piece.data()), piece.size()});
  }
  if (iov.empty()) return 0;
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = static_cast<decltype(message.msg_iovlen)>(iov.size());
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, kSendFlags);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno("sendmsg", "fd " + std::to_string(fd));
  }
}

std::size_t write_all_gathered(int fd, Pieces pieces) {
  std::size_t total = 0;
  for (std::span<const std::byte> piece : pieces) total += piece.size();
  // Where the next call starts: in piece `first`, after `offset` of its
  // bytes. The pieces before it have gone in full.
  std::size_t first = 0, offset = 0, done = 0;
  std::vector<std::span<const std::byte>> rest;
  while (done < total) {
    rest.assign(pieces.begin() + static_cast<std::ptrdiff_t>(first), pieces.end());
    rest.front() = rest.front().subspan(offset);  // the piece a call cut
    std::size_t n = write_some_gathered(fd, rest);
    done += n;
    // Step over what went: whole pieces, then part of one.
    while (n > 0 || (first < pieces.size() && offset == pieces[first].size())) {
      const std::size_t left_in_piece = pieces[first].size() - offset;
      if (n < left_in_piece) {
        offset += n;
        n = 0;
      } else {
        n -= left_in_piece;
        ++first;
        offset = 0;
      }
    }
  }
  return total;
}

}  // namespace cfs
