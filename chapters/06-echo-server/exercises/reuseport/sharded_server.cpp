// exercises/reuseport/sharded_server.cpp: an echo server with one loop per
// thread, all on one port (exercise 3 of chapter 06). YOUR CODE:
// listen_shared() and run_shard(), at the end; the rest is done.
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
  // TODO: a listener that can share its port. This first try is
  // listen_tcp(), with which a second listener on the port fails to bind.
  return listen_tcp(host, port, backlog);
}

void ShardedEchoServer::run_shard(Shard& shard) {
  // TODO: a Loop on this thread, with a task that accepts from
  // shard.listener (counting in shard.accepted) and spawns a task per
  // connection running echo_connection(), and a task that waits on
  // shard.stop and then stops the loop. This first try accepts nobody; it
  // only waits until stop().
  shard.stop.wait();
}

}  // namespace cfs
