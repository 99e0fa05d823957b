// solutions/reverse-lines/reverse_lines.h: a reference solution of chapter
// 06's exercise 1 (the starter is exercises/reverse-lines/reverse_lines.h).
#pragma once

#include <cstddef>
#include <span>

#include "deadline.h"

namespace cfs {

/// The most bytes a line may hold before its '\n'.
inline constexpr std::size_t kMaxLine = 4096;

/// Waits until `fd` has room (if it has none: only the task, on a loop),
/// then writes as much of `data` as fits, and returns how much that was.
/// TimedOut if no room came by `deadline`; SocketError if the connection
/// failed (never SIGPIPE).
std::size_t write_some(int fd, std::span<const std::byte> data, Deadline deadline = no_deadline);

/// One connection of a "reverse" server: answers every line the client
/// sends with the same line reversed (its bytes in the opposite order,
/// without its "\n" or "\r\n"), then a '\n'. A last line without '\n'
/// before end of file is answered too; then it ends its sending side. A
/// wait for the client longer than `idle` (each wait its own) throws
/// TimedOut. A line longer than kMaxLine is answered with
/// "error: line too long\n", and the connection ends.
void reverse_lines_connection(int fd, Clock::duration idle);

}  // namespace cfs
