// command_line.cpp: each value parsed in full, or a UsageError naming it.
#include "command_line.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cfs {

namespace {

/// 0.5 as "0.5", 86400 as "86400".
std::string shortest(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}

}  // namespace

bool CommandLine::next() {
  if (++i_ >= argc_) return false;
  flag_ = argv_[i_];
  return true;
}

std::string CommandLine::text() {
  if (i_ + 1 >= argc_) throw UsageError(std::string(flag_) + " needs a value");
  return argv_[++i_];
}

void CommandLine::bad(const std::string& what, std::string_view value) const {
  throw UsageError(std::string(flag_) + " wants " + what + ", not '" + std::string(value) + "'");
}

void CommandLine::unknown() const {
  throw UsageError("unknown argument '" + std::string(flag_) + "'");
}

std::uint64_t CommandLine::number(std::uint64_t min, std::uint64_t max) {
  const std::string value = text();
  std::uint64_t n = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() || n < min || n > max) {
    bad("a whole number from " + std::to_string(min) + " to " + std::to_string(max), value);
  }
  return n;
}

std::chrono::nanoseconds CommandLine::seconds(double min, double max) {
  const std::string value = text();
  // The whole text must be the number: "1s" and "abc" are refused.
  char* end = nullptr;
  const double s = value.empty() ? NAN : std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(s) || s < min || s > max) {
    bad("a number of seconds from " + shortest(min) + " to " + shortest(max), value);
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(s * 1e9)));
}

std::uint64_t CommandLine::bytes(std::uint64_t min, std::uint64_t max) {
  const std::string value = text();
  std::uint64_t n = 0, unit = 1;
  const char* last = value.data() + value.size();
  if (!value.empty() && (value.back() == 'K' || value.back() == 'k')) unit = 1024, --last;
  else if (!value.empty() && (value.back() == 'M' || value.back() == 'm')) unit = 1024 * 1024, --last;
  const auto [end, error] = std::from_chars(value.data(), last, n);
  if (value.empty() || error != std::errc() || end != last || n > max / unit || n * unit < min ||
      n * unit > max) {
    bad("a size from " + std::to_string(min) + " to " + std::to_string(max) +
            " bytes (a number, optionally with K or M)",
        value);
  }
  return n * unit;
}

}  // namespace cfs
