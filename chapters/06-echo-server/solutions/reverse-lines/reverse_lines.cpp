// solutions/reverse-lines/reverse_lines.cpp: a reference solution of
// chapter 06's exercise 1.
#include "reverse_lines.h"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <string_view>

#include "fd_wait.h"
#include "io.h"
#include "loop_errors.h"
#include "socket_error.h"

namespace cfs {

namespace {

#if defined(MSG_NOSIGNAL)
constexpr int kSendFlags = MSG_NOSIGNAL;  // EPIPE, not SIGPIPE
#else
constexpr int kSendFlags = 0;  // macOS: the socket has SO_NOSIGPIPE
#endif

Deadline idle_deadline(Clock::duration idle) {
  return idle == Clock::duration::zero() ? no_deadline : after(idle);
}

/// All of `text`, with write_some(): a fresh idle deadline for every wait,
/// so a client that keeps reading, however slowly, is never idle.
void send_all(int fd, std::string_view text, Clock::duration idle) {
  std::span<const std::byte> rest = std::as_bytes(std::span(text));
  while (!rest.empty()) rest = rest.subspan(write_some(fd, rest, idle_deadline(idle)));
}

/// `line` (without its '\n') reversed, its "\r" dropped, and a '\n' after.
void answer(std::string& line, std::string& out) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  out.append(line.rbegin(), line.rend());
  out += '\n';
  line.clear();
}

}  // namespace

std::size_t write_some(int fd, std::span<const std::byte> data, Deadline deadline) {
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), kSendFlags);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) throw_errno("send", "fd " + std::to_string(fd));
    wait_writable(fd, deadline);  // parks this task until the client has read some
  }
}

void reverse_lines_connection(int fd, Clock::duration idle) {
  std::array<char, 4096> buffer;
  std::string line;  // the line so far: it may come in many pieces
  std::string out;   // the answers to the lines of one read
  for (;;) {
    const std::size_t n = read_some(fd, std::as_writable_bytes(std::span(buffer)), idle_deadline(idle));
    if (n == 0) break;  // end of file
    for (char c : std::string_view(buffer.data(), n)) {
      if (c == '\n') {
        answer(line, out);
      } else if (line.size() == kMaxLine) {
        send_all(fd, out + "error: line too long\n", idle);
        // A close with unread input sends a reset, which may destroy the
        // error line before the client reads it: end our side, then read
        // (and drop) what the client still sends, for a while.
        ::shutdown(fd, SHUT_WR);
        try {
          const Deadline give_up = after(std::chrono::seconds(1));
          while (read_some(fd, std::as_writable_bytes(std::span(buffer)), give_up) > 0) {
          }
        } catch (const TimedOut&) {
        }
        return;
      } else {
        line += c;
      }
    }
    // Everything this read brought is answered before the next read: what
    // the server holds stays bounded, and a client that does not read stops
    // being read (backpressure, as in echo_connection()).
    send_all(fd, out, idle);
    out.clear();
  }
  if (!line.empty()) {
    answer(line, out);  // the last line, without '\n'
    send_all(fd, out, idle);
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace cfs
