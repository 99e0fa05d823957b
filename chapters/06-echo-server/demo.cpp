// demo.cpp: blocking sockets, with timestamps, on loopback.
//
//   ch04_demo [PART...]    PART: one-at-a-time, threads, stall, fetch (default: all four)
//
//   one-at-a-time  a blocking echo server: a second client waits until the first leaves
//   threads        the same clients, a thread per connection: nobody waits
//   stall          coroutines over blocking I/O: one blocked recv() stops them all,
//                  heartbeat included
//   fetch          Programming in Lua 9.4: three slow servers fetched one after another,
//                  by coroutines over blocking sockets, and by busy polling
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "echo.h"
#include "fetch.h"
#include "heartbeat.h"
#include "io.h"
#include "polling_io.h"
#include "round_robin.h"
#include "slow_servers.h"
#include "tcp.h"
#include "threaded_echo_server.h"
#include "timeline.h"

using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

std::string text(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

//! [two-clients]
/// Alice connects, has "hello" echoed, keeps the connection for 300 ms,
/// has "bye" echoed and leaves. Bob connects 50 ms after her and sends "hi".
void alice_and_bob(cfs::Timeline& timeline, std::uint16_t port) {
  std::thread alice([&] {
    cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
    timeline.note("alice: connected; echo of \"" + text(cfs::echo_round_trip(fd.get(), bytes("hello"))) + "\"");
    std::this_thread::sleep_for(300ms);
    timeline.note("alice: echo of \"" + text(cfs::echo_round_trip(fd.get(), bytes("bye"))) + "\"; leaving");
  });
  std::thread bob([&] {
    std::this_thread::sleep_for(50ms);
    cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
    timeline.note("bob:   connected; sends \"hi\"");
    const double sent = timeline.now();
    const std::string echo = text(cfs::echo_round_trip(fd.get(), bytes("hi")));
    timeline.note("bob:   echo of \"" + echo + "\", " +
                  std::to_string(static_cast<int>((timeline.now() - sent) * 1000)) + " ms after sending it");
  });
  alice.join();
  bob.join();
}
//! [two-clients]

void one_at_a_time() {
  std::printf("== A blocking echo server, one client at a time\n");
  cfs::Timeline timeline;
  //! [demo-one-at-a-time]
  cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
  std::thread server([&] { cfs::serve_one_at_a_time(listener.fd.get(), 2); });
  alice_and_bob(timeline, listener.address.port());
  server.join();
  //! [demo-one-at-a-time]
}

void thread_per_connection() {
  std::printf("\n== The same clients, a thread per connection\n");
  cfs::Timeline timeline;
  //! [demo-threads]
  cfs::ThreadedEchoServer server("127.0.0.1", 0);
  alice_and_bob(timeline, server.address().port());
  //! [demo-threads]
}

//! [visit-greeter]
/// A client coroutine: connects to its greeter, does other work (here: it
/// just lets the others run) until `read_at`, then reads the greeting.
void visit_greeter(cfs::Timeline& timeline, std::string name, std::uint16_t port, double read_at) {
  cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
  timeline.note(name + ": connected; will read its greeting at +" + std::to_string(read_at).substr(0, 4) + " s");
  while (timeline.now() < read_at) cfs::yield();
  const int late_ms = static_cast<int>((timeline.now() - read_at) * 1000);
  timeline.note(name + ": reading" + (late_ms > 10 ? " (" + std::to_string(late_ms) + " ms late)" : ""));
  std::string greeting;
  std::array<std::byte, 64> buffer;
  while (const std::size_t n = cfs::read_some(fd.get(), buffer)) {  // blocks in recv()
    greeting.append(reinterpret_cast<const char*>(buffer.data()), n);
  }
  timeline.note(name + ": got \"" + greeting + "\"");
}
//! [visit-greeter]

void coroutines_over_blocking_io() {
  std::printf("\n== Coroutines over blocking I/O: a heartbeat every 100 ms, two clients\n");
  cfs::Timeline timeline;
  //! [demo-stall]
  // Alice's greeter answers 750 ms after she connects; Bob's at once.
  cfs::OneClientServer alices(cfs::greeter("hello, alice", 750ms, &timeline, "alice"));
  cfs::OneClientServer bobs(cfs::greeter("hello, bob", 0ms, &timeline, "bob"));
  cfs::RoundRobin dispatcher;
  dispatcher.spawn([&] { cfs::heartbeat(timeline, 100ms, 8); });
  dispatcher.spawn([&] { visit_greeter(timeline, "alice", alices.port(), 0.25); });
  dispatcher.spawn([&] { visit_greeter(timeline, "bob", bobs.port(), 0.40); });
  dispatcher.run();
  //! [demo-stall]
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void fetch_three_ways() {
  std::printf("\n== Programming in Lua 9.4: three slow servers, 3 chunks each, 100 ms per chunk\n");
  std::printf("   (sum of all delays 0.9 s; the longest server's 0.3 s)\n");
  //! [demo-fetch]
  using Fetch = std::vector<std::string> (*)(const std::vector<std::uint16_t>&);
  const struct {
    const char* name;
    Fetch fetch;
  } ways[] = {{"one after another", cfs::fetch_sequentially},
              {"coroutines, blocking sockets", cfs::fetch_in_coroutines},
              {"coroutines, busy polling", cfs::fetch_polling_all}};
  for (const auto& way : ways) {
    cfs::OneClientServer a(cfs::slow_chunks('a', 3, 100ms)), b(cfs::slow_chunks('b', 3, 100ms)),
        c(cfs::slow_chunks('c', 3, 100ms));
    const std::uint64_t polls = cfs::polling::polls_not_ready();
    const double cpu = thread_cpu_seconds();
    cfs::Timeline timeline(false);
    const std::vector<std::string> got = way.fetch({a.port(), b.port(), c.port()});
    const double wall = timeline.now();
    std::size_t bytes = 0;
    for (const std::string& p : got) bytes += p.size();
    std::printf("  %-30s %5.3f s, CPU %5.3f s, %zu bytes, %llu polls found nothing\n", way.name,
                wall, thread_cpu_seconds() - cpu, bytes,
                static_cast<unsigned long long>(cfs::polling::polls_not_ready() - polls));
  }
  //! [demo-fetch]
}

int usage(std::FILE* to, const char* program, int status) {
  std::fprintf(to,
               "usage: %s [PART...]\n"
               "  PART: one-at-a-time, threads, stall, fetch (default: all four, in that order)\n",
               program);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const struct {
    const char* name;
    void (*run)();
  } parts[] = {{"one-at-a-time", one_at_a_time},
               {"threads", thread_per_connection},
               {"stall", coroutines_over_blocking_io},
               {"fetch", fetch_three_ways}};
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
