// spare_descriptor.h: what an accept loop does when it runs out of
// descriptors (EMFILE).
//
// A connection that a client has made waits in the listening socket's queue
// until accept() takes it, and accept() needs a free descriptor to give it.
// At the limit (RLIMIT_NOFILE, fd_limit.h) it fails with EMFILE, and Linux
// leaves the connection in the queue: the listening socket stays readable,
// the loop wakes the acceptor again at once, accept() fails again, and the
// server spins at 100% CPU doing nothing, while the client waits for an
// answer that never comes. Worse, Linux's accept() takes a free descriptor
// *before* it looks at the queue: at the limit it says EMFILE even when
// nobody is waiting, so an acceptor that simply retries never parks at all,
// and no other task of the loop runs again.
//
// The two usual ways out:
//  - back off: stop accepting for a while (say 100 ms) and try again. The
//    CPU rests, but the client still waits, and so do the ones behind it.
//  - a spare descriptor: hold one descriptor open for this moment only
//    (on /dev/null). At EMFILE, close it, accept the waiting connection
//    into the slot that frees, close that connection at once, and take the
//    spare again. The client is told no at once (it reads end of file), the
//    queue empties, and the server is still at its limit, ready for the
//    next time. (libev's documentation and Marc Lehmann describe it.)
//
// This server uses the spare, and falls back on a back-off in the one case
// the spare cannot help: when it could not be taken back (another part of
// the program took that descriptor meanwhile).
#pragma once

#include "fd.h"

namespace cfs {

//! [spare-descriptor]
class SpareDescriptor {
 public:
  /// Opens the spare (/dev/null, read-only, close-on-exec).
  SpareDescriptor();

  enum class Outcome {
    turned_away,  ///< a waiting connection was accepted and closed
    queue_empty,  ///< none was waiting (EAGAIN): stop, park until one comes
    no_spare,     ///< no descriptor could be freed: back off, then retry
  };

  /// After accept() on `listen_fd` failed with EMFILE or ENFILE: gives up
  /// the spare, accepts the connection waiting first and closes it at once,
  /// then takes the spare back.
  Outcome turn_away(int listen_fd);

  /// True while the spare is held.
  bool held() const { return static_cast<bool>(spare_); }

 private:
  Fd spare_;
};
//! [spare-descriptor]

}  // namespace cfs
