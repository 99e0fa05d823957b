// address.h: socket addresses: resolving a host and a port, and printing one.
//
// A TCP endpoint is an IP address and a port. The socket API passes it as a
// `sockaddr`, a struct whose real type depends on the family: sockaddr_in
// for IPv4, sockaddr_in6 for IPv6. getaddrinfo() turns a host ("127.0.0.1",
// "::1", "localhost") and a port into a list of them, one per way to reach
// that host; the code below never builds one by hand.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cfs {

/// One IPv4 or IPv6 socket address.
struct Address {
  sockaddr_storage storage{};  ///< big enough for any family
  socklen_t length = 0;        ///< how much of it is used

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }  ///< AF_INET or AF_INET6
  std::uint16_t port() const;                       ///< in host byte order
  /// "127.0.0.1:8080", or "[::1]:8080" for IPv6.
  std::string to_string() const;
};

//! [resolve]
/// The addresses getaddrinfo() gives for a TCP `host` and `port`, in its
/// order of preference. `passive`: for a server's bind() (an empty host then
/// means every local address). Throws SocketError ("getaddrinfo(host:port)")
/// if the host does not resolve.
std::vector<Address> resolve(const std::string& host, std::uint16_t port, bool passive = false);
//! [resolve]

/// The address socket `fd` is bound to (getsockname): for a listener bound
/// to port 0, it holds the port the kernel picked.
Address local_address(int fd);

/// "host:port", with brackets around an IPv6 host: how error messages name
/// an address they could not resolve or reach.
std::string host_port(const std::string& host, std::uint16_t port);

}  // namespace cfs
