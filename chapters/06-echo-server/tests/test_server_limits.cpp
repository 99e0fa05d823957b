// tests/test_server_limits.cpp: what keeps the server standing: idle
// timeouts, max-conns, the listen backlog, the drain, reused stacks, and the
// spare descriptor at EMFILE.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>

#include "../../../common/child_process.h"
#include "../../../common/valgrind.h"
#include "../fd_limit.h"
#include "../socket_error.h"
#include "../spare_descriptor.h"
#include "../stack_memory.h"
#include "server_test.h"
#include "socket_test.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// Pushes bytes without reading until the connection stalls (250 ms without room).
void push_until_stalled(int fd) {
  const std::vector<std::byte> chunk = pattern(64 * 1024);
  for (;;) {
    if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) continue;
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 250) == 0) return;
  }
}

}  // namespace

//! [test-idle]
TEST_CASE("idle timeout: a silent client is closed, a slow but steady one is not, and neither "
          "is a slow reader until it stops") {
  SocketTest test("idle timeout");
  // Long enough that a loaded machine (a Valgrind run on the other core)
  // does not make the steady client miss its own deadline: it writes every
  // quarter of the timeout, so it has three quarters to spare.
  const auto idle = std::chrono::milliseconds(heavy(800, 1000));
  {
    RunningServer s({.idle_timeout = idle});
    const auto start = std::chrono::steady_clock::now();
    cfs::Fd silent = s.connect();   // connects, then says nothing at all
    cfs::Fd steady = s.connect();   // a byte every quarter of the timeout
    for (int i = 0; i < 12; ++i) {
      const std::byte b[1] = {static_cast<std::byte>(i)};
      cfs::write_all(steady.get(), b, patience());
      CHECK(read_n(steady.get(), 1) == std::vector<std::byte>(b, b + 1));
      std::this_thread::sleep_for(idle / 4);
    }
    // Three timeouts have passed: the silent one was closed (the wait for
    // its first byte counted too), the steady one lives.
    CHECK(reads_eof(silent.get()));
    CHECK(seconds_since(start) >= std::chrono::duration<double>(idle).count());
    const std::byte b[1] = {std::byte{42}};
    cfs::write_all(steady.get(), b, patience());
    CHECK(read_n(steady.get(), 1).size() == 1);

    // A client that stops reading parks the server in a write: that wait
    // has the same deadline. The steady one goes on writing meanwhile (on a
    // thread of its own: filling the stuck one's buffers can take longer
    // than the timeout on a loaded machine).
    std::atomic<bool> done{false};
    std::thread keep_steady([&] {
      try {
        for (int i = 0; !done; ++i) {
          const std::byte one[1] = {static_cast<std::byte>(i)};
          cfs::write_all(steady.get(), one, patience());
          if (read_n(steady.get(), 1).size() != 1) return;  // closed: `active` tells
          std::this_thread::sleep_for(idle / 4);
        }
      } catch (const std::exception&) {  // closed under it: `active` tells
      }
    });
    cfs::Fd stuck = s.connect();
    push_until_stalled(stuck.get());
    CHECK_MESSAGE(RunningServer::eventually([&] { return s.stats().timed_out == 2; }),
                  "timed out: ", s.stats().timed_out.load(), " (the silent one and the stuck one)");
    CHECK_MESSAGE(s.stats().active == 1, "active: ", s.stats().active.load(), " (only the steady one)");
    done = true;
    keep_steady.join();
  }
  test.check_all_closed();
}
//! [test-idle]

//! [test-max-conns]
TEST_CASE("past max-conns, a new client is closed at once, and a place that frees up is taken again") {
  SocketTest test("max-conns");
  {
    RunningServer s({.max_conns = 3});
    const std::vector<std::byte> hi = pattern(10);
    std::vector<cfs::Fd> in;
    for (int i = 0; i < 3; ++i) {
      in.push_back(s.connect());
      cfs::write_all(in.back().get(), hi, patience());
      CHECK(read_n(in.back().get(), hi.size()) == hi);
    }
    cfs::Fd fourth = s.connect();           // the handshake succeeds (the kernel's)...
    CHECK(reads_eof(fourth.get(), cfs::after(10s)));  // ...and the server says no at once
    CHECK(s.stats().refused == 1);

    in.erase(in.begin());                   // one leaves
    CHECK(RunningServer::eventually([&] { return s.stats().active == 2; }));
    cfs::Fd fifth = s.connect();
    cfs::write_all(fifth.get(), hi, patience());
    CHECK(read_n(fifth.get(), hi.size()) == hi);
  }
  test.check_all_closed();
}
//! [test-max-conns]

