// slow_servers.cpp: one client, served slowly, on a thread.
#include "slow_servers.h"

#include <sys/socket.h>

#include <array>
#include <vector>

#include "io.h"
#include "socket_error.h"

namespace cfs {

OneClientServer::OneClientServer(Body body, const std::string& host)
    : body_(std::move(body)),
      host_(host),
      listener_(listen_tcp(host, 0)),
      thread_([this] { run(); }) {}

void OneClientServer::run() {
  Fd client;
  try {
    client = accept_client(listener_.fd.get());
  } catch (const SocketError& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = e.what();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accepted_ = true;
    if (stop_) return;  // the destructor's stand-in client
    client_fd_ = client.get();
  }
  try {
    body_(client.get(), *this);
  } catch (const SocketError& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = e.what();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  client_fd_ = -1;  // from here on the destructor must not touch it: it closes
}

bool OneClientServer::pause(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stop_changed_.wait_for(lock, delay, [this] { return stop_; });
}

std::string OneClientServer::error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return error_;
}

OneClientServer::~OneClientServer() {
  bool accepted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    accepted = accepted_;
    // A body blocked in recv() (a client that neither asks nor leaves):
    // shutdown() makes the recv() return end of file.
    if (client_fd_ >= 0) ::shutdown(client_fd_, SHUT_RDWR);
  }
  stop_changed_.notify_all();  // ends a pause()
  if (!accepted) {
    // The thread is still in accept(), which only a client ends: be one.
    try {
      connect_tcp(host_, port());
    } catch (const SocketError&) {
    }
  }
  thread_.join();
}

//! [greeter]
OneClientServer::Body greeter(std::string greeting, std::chrono::milliseconds delay,
                              Timeline* timeline, std::string name) {
  return [=](int fd, OneClientServer& self) {
    if (!self.pause(delay)) return;
    write_all(fd, std::as_bytes(std::span(greeting)));
    if (timeline != nullptr) timeline->note(name + "'s greeter: sent its greeting");
  };  // the caller closes the connection: the client reads end of file
}
//! [greeter]

//! [slow-chunks]
OneClientServer::Body slow_chunks(char fill, int chunks, std::chrono::milliseconds delay) {
  return [=](int fd, OneClientServer& self) {
    const std::vector<std::byte> chunk(kChunkSize, std::byte(fill));
    std::array<std::byte, 1> request;
    for (int i = 0; i < chunks; ++i) {
      if (read_exact(fd, request) == 0) return;  // the client left early
      if (!self.pause(delay)) return;            // "thinking" about the answer
      write_all(fd, chunk);
    }
    read_exact(fd, request);  // the request that gets end of file, read so
                              // that closing does not reset the connection
  };
}
//! [slow-chunks]

}  // namespace cfs
