// fd.h: a file descriptor that closes itself.
//
//   cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
//   cfs::write_all(fd.get(), data);
//   // ~Fd closes it, on every way out of the scope, exceptions included
//
// A socket is a file descriptor, a small int that indexes the process's
// table of open files. Forgetting to close one leaks a slot of that table
// (and, for a TCP socket, keeps the connection open); closing one twice may
// close somebody else's, since the kernel reuses the lowest free number at
// once. Fd owns exactly one descriptor, like a std::unique_ptr owns one
// object: it cannot be copied, moving it moves the ownership.
#pragma once

#include <unistd.h>

#include <utility>

namespace cfs {

//! [fd]
/// Owns one file descriptor and closes it when destroyed. -1: owns none.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  /// The descriptor, for system calls; the Fd keeps owning it.
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives up ownership without closing: the caller closes it now.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the descriptor owned so far (if any) and owns `fd` instead.
  /// close() is not retried: after EINTR, Linux has closed it already, and
  /// a retry could close a descriptor another thread just opened.
  void reset(int fd = -1) noexcept {
    const int old = std::exchange(fd_, fd);
    if (old >= 0) ::close(old);
  }

 private:
  int fd_ = -1;
};
//! [fd]

}  // namespace cfs
