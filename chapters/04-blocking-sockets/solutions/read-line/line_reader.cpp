// solutions/read-line/line_reader.cpp: a reference solution of chapter 04's
// exercise 7. TCP delivers a stream of bytes, not messages: one recv() may
// return half a line, or three lines and a half. So the reader keeps what
// it has read and not returned yet, and only reads again when that holds
// no complete line.
#include "line_reader.h"

#include <array>
#include <span>
#include <utility>

#include "io.h"

namespace cfs {

namespace {

/// `line` without the '\r' of a "\r\n" ending.
std::string without_cr(std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

std::optional<std::string> LineReader::next() {
  std::size_t searched = 0;  // the first bytes of buffered_ hold no '\n'
  for (;;) {
    const std::size_t newline = buffered_.find('\n', searched);
    if (newline != std::string::npos && newline <= max_line_) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);  // the rest waits for the next call
      return without_cr(std::move(line));
    }
    // No complete line yet. Past the limit, more reading cannot help: a
    // peer that never sends '\n' must not make us buffer without end.
    if (newline != std::string::npos || buffered_.size() > max_line_) {
      throw LineTooLong("cfs: a line longer than " + std::to_string(max_line_) +
                        " bytes on fd " + std::to_string(fd_));
    }
    if (eof_) {
      if (buffered_.empty()) return std::nullopt;
      return without_cr(std::exchange(buffered_, std::string()));  // the last line
    }
    searched = buffered_.size();
    std::array<char, 4096> piece;
    const std::size_t n = read_some(fd_, std::as_writable_bytes(std::span(piece)));
    if (n == 0) {
      eof_ = true;
    } else {
      buffered_.append(piece.data(), n);
    }
  }
}

}  // namespace cfs