//! [test-backlog]
TEST_CASE("the listen backlog holds max-conns clients before a single one is accepted") {
  SocketTest test("backlog");
  const cfs::FdLimit limit = cfs::raise_fd_limit();
  // Each client costs two descriptors here (the client's, then the
  // server's): keep well inside the limit. 128, the old default backlog,
  // is what this must beat.
  const std::size_t clients = std::min<std::size_t>(heavy(1000, 300), (limit.soft - 64) / 2);
  MESSAGE("descriptor limit " << limit.soft << " (hard " << limit.hard << "); " << clients
                              << " clients");
  {
    cfs::EchoServer server({.max_conns = clients});  // listens; run() not called yet
    std::vector<cfs::Fd> c;
    for (std::size_t i = 0; i < clients; ++i) {
      // A full queue drops the handshake, and connect() would wait for a
      // retry (a second or more): a short deadline catches that.
      c.push_back(cfs::connect_tcp("127.0.0.1", server.address().port(), cfs::after(5s)));
    }
    std::thread t([&] { server.run(); });
    std::size_t verified = 0;
    for (std::size_t i = 0; i < clients; ++i) {
      const std::vector<std::byte> m = pattern(8, static_cast<unsigned>(i));
      cfs::write_all(c[i].get(), m, patience());
      verified += read_n(c[i].get(), m.size()) == m;
    }
    CHECK(verified == clients);
    CHECK(server.stats().peak == clients);
    server.stop();
    c.clear();
    t.join();
  }
  test.check_all_closed();
}
//! [test-backlog]

//! [test-drain]
TEST_CASE("stop: no new clients, the open ones may finish until the drain deadline, the rest are "
          "cut, and run() returns") {
  SocketTest test("drain");
  {
    RunningServer s({.drain_timeout = 500ms});
    const std::vector<std::byte> hi = pattern(100);
    cfs::Fd finishing = s.connect(), lingering = s.connect();
    for (cfs::Fd* c : {&finishing, &lingering}) {
      cfs::write_all(c->get(), hi, patience());
      CHECK(read_n(c->get(), hi.size()) == hi);
    }
    cfs::write_all(lingering.get(), hi, patience());  // its echo is under way at the stop
    const auto stopped = std::chrono::steady_clock::now();
    s.server.stop();

    // New clients are refused, once the acceptor has unwound.
    CHECK(RunningServer::eventually([&] {
      try {
        cfs::connect_tcp("127.0.0.1", s.port(), patience());
        return false;
      } catch (const cfs::SocketError& e) {
        return e.code() == std::errc::connection_refused;
      }
    }));
    // The open ones are still served during the drain.
    cfs::write_all(finishing.get(), hi, patience());
    CHECK(read_n(finishing.get(), hi.size()) == hi);
    ::shutdown(finishing.get(), SHUT_WR);
    CHECK(reads_eof(finishing.get()));
    // The lingering one gets everything it sent, then is cut at the deadline.
    CHECK(read_n(lingering.get(), hi.size()) == hi);
    CHECK(reads_eof(lingering.get()));
    s.thread.join();
    const double took = seconds_since(stopped);
    CHECK(took >= 0.5);
    CHECK(took < 30);
    CHECK(s.stopped_by == SIGTERM);
    CHECK(s.stats().cut == 1);
    CHECK(s.stats().active == 0);
  }
  test.check_all_closed();
}
//! [test-drain]

TEST_CASE("stop with no connection open: run() returns at once") {
  SocketTest test("stop idle server");
  {
    RunningServer s({.drain_timeout = 60s});
    const auto stopped = std::chrono::steady_clock::now();
    s.stop_and_join();
    CHECK(seconds_since(stopped) < 30);
    CHECK(s.stats().cut == 0);
  }
  test.check_all_closed();
}

TEST_CASE("stop before run(): run() stops at its first turn") {
  SocketTest test("stop before run");
  {
    cfs::EchoServer server({});
    server.stop();
    CHECK(server.run() == SIGTERM);
  }
  test.check_all_closed();
}

