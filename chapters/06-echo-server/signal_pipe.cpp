// signal_pipe.cpp: a handler that writes one byte, and a task that reads it.
#include "signal_pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "fd_wait.h"

namespace cfs {

namespace {

// The write end of the pipe that catches signals, for the handler, which
// has no other way to find it. A lock-free atomic is safe to read in a
// handler; -1: no pipe catches signals.
std::atomic<int> g_write_end{-1};
static_assert(std::atomic<int>::is_always_lock_free);

//! [handler]
extern "C" void write_signal_number(int signal_number) {
  const int saved = errno;  // the interrupted code may be about to read errno
  const int fd = g_write_end.load();
  if (fd >= 0) {
    const unsigned char byte = static_cast<unsigned char>(signal_number);
    [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);  // full pipe: a byte is there already
  }
  errno = saved;
}
//! [handler]

void set_flags(int fd) {
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    throw std::system_error(errno, std::generic_category(), "cfs: fcntl on the signal pipe");
  }
}

}  // namespace

SignalPipe::SignalPipe() {
  int ends[2];
  if (::pipe(ends) != 0) throw std::system_error(errno, std::generic_category(), "cfs: pipe");
  read_end_.reset(ends[0]);
  write_end_.reset(ends[1]);
  set_flags(ends[0]);
  set_flags(ends[1]);
}

SignalPipe::~SignalPipe() {
  for (int i = 0; i < caught_count_; ++i) {
    struct sigaction now {};
    sigaction(caught_[i].signal_number, nullptr, &now);
    if (now.sa_handler == write_signal_number) sigaction(caught_[i].signal_number, &caught_[i].before, nullptr);
  }
  int mine = write_end_.get();
  g_write_end.compare_exchange_strong(mine, -1);
}

//! [catch-signals]
void SignalPipe::catch_signals(std::initializer_list<int> signals) {
  int none = -1;
  if (!g_write_end.compare_exchange_strong(none, write_end_.get()) &&
      none != write_end_.get()) {
    throw std::logic_error("cfs: another SignalPipe catches signals already");
  }
  struct sigaction action {};
  action.sa_handler = write_signal_number;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a system call the signal interrupts is restarted, where the
  // system can, instead of failing with EINTR. Our calls retry on EINTR
  // anyway; other code in the process may not.
  action.sa_flags = SA_RESTART;
  for (int signal_number : signals) {
    if (caught_count_ == static_cast<int>(std::size(caught_))) {
      throw std::length_error("cfs: SignalPipe catches at most 8 signals");
    }
    Caught& c = caught_[caught_count_];
    if (sigaction(signal_number, &action, &c.before) != 0) {
      throw std::system_error(errno, std::generic_category(), "cfs: sigaction");
    }
    c.signal_number = signal_number;
    ++caught_count_;
  }
}
//! [catch-signals]

void SignalPipe::notify(int signal_number) noexcept {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] ssize_t n = ::write(write_end_.get(), &byte, 1);
}

//! [wait]
int SignalPipe::wait(Deadline deadline) {
  for (;;) {
    unsigned char byte;
    const ssize_t n = ::read(read_end_.get(), &byte, 1);
    if (n == 1) return byte;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw std::system_error(errno, std::generic_category(), "cfs: read from the signal pipe");
    }
    if (n == 0) throw std::logic_error("cfs: the signal pipe's write end was closed");
    wait_readable(read_end_.get(), deadline);  // a pipe parks a task as a socket does
  }
}
//! [wait]

}  // namespace cfs
