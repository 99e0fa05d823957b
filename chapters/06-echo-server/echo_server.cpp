// echo_server.cpp: the acceptor, the connections, and the stopper.
#include "echo_server.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <utility>

#include "spare_descriptor.h"
#include "stack_pool.h"

namespace cfs {

namespace {

using namespace std::chrono_literals;

/// The listen backlog: room in the kernel's queue for every connection the
/// server is asked to hold, should they all arrive at once. (Linux cuts it
/// to net.core.somaxconn, 4096 by default; macOS to kern.ipc.somaxconn.)
int backlog_for(std::size_t max_conns) {
  return static_cast<int>(std::clamp<std::size_t>(max_conns, 128, 65535));
}

}  // namespace

EchoServer::EchoServer(EchoServerOptions options)
    : options_(std::move(options)),
      listener_(listen_tcp(options_.host, options_.port, backlog_for(options_.max_conns))),
      address_(listener_.address) {}

void EchoServer::stop_on_signals() { stop_pipe_.catch_signals({SIGINT, SIGTERM}); }

void EchoServer::stop() noexcept { stop_pipe_.notify(SIGTERM); }

//! [run]
int EchoServer::run() {
  // Thousands of connections that come and go should reuse stacks, not map
  // and unmap one each (chapter 02's pool). The pool belongs to this thread,
  // which runs every task: let it keep a stack for every connection the
  // server may hold. Beyond the first 64, a kept stack holds address space
  // and its two mappings, not memory: its pages go back to the kernel.
  const stack_pool::Limits before = stack_pool::limits();
  const std::size_t footprint = options_.stack_size + page_size();  // with its guard
  const std::size_t most = SIZE_MAX / footprint < options_.max_conns ? SIZE_MAX
                                                                      : options_.max_conns * footprint;
  stack_pool::set_limits({.max_bytes = most, .max_resident = 64});

  Loop loop;
  loop_ = &loop;
  acceptor_ = loop.spawn("acceptor", [this](Listener l) { accept_loop(std::move(l)); },
                         std::move(listener_));
  stopper_ = loop.spawn("stopper", [this] { stop_and_drain(); });
  // Those two have the loop's default stacks; the connections, these:
  loop.set_stack_options({.size = options_.stack_size, .guard = true, .pooled = true});
  loop.set_spin(options_.spin);  // zero unless --spin-us asked for it
  loop.run();  // until every task has ended
  stats_.spin_finds = loop.spin_finds();
  loop_ = nullptr;
  stack_pool::set_limits(before);
  return stopped_by_;
}
//! [run]

//! [accept-loop]
void EchoServer::accept_loop(Listener listener) {
  SpareDescriptor spare;  // held for the day accept() fails with EMFILE
  for (;;) {
    Fd fd;
    std::optional<SocketError> failed;
    try {
      fd = accept_client(listener.fd.get());  // parks until a client comes
    } catch (const SocketError& e) {
      failed = e;  // handled below: a task must not wait inside a catch block (chapter 02)
    }
    if (failed) {
      back_off_or_turn_away(*failed, listener.fd.get(), spare);  // may park
      continue;
    }
    if (stats_.active.load() >= options_.max_conns) {
      // Full. Leaving the client in the queue would keep it waiting with
      // no answer; closing tells it at once: it reads end of file.
      ++stats_.refused;
      continue;  // `fd` closes here
    }
    try {
      start_connection(std::move(fd));
    } catch (const StackError& e) {
      // No stack for its task (memory, or vm.max_map_count): turned away
      // too, and the server goes on. Said once, counted every time.
      if (stats_.no_stack++ == 0) std::fprintf(stderr, "%s; turning clients away\n", e.what());
    }
  }
  // Never here: the stopper cancels this task, whose wait in accept_client()
  // then throws Cancelled; the stack unwinds and `listener` closes, so new
  // clients are refused from then on.
}
//! [accept-loop]

//! [out-of-descriptors]
void EchoServer::back_off_or_turn_away(const SocketError& error, int listen_fd,
                                       SpareDescriptor& spare) {
  const int e = error.errno_value();
  if (e == EMFILE || e == ENFILE) {
    // Out of descriptors. Linux's accept() looks for a free descriptor
    // before it looks at the queue, so EMFILE says nothing about whether a
    // client waits, and accepting again would fail again at once, for
    // ever: a spin. The spare's accept() finds out, and acts.
    switch (spare.turn_away(listen_fd)) {
      case SpareDescriptor::Outcome::turned_away:
        ++stats_.turned_away;  // the next one may be waiting too: try again
        return;
      case SpareDescriptor::Outcome::queue_empty:
        loop_->wait_readable(listen_fd);  // nobody: park until a client comes
        return;
      case SpareDescriptor::Outcome::no_spare:
        break;  // the spare could not be had back: back off, as below
    }
  }
  // Anything else (ENOBUFS, ENOMEM, no spare): say so, and rest a while
  // before the next try, so as not to spin on it.
  ++stats_.backoffs;
  std::fprintf(stderr, "%s; accepting again in 100 ms\n", error.what());
  loop_->sleep_for(100ms);
}
//! [out-of-descriptors]

//! [start-connection]
void EchoServer::start_connection(Fd fd) {
  const std::string label = "conn " + std::to_string(fd.get());
  // The task gets the descriptor; if no stack can be had, spawn() throws
  // StackError first, and `fd` is still ours, and closes.
  CoroutineRef task = loop_->spawn(label, [this](Fd fd) { serve(std::move(fd)); }, std::move(fd));
  connections_.insert(task.address());  // it runs at the loop's next turn
  const std::size_t active = ++stats_.active;
  ++stats_.accepted;
  if (active > stats_.peak.load()) stats_.peak = active;
}

void EchoServer::serve(Fd fd) {
  struct Leaving {  // on every way out: the end, an error, Cancelled
    EchoServer* server;
    ~Leaving() { server->connection_ended(); }
  } leaving{this};
  try {
    echo_connection(fd.get(), options_.idle_timeout, stats_.bytes);
  } catch (const TimedOut&) {
    ++stats_.timed_out;  // idle too long (a slowloris, or a lost client)
  } catch (const SocketError&) {
    ++stats_.failed;     // a reset, say: this connection is over, not the server
  }
  // Cancelled (the drain deadline) goes on up, to the loop: a normal end.
}  // `fd` closes here, after `leaving`'s destructor has run
//! [start-connection]

void EchoServer::connection_ended() {
  --stats_.active;
  connections_.erase(this_coroutine().address());
  // The last one to leave during a drain ends the stopper's wait early:
  // cancelling a task is the loop's one way to wake it from outside.
  if (draining_ && connections_.empty()) loop_->cancel(stopper_);
}

//! [stop-and-drain]
void EchoServer::stop_and_drain() {
  stopped_by_ = stop_pipe_.wait();  // parks until SIGINT, SIGTERM or stop()
  // 1. Stop accepting: the acceptor unwinds and closes the listening socket.
  loop_->cancel(acceptor_);
  // 2. Let the connections finish by themselves, until the drain deadline
  //    (or until the last one has left: it cancels this wait, which then
  //    throws Cancelled, and this task ends there).
  draining_ = true;
  if (!connections_.empty()) loop_->sleep_until(after(options_.drain_timeout));
  // 3. Cancel those still there: each one's wait throws Cancelled, its
  //    stack unwinds, its socket closes. Once they have, run() returns.
  for (void* task : connections_) {
    loop_->cancel(CoroutineRef::from_address(task));
    ++stats_.cut;
  }
}
//! [stop-and-drain]

}  // namespace cfs