//! [test-stack-reuse]
TEST_CASE("thousands of connections that come and go reuse their stacks") {
  SocketTest test("stack reuse");
  {
    const std::size_t wave = heavy(500, 100), waves = heavy(6, 3);
    RunningServer s({.max_conns = wave});
    {
      cfs::Fd first = s.connect();  // once it is served, the loop runs
      const std::byte b[1] = {std::byte{1}};
      cfs::write_all(first.get(), b, patience());
      CHECK(read_n(first.get(), 1).size() == 1);
    }
    REQUIRE(RunningServer::eventually([&] { return s.stats().active == 0; }));
    // The acceptor's stack, the stopper's, and the first connection's, pooled.
    const std::size_t before = cfs::StackMemory::live_count();
    std::size_t most = 0;
    for (std::size_t w = 0; w < waves; ++w) {
      std::vector<cfs::Fd> c;
      for (std::size_t i = 0; i < wave; ++i) {
        c.push_back(s.connect());
        const std::byte b[1] = {std::byte{1}};
        cfs::write_all(c.back().get(), b, patience());
      }
      for (cfs::Fd& fd : c) CHECK(read_n(fd.get(), 1).size() == 1);  // every task has run
      most = std::max(most, cfs::StackMemory::live_count());
      c.clear();
      REQUIRE(RunningServer::eventually([&] { return s.stats().active == 0; }));
    }
    // Stacks are mapped for the first wave, then taken from the pool: at no
    // time more than one wave's worth. Without the pool's larger limits, it
    // would keep about 60 (4 MiB) of them, and map the rest afresh each wave.
    MESSAGE(waves << " waves of " << wave << " connections; most stacks mapped at once: " << most
                  << "; mapped now (pooled): " << cfs::StackMemory::live_count() - before);
    CHECK(most <= before + wave);
    CHECK(cfs::StackMemory::live_count() >= wave);  // kept for the next wave
    CHECK(s.stats().accepted == wave * waves + 1);
    s.stop_and_join();
  }
  test.check_all_closed();
}
//! [test-stack-reuse]

TEST_CASE("a connection that cannot have a stack is turned away, and the server goes on") {
  SocketTest test("no stack");
  {
    // 2^47 bytes: more than a user address space holds, on every system
    // here, so every connection's stack fails to map (StackError), as it
    // would at vm.max_map_count. The acceptor and the stopper have the
    // loop's default stacks.
    RunningServer s({.stack_size = std::size_t{1} << 47});
    for (int i = 0; i < 3; ++i) {
      cfs::Fd c = s.connect();
      CHECK(reads_eof(c.get()));  // told no at once
    }
    CHECK(RunningServer::eventually([&] { return s.stats().no_stack == 3; }));
    CHECK(s.stats().active == 0);
  }  // and it stops as usual
  test.check_all_closed();
}

//! [test-spare]
TEST_CASE("at EMFILE the spare descriptor turns waiting clients away, one per call, and says "
          "when the queue is empty") {
  SocketTest test("spare descriptor");
  const cfs::ChildResult r = cfs::run_in_child([] {
    cfs::Listener listener = cfs::listen_tcp("127.0.0.1", 0);
    std::vector<cfs::Fd> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(cfs::connect_tcp("127.0.0.1", listener.address.port()));
    cfs::SpareDescriptor spare;
    // Leave no descriptor free below a limit: open() returns the lowest
    // free number, so fill every gap up to the first number past ours, and
    // make that number the limit.
    int limit = clients.back().get();
    std::vector<cfs::Fd> fillers;
    for (;;) {
      cfs::Fd f(::open("/dev/null", O_RDONLY));
      if (!f) _exit(9);
      if (f.get() > limit) {
        limit = f.get();  // closed as `f` goes: the lowest free number
        break;
      }
      fillers.push_back(std::move(f));
    }
    rlimit tight{};
    getrlimit(RLIMIT_NOFILE, &tight);
    tight.rlim_cur = static_cast<rlim_t>(limit);  // the soft limit is the one enforced
    if (setrlimit(RLIMIT_NOFILE, &tight) != 0) _exit(10);
    if (::accept(listener.fd.get(), nullptr, nullptr) >= 0 || errno != EMFILE) _exit(11);
    // Valgrind enforces the limit itself, after the kernel: that accept()
    // took the first client, and Valgrind closed it. Natively all three wait.
    const int waiting = cfs::valgrind::running_on_valgrind() ? 2 : 3;
    for (int i = 0; i < waiting; ++i) {
      if (spare.turn_away(listener.fd.get()) != cfs::SpareDescriptor::Outcome::turned_away) _exit(12);
      if (!spare.held()) _exit(13);  // taken back each time
    }
    if (spare.turn_away(listener.fd.get()) != cfs::SpareDescriptor::Outcome::queue_empty) _exit(14);
    for (cfs::Fd& c : clients) {  // each was told no: end of file, at once
      std::byte b[1];
      if (cfs::read_some(c.get(), b, cfs::after(10s)) != 0) _exit(15);
    }
  });
  CHECK(r.err == "");
  CHECK(r.exited);
  CHECK(r.code == 0);
  test.check_all_closed();
}
//! [test-spare]
