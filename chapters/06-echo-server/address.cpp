// address.cpp: getaddrinfo() and printing addresses.
#include "address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "socket_error.h"

namespace cfs {

std::uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string Address::to_string() const {
  char host[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, host, sizeof host);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, host,
              sizeof host);
  }
  return host_port(host, port());
}

std::string host_port(const std::string& host, std::uint16_t port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

//! [resolve-impl]
std::vector<Address> resolve(const std::string& host, std::uint16_t port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;        // IPv4 or IPv6, whichever the host has
  hints.ai_socktype = SOCK_STREAM;    // TCP
  hints.ai_flags = AI_NUMERICSERV;    // the port is a number, not a service name
  if (passive) hints.ai_flags |= AI_PASSIVE;
  const std::string service = std::to_string(port);
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    // EAI_SYSTEM means "see errno"; every other code is getaddrinfo's own.
    const std::error_code code = rc == EAI_SYSTEM
                                     ? std::error_code(errno, std::generic_category())
                                     : std::error_code(rc, resolver_category());
    throw SocketError("getaddrinfo", host_port(host, port), code);
  }
  std::vector<Address> out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    Address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  freeaddrinfo(list);
  return out;
}
//! [resolve-impl]

Address local_address(int fd) {
  Address a;
  a.length = sizeof a.storage;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.length) != 0) {
    throw_errno("getsockname", "fd " + std::to_string(fd));
  }
  return a;
}

}  // namespace cfs
