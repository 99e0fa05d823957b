// socket_error.cpp: SocketError and getaddrinfo's error category.
#include "socket_error.h"

#include <netdb.h>

#include <cerrno>

namespace cfs {

namespace {

class ResolverCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return gai_strerror(code); }
};

}  // namespace

const std::error_category& resolver_category() noexcept {
  static const ResolverCategory category;
  return category;
}

SocketError::SocketError(std::string call, std::string address, std::error_code code)
    : std::system_error(code, "cfs: " + call + "(" + address + ")"),
      call_(std::move(call)),
      address_(std::move(address)) {}

int SocketError::errno_value() const noexcept {
  return code().category() == std::generic_category() ? code().value() : 0;
}

void throw_errno(const std::string& call, const std::string& address) {
  const int saved = errno;  // building the strings below may change errno
  throw SocketError(call, address, std::error_code(saved, std::generic_category()));
}

}  // namespace cfs
