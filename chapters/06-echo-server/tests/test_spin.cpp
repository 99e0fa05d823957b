// tests/test_spin.cpp: Loop::set_spin(): the loop looks for events without
// sleeping for a while, then sleeps as before; what it finds meanwhile runs.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "../../../common/watchdog.h"
#include "../loop.h"

using namespace std::chrono_literals;
using cfs::Loop;

namespace {

/// CPU time this thread has used (user and system).
std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

double ms(std::chrono::nanoseconds d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

//! [test-spin-sleeps]
TEST_CASE("set_spin: with nothing to find, the loop sleeps once the spin is over") {
  // A task sleeps 600 ms; the loop spins 100 ms of it, finds nothing,
  // then sleeps in kevent() until the deadline. A loop that kept spinning
  // would use about 600 ms of CPU. (The bound leaves room for a busy
  // machine, and for Valgrind.)
  cfs::Watchdog watchdog(std::chrono::seconds(60), "a loop that spins, then sleeps");
  Loop loop;
  loop.set_spin(100ms);
  bool woke = false;
  loop.spawn("sleeper", [&] {
    Loop::current().sleep_for(600ms);
    woke = true;
  });
  const auto cpu0 = thread_cpu();
  const auto t0 = cfs::Clock::now();
  loop.run();
  const auto cpu = thread_cpu() - cpu0;
  const auto wall = cfs::Clock::now() - t0;
  MESSAGE("600 ms asleep with a 100 ms spin: " << ms(cpu) << " ms of CPU in " << ms(wall) << " ms");
  CHECK(woke);
  CHECK(wall >= 600ms);
  CHECK(cpu < 300ms);               // it slept after the spin
  CHECK(loop.spin_finds() == 0);    // the deadline was far: the spin found nothing
}
//! [test-spin-sleeps]

TEST_CASE("set_spin: a deadline that passes during the spin ends it: its task runs on time") {
  cfs::Watchdog watchdog(std::chrono::seconds(60), "a deadline inside the spin");
  Loop loop;
  loop.set_spin(10s);  // far longer than the test may take
  int woke = 0;
  for (int i = 0; i < 3; ++i) {
    loop.spawn("sleeper", [&] {
      Loop::current().sleep_for(5ms);
      ++woke;
    });
  }
  const auto t0 = cfs::Clock::now();
  loop.run();  // ends when the three have ended, not after 10 s of spinning
  const auto wall = cfs::Clock::now() - t0;
  MESSAGE("three 5 ms sleeps under a 10 s spin: run() took " << ms(wall) << " ms");
  CHECK(woke == 3);
  CHECK(wall < 5s);
  CHECK(loop.spin_finds() >= 1);  // the spin, not a sleep, saw the deadline pass
}

TEST_CASE("set_spin: a descriptor that becomes ready during the spin wakes its task, bytes intact") {
  // Ping-pong with a thread: the thread answers each byte a little later,
  // while the loop spins (50 ms is far more than an answer takes, if the
  // thread gets a CPU), so the wake-ups are found by looks that did not
  // sleep.
  cfs::Watchdog watchdog(std::chrono::seconds(60), "ping-pong under a spin");
  int fd[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd) == 0);
  std::thread echo([peer = fd[1]] {
    for (int i = 0; i < 200; ++i) {
      char c;
      ssize_t n;
      while ((n = read(peer, &c, 1)) != 1) {
        if (n == 0) return;  // the loop's end was closed: the test failed
        std::this_thread::sleep_for(50us);
      }
      std::this_thread::sleep_for(100us);  // the loop has gone back to spinning
      c = static_cast<char>(c + 1);
      while (write(peer, &c, 1) != 1) std::this_thread::sleep_for(50us);
    }
  });
  Loop loop;
  loop.set_spin(50ms);
  int answered = 0;
  loop.spawn("pinger", [&] {
    for (int i = 0; i < 200; ++i) {
      const char c = static_cast<char>(i);
      REQUIRE(write(fd[0], &c, 1) == 1);
      char got;
      while (read(fd[0], &got, 1) != 1) Loop::current().wait_readable(fd[0], cfs::after(10s));
      if (got == static_cast<char>(i + 1)) ++answered;
    }
  });
  loop.run();
  shutdown(fd[0], SHUT_RDWR);  // if the pinger stopped early, the thread sees the end
  echo.join();
  close(fd[0]);
  close(fd[1]);
  MESSAGE("200 answers, " << loop.spin_finds() << " of them found while spinning");
  CHECK(answered == 200);
  CHECK(loop.spin_finds() >= 1);  // a set_spin() that did nothing would find none
  CHECK(loop.stale_events() == 0);
}
