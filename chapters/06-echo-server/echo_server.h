// echo_server.h: the echo server: a task per connection, on one loop.
//
//   cfs::EchoServer server({.port = 7007, .max_conns = 10000});
//   std::printf("listening on %s\n", server.address().to_string().c_str());
//   server.stop_on_signals();  // SIGINT, SIGTERM: stop accepting, drain, return
//   server.run();              // this thread runs the loop until then
//
// Three kinds of task share the loop's one thread:
//
//   acceptor   accepts connections and spawns a task for each; turns away
//              the ones past max_conns, and, out of descriptors, the ones
//              it has no descriptor for (spare_descriptor.h)
//   conn N     one per connection: echo_connection() on descriptor N
//   stopper    waits for a signal (or stop()), then stops the acceptor,
//              lets the connections finish until the drain deadline, and
//              cancels those still there
//
// run() returns when every task has ended.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>

#include "echo_connection.h"
#include "loop.h"
#include "signal_pipe.h"
#include "socket_error.h"
#include "tcp.h"

namespace cfs {

class SpareDescriptor;

//! [server-options]
struct EchoServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port; address() says which
  /// Connections served at once; past it, new ones are accepted and closed.
  /// Also the listen backlog (the kernel caps that at its own limit,
  /// net.core.somaxconn on Linux).
  std::size_t max_conns = 10000;
  /// How long a connection may wait for its client, per wait; zero: for ever.
  Clock::duration idle_timeout = std::chrono::seconds(60);
  /// After a stop, how long connections may take to finish by themselves.
  Clock::duration drain_timeout = std::chrono::seconds(5);
  /// Each connection's stack (with a guard page below it).
  std::size_t stack_size = 64 * 1024;
  /// How long the loop looks for events without sleeping before it sleeps
  /// (Loop::set_spin()); zero: it sleeps at once.
  Clock::duration spin = Clock::duration::zero();
};
//! [server-options]

//! [server-stats]
/// What the server did, counted as it goes. Atomic, so that another thread
/// may read them while run() runs (only the loop's thread writes them).
struct EchoServerStats {
  std::atomic<std::size_t> accepted{0};     ///< connections given a task
  std::atomic<std::size_t> active{0};       ///< of those, being served now
  std::atomic<std::size_t> peak{0};         ///< the most active at once
  std::atomic<std::size_t> refused{0};      ///< past max_conns: accepted, closed
  std::atomic<std::size_t> turned_away{0};  ///< out of descriptors: the spare's
  std::atomic<std::size_t> no_stack{0};     ///< no stack for its task: accepted, closed
  std::atomic<std::size_t> backoffs{0};     ///< accept failed and could not be helped
  std::atomic<std::size_t> timed_out{0};    ///< closed after idle_timeout
  std::atomic<std::size_t> failed{0};       ///< ended by an error (a reset)
  std::atomic<std::size_t> cut{0};          ///< cancelled at the drain deadline
  std::atomic<std::size_t> spin_finds{0};   ///< turns the loop's spin found work (set at the end)
  ByteCounts bytes;
};
//! [server-stats]

class EchoServer {
 public:
  /// Listens at once (throws SocketError if it cannot), so address() is
  /// known, and clients may connect, before run().
  explicit EchoServer(EchoServerOptions options);
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  const Address& address() const { return address_; }
  const EchoServerOptions& options() const { return options_; }
  const EchoServerStats& stats() const { return stats_; }

  /// SIGINT and SIGTERM stop the server (as stop() does) instead of ending
  /// the process. At most one server per process can catch them.
  void stop_on_signals();
  /// Stops the server: from any thread, at any time (before run() too).
  void stop() noexcept;

  /// Serves on this thread until stopped and drained. Returns the signal
  /// that stopped it (SIGTERM for stop()). Call it once.
  int run();

 private:
  void accept_loop(Listener listener);
  void back_off_or_turn_away(const SocketError& error, int listen_fd, SpareDescriptor& spare);
  void start_connection(Fd fd);
  void serve(Fd fd);
  void connection_ended();
  void stop_and_drain();

  EchoServerOptions options_;
  Listener listener_;  // moved into the acceptor task by run()
  Address address_;
  SignalPipe stop_pipe_;
  EchoServerStats stats_;

  // The loop's thread only:
  Loop* loop_ = nullptr;
  CoroutineRef acceptor_, stopper_;
  std::unordered_set<void*> connections_;  // the tasks of the connections
  bool draining_ = false;
  int stopped_by_ = 0;
};

}  // namespace cfs
