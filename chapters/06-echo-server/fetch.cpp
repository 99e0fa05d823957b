// fetch.cpp: the slow servers' client, three ways.
#include "fetch.h"

#include <array>
#include <cstddef>

#include "coroutine.h"
#include "io.h"
#include "loop.h"
#include "polling_io.h"
#include "round_robin.h"
#include "slow_servers.h"
#include "tcp.h"

namespace cfs {

namespace {
const std::array<std::byte, 1> kRequest{std::byte{'n'}};  // "the next chunk, please"
}  // namespace

//! [fetch]
std::string fetch(std::uint16_t port) {
  Fd fd = connect_tcp("127.0.0.1", port);
  std::string payload;
  std::array<std::byte, kChunkSize> chunk;
  for (;;) {
    write_all(fd.get(), kRequest);
    const std::size_t n = read_exact(fd.get(), chunk);  // blocks until it comes
    if (n == 0) break;                                   // end of file: all done
    payload.append(reinterpret_cast<const char*>(chunk.data()), n);
    if (in_coroutine()) yield();  // let the other fetchers have a turn
  }
  return payload;
}
//! [fetch]

//! [fetch-polling]
std::string fetch_polling(std::uint16_t port) {
  Fd fd = polling::connect_tcp("127.0.0.1", port);
  std::string payload;
  std::array<std::byte, kChunkSize> chunk;
  for (;;) {
    polling::write_all(fd.get(), kRequest);
    const std::size_t n = polling::read_exact(fd.get(), chunk);  // yields until it comes
    if (n == 0) break;
    payload.append(reinterpret_cast<const char*>(chunk.data()), n);
  }
  return payload;
}
//! [fetch-polling]

std::vector<std::string> fetch_sequentially(const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> payloads;
  for (std::uint16_t port : ports) payloads.push_back(fetch(port));
  return payloads;
}

//! [fetch-all]
std::vector<std::string> fetch_in_coroutines(const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> payloads(ports.size());
  RoundRobin dispatcher;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    dispatcher.spawn([&payloads, &ports, i] { payloads[i] = fetch(ports[i]); });
  }
  dispatcher.run();
  return payloads;
}

std::vector<std::string> fetch_polling_all(const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> payloads(ports.size());
  RoundRobin dispatcher;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    dispatcher.spawn([&payloads, &ports, i] { payloads[i] = fetch_polling(ports[i]); });
  }
  dispatcher.run();
  return payloads;
}
//! [fetch-all]

//! [fetch-on-loop]
std::vector<std::string> fetch_on_loop(const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> payloads(ports.size());
  Loop loop;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    loop.spawn("fetch " + std::to_string(ports[i]),
               [&payloads, &ports, i] { payloads[i] = fetch(ports[i]); });
  }
  loop.run();  // every recv() parks its task: the waits overlap
  return payloads;
}
//! [fetch-on-loop]

}  // namespace cfs
