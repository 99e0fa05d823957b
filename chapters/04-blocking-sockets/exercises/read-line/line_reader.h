// exercises/read-line/line_reader.h: YOUR CODE (exercise 7 of chapter 04),
// with line_reader.cpp beside it.
//
// A line-based protocol (SMTP, HTTP's headers, a chat) reads "up to the
// next '\n'". recv() knows nothing of lines: it returns what has arrived,
// which TCP may have cut anywhere. LineReader turns the stream back into
// lines:
//
//   cfs::LineReader reader(fd);
//   while (std::optional<std::string> line = reader.next()) use(*line);
//
// Test it with `make exercise-04 EX=read-line`; the tests say what they
// expect. Hints: ../README.md. You may add members and helpers as you like;
// keep the public interface, which the tests use.
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
};

}  // namespace cfs
