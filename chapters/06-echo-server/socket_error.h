// socket_error.h: what a failed socket call throws.
//
// The message names the call, the address it was about, and the reason:
//
//   cfs: connect(127.0.0.1:40123): Connection refused
//   cfs: getaddrinfo(bad..host:80): Name or service not known
//
// and code() keeps the error number, for code that branches on it:
//
//   catch (const cfs::SocketError& e) {
//     if (e.code() == std::errc::connection_refused) retry_later();
//   }
//
// Errors of system calls are errno values (std::generic_category, whose
// message is strerror's). getaddrinfo() has codes of its own, the EAI_*
// constants, described by gai_strerror(): they get a category of their own,
// resolver_category(), so that EAI_NONAME can never be mistaken for the
// errno value that happens to have the same number.
#pragma once

#include <string>
#include <system_error>

namespace cfs {

/// The category of getaddrinfo()'s EAI_* codes.
const std::error_category& resolver_category() noexcept;

//! [socket-error]
class SocketError : public std::system_error {
 public:
  /// `call` failed on `address` with `code`; what() is
  /// "cfs: call(address): reason".
  SocketError(std::string call, std::string address, std::error_code code);

  const std::string& call() const noexcept { return call_; }        ///< e.g. "connect"
  const std::string& address() const noexcept { return address_; }  ///< e.g. "[::1]:8080"
  /// The errno value, or 0 for an error that is not one (getaddrinfo's).
  int errno_value() const noexcept;

 private:
  std::string call_;
  std::string address_;
};

/// Throws a SocketError for `call` on `address` with the current errno.
[[noreturn]] void throw_errno(const std::string& call, const std::string& address);
//! [socket-error]

}  // namespace cfs
