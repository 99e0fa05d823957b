// spare_descriptor.cpp: close the spare, accept, close, reopen.
#include "spare_descriptor.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

namespace cfs {

namespace {

Fd open_spare() { return Fd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

}  // namespace

SpareDescriptor::SpareDescriptor() : spare_(open_spare()) {}

//! [turn-away]
SpareDescriptor::Outcome SpareDescriptor::turn_away(int listen_fd) {
  if (!spare_) spare_ = open_spare();         // taken back since last time?
  if (!spare_) return Outcome::no_spare;
  spare_.reset();                      // one descriptor free, for a moment
  int fd;
  do {
    fd = ::accept(listen_fd, nullptr, nullptr);
  } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
  // No shutdown(), no linger: close() with nothing unread sends a FIN, and
  // the client reads end of file rather than waiting in the queue.
  const int error = errno;
  if (fd >= 0) ::close(fd);
  spare_ = open_spare();  // the slot is free again: ours, unless raced
  if (fd >= 0) return Outcome::turned_away;
  return error == EAGAIN || error == EWOULDBLOCK ? Outcome::queue_empty : Outcome::no_spare;
}
//! [turn-away]

}  // namespace cfs
