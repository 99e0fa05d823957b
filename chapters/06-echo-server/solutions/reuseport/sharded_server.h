// solutions/reuseport/sharded_server.h: a reference solution of chapter
// 06's exercise 3 (the starter is exercises/reuseport/sharded_server.h).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "signal_pipe.h"
#include "tcp.h"

namespace cfs {

/// Listens on `host`:`port` with SO_REUSEPORT set before bind(), so that
/// several sockets made this way can listen on one port; the kernel then
/// spreads new connections over them. Port 0: the kernel picks a free one
/// (the first listener's address says which; pass it to the others).
Listener listen_shared(const std::string& host, std::uint16_t port, int backlog = 128);

/// An echo server with one loop per thread ("shard"), each with a listener
/// of its own on the same port.
class ShardedEchoServer {
 public:
  /// Opens `shards` listeners on 127.0.0.1:`port` (0: any free port, the
  /// same for all), then starts a thread for each, running run_shard().
  explicit ShardedEchoServer(std::size_t shards, std::uint16_t port = 0);
  /// stop(), and joins the threads.
  ~ShardedEchoServer();
  ShardedEchoServer(const ShardedEchoServer&) = delete;
  ShardedEchoServer& operator=(const ShardedEchoServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::size_t shards() const { return shards_.size(); }
  /// Connections shard `i` has accepted so far (from any thread).
  std::size_t accepted(std::size_t i) const { return shards_.at(i)->accepted.load(); }
  /// Ends every shard: its loop stops, its tasks are cancelled, its thread
  /// ends. From any thread; more than once is fine.
  void stop() noexcept;

 private:
  struct Shard {
    Listener listener;
    SignalPipe stop;  // stop() writes to it; the shard's loop reads it
    std::atomic<std::size_t> accepted{0};
    std::thread thread;
  };
  /// The body of shard `shard`'s thread: a Loop with an acceptor (a task
  /// per connection, echoing it) and a task that stops the loop when the
  /// shard's stop pipe says so. Returns when the loop has stopped.
  void run_shard(Shard& shard);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::uint16_t port_ = 0;
};

}  // namespace cfs
