// solutions/reuseport/sharded_server.cpp: a reference solution of chapter
// 06's exercise 3: listen_shared() and run_shard(), at the end; the rest is
// the starter's.
#include "sharded_server.h"

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <utility>

#include "echo_connection.h"
#include "loop.h"
#include "socket_error.h"

namespace cfs {

ShardedEchoServer::ShardedEchoServer(std::size_t shards, std::uint16_t port) {
  // Every listener first (if one cannot bind, no thread has started yet),
  // the first one's port for the others.
  for (std::size_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->listener = listen_shared("127.0.0.1", i == 0 ? port : port_);
    port_ = shard->listener.address.port();
    shards_.push_back(std::move(shard));
  }
  for (auto& shard : shards_) shard->thread = std::thread([this, s = shard.get()] { run_shard(*s); });
}

ShardedEchoServer::~ShardedEchoServer() {
  stop();
  for (auto& shard : shards_) shard->thread.join();
}

void ShardedEchoServer::stop() noexcept {
  for (auto& shard : shards_) shard->stop.notify(SIGTERM);
}

Listener listen_shared(const std::string& host, std::uint16_t port, int backlog) {
  std::optional<SocketError> last;
  for (const Address& a : resolve(host, port, /*passive=*/true)) {
    const std::string name = a.to_string();
    Fd fd = tcp_socket(a.family(), name);  // non-blocking, close-on-exec
    const int on = 1;
    // Before bind(): the kernel lets a socket share a port only if every
    // socket on it asked to, each before it bound.
    if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
      throw_errno("setsockopt(SO_REUSEPORT)", name);
    }
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as listen_tcp() does
    try {
      if (::bind(fd.get(), a.get(), a.length) != 0) throw_errno("bind", name);
      if (::listen(fd.get(), backlog) != 0) throw_errno("listen", name);
    } catch (const SocketError& e) {
      last = e;  // try the next address
      continue;
    }
    Address bound = local_address(fd.get());  // before fd is moved from
    return Listener{std::move(fd), bound};
  }
  throw *last;  // resolve() throws rather than return an empty list
}

void ShardedEchoServer::run_shard(Shard& shard) {
  // Everything below belongs to this thread: its own loop, its own tasks,
  // its own counts. Shards share nothing but the port (and `accepted`,
  // which is atomic for the tests' sake).
  Loop loop;
  ByteCounts counts;
  loop.spawn("acceptor", [&] {
    for (;;) {
      Fd fd = accept_client(shard.listener.fd.get());  // parks until a client comes
      ++shard.accepted;
      Loop::current().spawn("conn " + std::to_string(fd.get()), [&counts](Fd fd) {
        try {
          echo_connection(fd.get(), std::chrono::seconds(60), counts);
        } catch (const TimedOut&) {
        } catch (const SocketError&) {
        }
      }, std::move(fd));
    }
  });
  loop.spawn("stopper", [&] {
    shard.stop.wait();  // parks until stop()
    Loop::current().stop();  // every other task is cancelled, and run() returns
  });
  loop.run();
}

}  // namespace cfs
