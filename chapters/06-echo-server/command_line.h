// command_line.h: flags of the form `--name value`, checked, for the
// chapter's programs (echo-server, echo-bench, the callback server).
//
//   cfs::CommandLine args(argc, argv);
//   while (args.next()) {
//     if (args.is("--port")) port = args.number(0, 65535);
//     else if (args.is("--idle-timeout")) idle = args.seconds(0, 86400);
//     else args.unknown();
//   }
//
// Every mistake throws a UsageError whose message names the flag and what
// was wrong with it: "--port wants a whole number from 0 to 65535, not
// '70000'". The program prints it with its usage and exits with status 2.
#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cfs {

/// A bad command line: what() names the flag and the problem.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

//! [command-line]
class CommandLine {
 public:
  CommandLine(int argc, char** argv) : argc_(argc), argv_(argv) {}

  /// Moves to the next flag; false when there are none left.
  bool next();
  /// The current flag, e.g. "--port".
  std::string_view flag() const { return flag_; }
  bool is(std::string_view name) const { return flag_ == name; }

  /// The flag's value, as text: the next argument (a UsageError if none).
  std::string text();
  /// The value as a whole number in [min, max].
  std::uint64_t number(std::uint64_t min, std::uint64_t max);
  /// The value as seconds, a decimal number in [min, max] ("0.5", "30").
  std::chrono::nanoseconds seconds(double min, double max);
  /// The value as a size in bytes in [min, max]: a whole number, with an
  /// optional suffix K or M (KiB, MiB): "65536", "64K", "1M".
  std::uint64_t bytes(std::uint64_t min, std::uint64_t max);
  /// Throws the UsageError for a flag nobody knows.
  [[noreturn]] void unknown() const;

 private:
  [[noreturn]] void bad(const std::string& what, std::string_view value) const;
  int argc_;
  char** argv_;
  int i_ = 0;
  std::string_view flag_;
};
//! [command-line]

}  // namespace cfs
