// slow_servers.h: local servers that are slow on purpose.
//
// To see what waiting does to a program, we need something to wait for. On
// loopback every answer is instant, so these servers add the delay a real
// network or a busy remote server would: each serves one client on a
// thread of its own and sleeps before it answers.
//
//   cfs::OneClientServer alice(cfs::greeter("hello, alice", 750ms));
//   cfs::Fd fd = cfs::connect_tcp("127.0.0.1", alice.port());
//   read_to_end(fd.get());  // "hello, alice", 750 ms after the connection
//
// greeter(): speaks first, once, late (as SMTP and SSH servers greet their
// clients), then closes.
// slow_chunks(): Programming in Lua's slow file server (section 9.4): it
// sends a payload in chunks, each after a delay; the client asks for each
// chunk in turn, so every delay starts when the client asks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "tcp.h"
#include "timeline.h"

namespace cfs {

//! [one-client-server]
/// Listens on a free port of `host` (a loopback address) and serves exactly
/// one client, on a thread of its own, with `body`. The destructor ends the
/// service (pause() returns false, a recv() returns end of file, a client
/// that never came is stood in for) and joins the thread.
class OneClientServer {
 public:
  using Body = std::function<void(int fd, OneClientServer& self)>;
  explicit OneClientServer(Body body, const std::string& host = "127.0.0.1");
  ~OneClientServer();
  OneClientServer(const OneClientServer&) = delete;
  OneClientServer& operator=(const OneClientServer&) = delete;

  std::uint16_t port() const { return listener_.address.port(); }
  /// For the body: waits `delay`; false if the server is being destroyed.
  bool pause(std::chrono::milliseconds delay);
  /// What the body threw (a SocketError's what()), or empty. Read it after
  /// the client is done.
  std::string error() const;

 private:
  void run();

  Body body_;
  std::string host_;
  Listener listener_;
  mutable std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stop_ = false;
  bool accepted_ = false;
  int client_fd_ = -1;  // the client's socket while the body runs
  std::string error_;
  std::thread thread_;  // last: it starts once everything above exists
};
//! [one-client-server]

/// Waits `delay` after the client connects, sends `greeting`, closes. If
/// `timeline` is given, notes "<name>'s greeter: sent its greeting".
OneClientServer::Body greeter(std::string greeting, std::chrono::milliseconds delay,
                              Timeline* timeline = nullptr, std::string name = "");

/// The slow file server's protocol: the client sends one byte to ask for
/// the next chunk; the server waits `delay`, then answers with kChunkSize
/// bytes, all equal to `fill`. After `chunks` chunks, the next request gets
/// end of file.
OneClientServer::Body slow_chunks(char fill, int chunks, std::chrono::milliseconds delay);
inline constexpr std::size_t kChunkSize = 1024;

}  // namespace cfs
