// echo.cpp: the blocking echo server and client.
#include "echo.h"

#include <algorithm>
#include <array>

#include "io.h"
#include "tcp.h"

namespace cfs {

//! [echo-until-eof]
std::size_t echo_until_eof(int fd) {
  std::array<std::byte, 16 * 1024> buffer;
  std::size_t total = 0;
  // Each call below blocks the thread until the client has sent something
  // (or, for write_all, until there is room in the send buffer).
  while (const std::size_t n = read_some(fd, buffer)) {
    write_all(fd, std::span(buffer).first(n));
    total += n;
  }
  return total;  // read_some() returned 0: the client closed its side
}
//! [echo-until-eof]

//! [one-at-a-time]
void serve_one_at_a_time(int listen_fd, int clients) {
  for (int i = 0; i < clients; ++i) {
    Fd client = accept_client(listen_fd);  // blocks until a client arrives
    echo_until_eof(client.get());          // blocks the whole time it is served
  }
}
//! [one-at-a-time]

std::vector<std::byte> echo_round_trip(int fd, std::span<const std::byte> data) {
  std::vector<std::byte> echo(data.size());
  std::size_t done = 0;
  while (done < data.size()) {
    const std::size_t piece = std::min(kEchoPiece, data.size() - done);
    write_all(fd, data.subspan(done, piece));
    const std::size_t got = read_exact(fd, std::span(echo).subspan(done, piece));
    done += got;
    if (got < piece) break;  // the server closed early
  }
  echo.resize(done);
  return echo;
}

}  // namespace cfs
