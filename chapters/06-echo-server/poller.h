// poller.h: the load client's readiness API, on the system's own mechanism:
// epoll on Linux, kqueue elsewhere.
//
//   cfs::Poller poller;
//   poller.add(fd, &connection);            // readable: always watched
//   poller.watch_writes(fd, &connection, true);
//   for (const cfs::Poller::Event& e : poller.wait(100))  // up to 100 ms
//     ...e.tag, e.readable, e.writable...
//
// Level-triggered: a descriptor is reported for as long as it is ready.
//
// The load client does not use this chapter's loop, and not our kqueue
// shim either, on purpose. A benchmark client has to be cheaper than every
// server it measures, or it measures itself: on loopback, client and server
// do the same work per message (a wake-up, a recv, a send), and with each
// pinned to a core of its own, the slower of the two sets the pace. Raw
// epoll costs one system call per wait for any number of events, plus the
// recv and the send; the shim adds two per event (notes/kqueue-on-epoll.md).
// A callback state machine per connection is more code than a task, but
// this is a measuring instrument, not the subject.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "fd.h"

#if defined(__linux__)
#include <sys/epoll.h>
#else
#include "../../common/kqueue.h"
#endif

namespace cfs {

//! [poller]
class Poller {
 public:
  struct Event {
    void* tag;       ///< what add() was given
    bool readable;   ///< data, end of file, or an error: recv() will say
    bool writable;   ///< room to send, or a connect() has finished
  };

  Poller();
  /// Watches `fd` for reading from now on; `tag` comes back in its events.
  void add(int fd, void* tag);
  /// Watches `fd` for writing too, or no longer.
  void watch_writes(int fd, void* tag, bool on);
  /// Stops watching `fd` (call before closing it).
  void remove(int fd);
  /// Waits up to `timeout_ms` (-1: for ever) for events; the span is valid
  /// until the next call.
  std::span<const Event> wait(int timeout_ms);

 private:
  Fd fd_;
#if defined(__linux__)
  std::vector<epoll_event> raw_;
#else
  std::vector<struct kevent> raw_;
#endif
  std::vector<Event> events_;
};
//! [poller]

}  // namespace cfs
