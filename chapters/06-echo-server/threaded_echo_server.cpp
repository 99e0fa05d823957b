// threaded_echo_server.cpp: accept on one thread, serve each client on its own.
#include "threaded_echo_server.h"

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <system_error>

#include "echo.h"
#include "socket_error.h"

namespace cfs {

ThreadedEchoServer::ThreadedEchoServer(const std::string& host, std::uint16_t port)
    : host_(host), listener_(listen_tcp(host, port)), acceptor_([this] { accept_loop(); }) {}

ThreadedEchoServer::~ThreadedEchoServer() { stop(); }

//! [accept-loop]
void ThreadedEchoServer::accept_loop() {
  for (;;) {
    Fd fd;
    try {
      fd = accept_client(listener_.fd.get());  // blocks until a client arrives
    } catch (const SocketError& e) {
      // Out of descriptors (EMFILE), say: report, and let clients leave.
      std::fprintf(stderr, "%s\n", e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      fd.reset();
    }
    std::list<Connection> finished;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;  // stop()'s wake-up connection: fd closes it
      if (!fd) continue;
      // Take the connections that have ended out of the list, to join
      // their threads below, without the lock.
      for (auto it = connections_.begin(); it != connections_.end();) {
        auto next = std::next(it);
        if (it->done) finished.splice(finished.end(), connections_, it);
        it = next;
      }
      Connection& c = connections_.emplace_back();
      c.fd = std::move(fd);
      ++accepted_;
      try {
        c.thread = std::thread([this, &c] { serve(&c); });  // a thread per connection
      } catch (const std::system_error& e) {
        // Out of threads (EAGAIN): this is where thread per connection ends.
        std::fprintf(stderr, "cfs: cannot start a thread for a connection: %s\n", e.what());
        connections_.pop_back();  // closes the connection
      }
    }
    for (Connection& c : finished) c.thread.join();  // they have returned already
  }
}
//! [accept-loop]

//! [serve]
void ThreadedEchoServer::serve(Connection* connection) {
  try {
    echo_until_eof(connection->fd.get());  // the very same code as one at a time
  } catch (const SocketError&) {
    // The client reset the connection, or stop() shut it down while we
    // were writing: either way this connection is over, the server is not.
  }
  std::lock_guard<std::mutex> lock(mutex_);
  connection->done = true;
}
//! [serve]

void ThreadedEchoServer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  // The acceptor is blocked in accept(): give it a connection to return
  // with. (Closing the listening socket under it would not wake it
  // everywhere, and its number could be reused meanwhile.) A wildcard
  // address is reached through loopback.
  std::string host = host_;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  try {
    connect_tcp(host, listener_.address.port());
  } catch (const SocketError& e) {
    std::fprintf(stderr, "%s (waking the acceptor)\n", e.what());
  }
  acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Connection& c : connections_) {
      if (!c.done) ::shutdown(c.fd.get(), SHUT_RDWR);  // its recv() returns 0
    }
  }
  for (Connection& c : connections_) c.thread.join();
  connections_.clear();  // closes every socket
  listener_.fd.reset();
}

std::size_t ThreadedEchoServer::accepted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return accepted_;
}

std::size_t ThreadedEchoServer::active() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t n = 0;
  for (const Connection& c : connections_) n += c.done ? 0 : 1;
  return n;
}

}  // namespace cfs
