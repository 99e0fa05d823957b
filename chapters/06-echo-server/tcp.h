// tcp.h: TCP connections, both ends: listen and accept, connect.
//
//   cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);  // port 0: any free port
//   std::printf("listening on %s\n", listener.address.to_string().c_str());
//   cfs::Fd client = cfs::connect_tcp("127.0.0.1", listener.address.port());
//   cfs::Fd served = cfs::accept_client(listener.fd.get());
//
// Every call here blocks until it is done: connect_tcp() until the
// handshake has completed, accept_client() until a client arrives. Each
// socket they make is close-on-exec and never raises SIGPIPE (see
// tcp_socket()), and every failure is a SocketError naming the address.
#pragma once

#include <cstdint>
#include <string>

#include "address.h"
#include "deadline.h"
#include "fd.h"

namespace cfs {

/// A listening socket and the address it is bound to.
struct Listener {
  Fd fd;
  Address address;  ///< address.port() is the port it got, if it asked for 0
};

//! [tcp-api]
/// Listens on `host`:`port`, trying each address getaddrinfo() gives until
/// one binds. Port 0 lets the kernel pick a free (ephemeral) port: the
/// Listener's address says which one it got.
Listener listen_tcp(const std::string& host, std::uint16_t port, int backlog = 128);

/// Waits for the next client of the listening socket `listen_fd` and returns
/// the connected socket; `peer`, if given, receives the client's address.
Fd accept_client(int listen_fd, Address* peer = nullptr, Deadline deadline = no_deadline);

/// Connects to `host`:`port`, trying each address getaddrinfo() gives in
/// turn; throws the last attempt's error if none answers.
Fd connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline = no_deadline);
//! [tcp-api]

/// A new TCP socket of `family` (AF_INET or AF_INET6), close-on-exec, that
/// does not raise SIGPIPE on macOS (SO_NOSIGPIPE; on Linux write_all() asks
/// for that per call, with MSG_NOSIGNAL). `address` names it in errors.
Fd tcp_socket(int family, const std::string& address);

}  // namespace cfs
