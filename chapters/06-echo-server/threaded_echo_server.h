// threaded_echo_server.h: the classic fix: a thread per connection.
//
//   cfs::ThreadedEchoServer server("127.0.0.1", 0);   // listens, accepts on its own thread
//   connect to server.address() as often as you like, all at once
//   server.stop();                                     // or let the destructor do it
//
// The one-at-a-time server's code stays as it was (echo_until_eof() is the
// same function); each connection just gets a thread of its own to block
// in. The kernel then does the scheduling: a thread blocked in recv() sleeps
// until its data arrives, and the others run meanwhile. The price is a
// thread per client: a stack (8 MiB of address space by default on Linux,
// a few pages of it touched), a kernel task, and a thread creation per
// connection. bench/bench_threads.cpp measures it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <thread>

#include "tcp.h"

namespace cfs {

//! [threaded-server]
class ThreadedEchoServer {
 public:
  /// Listens on `host`:`port` (port 0: any free port) and starts accepting,
  /// on a thread of its own. Throws SocketError if it cannot listen.
  explicit ThreadedEchoServer(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  /// stop().
  ~ThreadedEchoServer();
  ThreadedEchoServer(const ThreadedEchoServer&) = delete;
  ThreadedEchoServer& operator=(const ThreadedEchoServer&) = delete;

  /// Where it listens, with the port it got.
  const Address& address() const { return listener_.address; }

  /// Stops accepting, ends the connections still open (shutdown(): their
  /// threads' recv() returns 0), joins every thread and closes every socket.
  /// Calling it again does nothing.
  void stop();

  /// Connections accepted so far, and those being served right now.
  std::size_t accepted() const;
  std::size_t active() const;

 private:
  struct Connection {
    Fd fd;               // closed only after `thread` has been joined
    std::thread thread;  // runs serve(this connection)
    bool done = false;   // serve() has returned (guarded by mutex_)
  };
  void accept_loop();
  void serve(Connection* connection);

  std::string host_;
  Listener listener_;
  mutable std::mutex mutex_;
  std::list<Connection> connections_;  // a list: serve() holds a pointer into it
  bool stopping_ = false;
  std::size_t accepted_ = 0;
  std::thread acceptor_;  // last: it starts once everything above exists
};
//! [threaded-server]

}  // namespace cfs
