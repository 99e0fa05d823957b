// solutions/read-line/line_reader.h: a reference solution of chapter 04's
// exercise 7 (the starter is exercises/read-line/line_reader.h).
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace cfs {

/// Thrown by LineReader::next() for a line longer than the reader's limit.
class LineTooLong : public std::length_error {
 public:
  using std::length_error::length_error;
};

/// Reads a connected socket line by line, over read_some().
class LineReader {
 public:
  /// Reads `fd` (which it does not own); a line may have up to `max_line`
  /// bytes before its '\n'.
  explicit LineReader(int fd, std::size_t max_line = 64 * 1024) : fd_(fd), max_line_(max_line) {}

  /// The next line, without its "\n" or "\r\n"; a last line that ends
  /// without a '\n' too. std::nullopt at end of file. Throws LineTooLong
  /// once more than `max_line` bytes have come with no '\n' among them, and
  /// SocketError as read_some() does.
  std::optional<std::string> next();

 private:
  int fd_;
  std::size_t max_line_;
  std::string buffered_;  // read from the socket, not returned yet
  bool eof_ = false;      // read_some() has said end of file
};

}  // namespace cfs
