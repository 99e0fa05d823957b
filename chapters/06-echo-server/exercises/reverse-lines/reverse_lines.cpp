// exercises/reverse-lines/reverse_lines.cpp: YOUR CODE (exercise 1 of
// chapter 06).
#include "reverse_lines.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <string>

#include "fd_wait.h"
#include "io.h"
#include "socket_error.h"

namespace cfs {

namespace {

Deadline idle_deadline(Clock::duration idle) {
  return idle == Clock::duration::zero() ? no_deadline : after(idle);
}

}  // namespace

std::size_t write_some(int fd, std::span<const std::byte> data, Deadline deadline) {
  // TODO: one send(); if the socket has no room (EAGAIN), wait_writable()
  // and try again; return what the send() took. This first try waits
  // until everything has gone, under one deadline.
  return write_all(fd, data, deadline);
}

void reverse_lines_connection(int fd, Clock::duration idle) {
  // TODO: answer each line reversed. This first try is chapter 06's echo:
  // it sends back the bytes as they come.
  std::array<std::byte, 4096> buffer;
  while (const std::size_t n = read_some(fd, buffer, idle_deadline(idle))) {
    write_all(fd, std::span(buffer).first(n), idle_deadline(idle));
  }
  ::shutdown(fd, SHUT_WR);
}

}  // namespace cfs
