// demo.cpp: the kqueue loop, with timestamps, on loopback.
//
//   ch05_demo [PART...]    PART: echo, fetch, run-blocking (default: all three)
//
//   echo          Alice keeps her connection to an echo server while Bob wants
//                 his echo: chapter 04's server, one client at a time, makes
//                 him wait; on the loop, server and clients are tasks of one
//                 thread, and he is served at once
//   fetch         Programming in Lua 9.4: three slow servers fetched chapter
//                 04's three ways, then on the loop: the longest server's time,
//                 and almost no CPU
//   run-blocking  a call that blocks its thread stops a loop's heartbeat; the
//                 same call through run_blocking() does not
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
#include "io.h"
#include "loop.h"
#include "polling_io.h"
#include "slow_servers.h"
#include "tcp.h"
#include "timeline.h"

using namespace std::chrono_literals;
using cfs::Loop;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

std::string text(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string ms(double seconds) { return std::to_string(static_cast<int>(seconds * 1000)) + " ms"; }

//! [pause-for]
/// Waits `d`: only this task, inside a task of a loop; the whole thread
/// anywhere else (fd_wait.h chooses the same way for sockets).
void pause_for(std::chrono::milliseconds d) {
  if (Loop* loop = Loop::current_or_null()) {
    loop->sleep_for(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}
//! [pause-for]

//! [alice-and-bob]
/// Alice connects, has "hello" echoed, keeps the connection for 300 ms,
/// has "bye" echoed and leaves.
void alice(cfs::Timeline& timeline, std::uint16_t port) {
  cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
  timeline.note("alice: connected; echo of \"" + text(cfs::echo_round_trip(fd.get(), bytes("hello"))) + "\"");
  pause_for(300ms);
  timeline.note("alice: echo of \"" + text(cfs::echo_round_trip(fd.get(), bytes("bye"))) + "\"; leaving");
}

/// Bob connects 50 ms after her and sends "hi".
void bob(cfs::Timeline& timeline, std::uint16_t port) {
  pause_for(50ms);
  cfs::Fd fd = cfs::connect_tcp("127.0.0.1", port);
  timeline.note("bob:   connected; sends \"hi\"");
  const double sent = timeline.now();
  const std::string echo = text(cfs::echo_round_trip(fd.get(), bytes("hi")));
  timeline.note("bob:   echo of \"" + echo + "\", " + ms(timeline.now() - sent) + " after sending it");
}
//! [alice-and-bob]

void echo_two_ways() {
  std::printf("== Alice and Bob at an echo server\n");
  {
    std::printf("-- chapter 04's server, one client at a time (clients on threads)\n");
    cfs::Timeline timeline;
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    std::thread server([&] { cfs::serve_one_at_a_time(listener.fd.get(), 2); });
    std::thread a([&] { alice(timeline, listener.address.port()); });
    std::thread b([&] { bob(timeline, listener.address.port()); });
    a.join();
    b.join();
    server.join();
  }
  {
    std::printf("-- on the loop: the server and both clients are tasks of one thread\n");
    cfs::Timeline timeline;
    //! [demo-echo-on-loop]
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    const std::uint16_t port = listener.address.port();
    Loop loop;
    loop.spawn("acceptor", [&] {
      for (int i = 0; i < 2; ++i) {
        cfs::Fd fd = cfs::accept_client(listener.fd.get());  // this task waits; others run
        const std::string label = "conn " + std::to_string(fd.get());
        Loop::current().spawn(label, [](cfs::Fd conn) { cfs::echo_until_eof(conn.get()); },
                              std::move(fd));
      }
    });
    loop.spawn("alice", [&] { alice(timeline, port); });
    loop.spawn("bob", [&] { bob(timeline, port); });
    loop.run();  // until all five tasks have finished
    //! [demo-echo-on-loop]
  }
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void fetch_four_ways() {
  std::printf("\n== Programming in Lua 9.4: three slow servers, 3 chunks each, 100 ms per chunk\n");
  std::printf("   (sum of all delays 0.9 s; the longest server's 0.3 s)\n");
  //! [demo-fetch]
  using Fetch = std::vector<std::string> (*)(const std::vector<std::uint16_t>&);
  const struct {
    const char* name;
    Fetch fetch;
  } ways[] = {{"one after another", cfs::fetch_sequentially},
              {"coroutines, blocking waits", cfs::fetch_in_coroutines},
              {"coroutines, busy polling", cfs::fetch_polling_all},
              {"tasks on the loop", cfs::fetch_on_loop}};
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
    std::printf("  %-28s %5.3f s, CPU %5.3f s, %zu bytes, %llu polls found nothing\n", way.name,
                wall, thread_cpu_seconds() - cpu, bytes,
                static_cast<unsigned long long>(cfs::polling::polls_not_ready() - polls));
  }
  //! [demo-fetch]
}

//! [slow-call]
/// Stands in for a call with nothing to wait on in kqueue: a library that
/// blocks its thread (a DNS lookup, a database client), or a long
/// computation. Here it sleeps for 250 ms and answers 42.
int slow_call() {
  std::this_thread::sleep_for(250ms);
  return 42;
}
//! [slow-call]

void run_blocking_part() {
  std::printf("\n== A call that blocks its thread, on the loop: a heartbeat every 100 ms\n");
  cfs::Timeline timeline;
  //! [demo-run-blocking]
  Loop loop;
  bool done = false;
  loop.spawn("heartbeat", [&] {
    double last = -1;
    for (int beat = 1; !done; ++beat) {
      const double now = timeline.now();
      timeline.note("heartbeat " + std::to_string(beat) +
                    (last < 0 ? "" : " (" + ms(now - last) + " after the last)"));
      last = now;
      Loop::current().sleep_for(100ms);  // parks: the loop sleeps in kevent()
    }
  });
  loop.spawn("caller", [&] {
    Loop::current().sleep_for(150ms);
    timeline.note("caller: slow_call() on the loop's thread ...");
    int answer = slow_call();  // the thread sleeps, and the loop with it
    timeline.note("caller: ... returned " + std::to_string(answer));
    timeline.note("caller: slow_call() through run_blocking() ...");
    answer = Loop::current().run_blocking(slow_call);  // a helper thread sleeps
    timeline.note("caller: ... returned " + std::to_string(answer));
    done = true;
  });
  loop.run();
  //! [demo-run-blocking]
}

int usage(std::FILE* to, const char* program, int status) {
  std::fprintf(to,
               "usage: %s [PART...]\n"
               "  PART: echo, fetch, run-blocking (default: all three, in that order)\n",
               program);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const struct {
    const char* name;
    void (*run)();
  } parts[] = {{"echo", echo_two_ways}, {"fetch", fetch_four_ways}, {"run-blocking", run_blocking_part}};
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
