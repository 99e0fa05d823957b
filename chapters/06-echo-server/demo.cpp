// demo.cpp: the echo server with its load client, many connections parked
// in the loop, and a drain. Each part runs a server on a thread of its own
// and its clients on the main thread, on loopback, and ends by itself.
//
//   ch06_demo [PART...]    PART: load, parked, drain (default: all three)
//
//   load    100 connections of 64-byte messages for a second, then four of
//           1 MiB: every byte checked (echo-bench's engine), then the server's
//           own counts
//   parked  20 clients connected and quiet: 20 tasks parked in their read,
//           the loop's thread asleep in the kernel (the lldb walk-through
//           stops here, in all_parked())
//   drain   a stop with two clients connected: one finishes by itself
//           during the drain, the other is cut at the drain deadline
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "echo_server.h"
#include "io.h"
#include "load_client.h"
#include "stack_memory.h"
#include "tcp.h"
#include "timeline.h"

using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

/// Reads `n` bytes (fewer if the server closes first), as text.
std::string read_back(int fd, std::size_t n) {
  std::string s(n, '\0');
  const std::size_t got = cfs::read_exact(fd, std::as_writable_bytes(std::span(s)), cfs::after(30s));
  s.resize(got);
  return s;
}

bool reads_eof(int fd) {
  std::byte b[1];
  return cfs::read_some(fd, b, cfs::after(30s)) == 0;
}

void print_load(const char* what, const cfs::LoadResult& r, std::size_t size) {
  std::printf("  %s: %llu messages in %.2f s, %.0f msg/s, %.1f MB/s each way; p50 %.0f us, "
              "p99 %.0f us; %zu of %zu connections closed cleanly; %llu error(s)\n",
              what, static_cast<unsigned long long>(r.messages), r.seconds,
              static_cast<double>(r.messages) / r.seconds,
              static_cast<double>(r.messages * size) / r.seconds / 1e6,
              static_cast<double>(r.latency.percentile(50)) / 1000,
              static_cast<double>(r.latency.percentile(99)) / 1000, r.closed_cleanly, r.connected,
              static_cast<unsigned long long>(r.errors));
}

void load() {
  std::printf("== The echo server under load (a debug build: slow, and every byte checked)\n");
  //! [demo-load]
  cfs::EchoServer server({.max_conns = 1000});
  std::thread loop([&] { server.run(); });  // the server's loop, on a thread of its own
  const std::uint16_t port = server.address().port();
  const cfs::LoadResult small = cfs::run_load(
      {.port = port, .connections = 100, .size = 64, .warmup = 200ms, .duration = 1s});
  const cfs::LoadResult large =
      cfs::run_load({.port = port, .connections = 4, .size = 1 << 20, .messages = 4});
  server.stop();  // as SIGTERM does in echo-server
  loop.join();
  //! [demo-load]
  print_load("100 connections, 64 B", small, 64);
  print_load("4 connections, 1 MiB ", large, 1 << 20);
  const cfs::EchoServerStats& s = server.stats();
  std::printf("  server: %zu connections served, at most %zu at once, %llu bytes echoed\n",
              s.accepted.load(), s.peak.load(),
              static_cast<unsigned long long>(s.bytes.written.load()));
}

//! [all-parked]
/// Called when every client has its echo and the server's tasks have all
/// gone back to waiting: the lldb walk-through stops here.
[[gnu::noinline]] void all_parked(const cfs::EchoServer& server, std::size_t clients) {
  std::printf("  %zu connections open, each one's task parked in its read; %zu stacks mapped\n",
              clients, cfs::StackMemory::live_count());
  std::fflush(stdout);
  (void)server;
  asm volatile("" ::: "memory");  // keeps the call, and this function, in an optimised build
}
//! [all-parked]

void parked() {
  std::printf("\n== 20 quiet clients: 20 tasks parked, one thread asleep\n");
  //! [demo-parked]
  cfs::EchoServer server({});
  std::thread loop([&] { server.run(); });
  std::vector<cfs::Fd> clients;
  std::size_t sent = 0;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(cfs::connect_tcp("127.0.0.1", server.address().port(), cfs::after(30s)));
    const std::string hello = "hello from client " + std::to_string(i);
    cfs::write_all(clients.back().get(), bytes(hello), cfs::after(30s));
    read_back(clients.back().get(), hello.size());  // its echo: its task now reads again
    sent += hello.size();
  }
  // The echo reaches us a moment before its task has asked for the next
  // read; the counts tell when every write has returned, and the rest
  // (one recv, then park) takes microseconds.
  while (server.stats().bytes.written != sent) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);
  all_parked(server, clients.size());
  clients.clear();  // each task reads end of file, shuts down its side, ends
  server.stop();
  loop.join();
  //! [demo-parked]
}

void drain() {
  std::printf("\n== A stop with two clients connected, and a drain deadline of 0.5 s\n");
  cfs::Timeline timeline;
  //! [demo-drain]
  cfs::EchoServer server({.drain_timeout = 500ms});
  std::thread loop([&] {
    server.run();
    timeline.note("server: run() has returned");
  });
  const std::uint16_t port = server.address().port();
  cfs::Fd alice = cfs::connect_tcp("127.0.0.1", port, cfs::after(30s));
  cfs::Fd bob = cfs::connect_tcp("127.0.0.1", port, cfs::after(30s));
  cfs::write_all(alice.get(), bytes("hello"), cfs::after(30s));
  cfs::write_all(bob.get(), bytes("hi"), cfs::after(30s));
  timeline.note("alice: echo of \"" + read_back(alice.get(), 5) + "\"; bob: echo of \"" +
                read_back(bob.get(), 2) + "\"");
  server.stop();
  timeline.note("stop(): no new clients from now on");
  cfs::write_all(alice.get(), bytes("still here"), cfs::after(30s));
  timeline.note("alice: echo of \"" + read_back(alice.get(), 10) + "\" during the drain");
  ::shutdown(alice.get(), SHUT_WR);
  timeline.note(std::string("alice: sent her end of file; ") +
                (reads_eof(alice.get()) ? "the server's came back" : "no end of file?"));
  timeline.note(std::string("bob:   ") +
                (reads_eof(bob.get()) ? "end of file: cut at the drain deadline" : "no end of file?"));
  loop.join();
  //! [demo-drain]
  const cfs::EchoServerStats& s = server.stats();
  std::printf("  server: %zu served, %zu cut at the drain deadline\n", s.accepted.load(), s.cut.load());
}

int usage(std::FILE* to, const char* program, int status) {
  std::fprintf(to,
               "usage: %s [PART...]\n"
               "  PART: load, parked, drain (default: all three, in that order)\n",
               program);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const struct {
    const char* name;
    void (*run)();
  } parts[] = {{"load", load}, {"parked", parked}, {"drain", drain}};
  std::vector<void (*)()> chosen;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      return usage(stdout, argv[0], 0);
    }
    bool known = false;
    for (const auto& part : parts) {
      if (std::strcmp(argv[i], part.name) == 0) {
        chosen.push_back(part.run);
        known = true;
      }
    }
    if (!known) {
      std::fprintf(stderr, "%s: unknown part '%s'\n", argv[0], argv[i]);
      return usage(stderr, argv[0], 2);
    }
  }
  if (chosen.empty()) {
    for (const auto& part : parts) chosen.push_back(part.run);
  }
  for (auto run : chosen) run();
  return 0;
}
