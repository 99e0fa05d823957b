// bench/bench_loop.cpp: what a wait on the loop costs, next to a thread
// blocked in the kernel.
//
//   loop round trip        two tasks of one Loop, one byte there and back over a
//                          socketpair: each side parks until its byte comes
//   threads round trip     the same, with two threads and blocking sockets: each
//                          side sleeps in read() until its byte comes
//   loop spawn+finish      Loop::spawn() of an empty task, and run() until it ends
//   thread create+join     std::thread with an empty body, started and joined
//
// The round trips count everything a real wait costs: the system calls (on
// the loop: a read() that says EAGAIN, kevent() to register and to wait; on
// threads: the scheduler putting one thread to sleep and waking the other),
// and the switches. On Linux the loop's kevent() is the epoll shim
// (common/kqueue.h), which makes more system calls per event than kqueue
// itself (notes/kqueue-on-epoll.md).
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <thread>

#include "../../../common/bench_ratio.h"
#include "../loop.h"

namespace {

/// A connected pair of stream sockets, closed at the end.
struct SocketPair {
  int fd[2] = {-1, -1};
  explicit SocketPair(int flags) {
    if (socketpair(AF_UNIX, SOCK_STREAM | flags, 0, fd) != 0) std::abort();
  }
  ~SocketPair() {
    close(fd[0]);
    close(fd[1]);
  }
};

/// One byte from `fd`, parking on the loop while there is none; false at end of file.
bool loop_read(int fd, char& c) {
  for (;;) {
    const ssize_t n = read(fd, &c, 1);
    if (n == 1) return true;
    if (n == 0 || errno != EAGAIN) return false;
    cfs::Loop::current().wait_readable(fd);
  }
}

//! [bench-loop-round-trip]
void BM_loop_round_trip(benchmark::State& state) {
  SocketPair pair(SOCK_NONBLOCK);
  cfs::Loop loop;
  loop.spawn("ping", [&state, &pair] {
    char c = 'p';
    for (auto _ : state) {  // the benchmark's own loop, inside the task
      if (write(pair.fd[0], &c, 1) != 1 || !loop_read(pair.fd[0], c)) state.SkipWithError("ping");
    }
    shutdown(pair.fd[0], SHUT_WR);  // pong sees end of file, and ends
  });
  loop.spawn("pong", [&pair] {
    char c;
    while (loop_read(pair.fd[1], c)) {
      if (write(pair.fd[1], &c, 1) != 1) break;
    }
  });
  loop.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_loop_round_trip)->Name("loop round trip");
//! [bench-loop-round-trip]

void BM_threads_round_trip(benchmark::State& state) {
  SocketPair pair(0);  // blocking: read() sleeps in the kernel
  std::thread pong([&pair] {
    char c;
    while (read(pair.fd[1], &c, 1) == 1) {
      if (write(pair.fd[1], &c, 1) != 1) break;
    }
  });
  char c = 'p';
  for (auto _ : state) {
    if (write(pair.fd[0], &c, 1) != 1 || read(pair.fd[0], &c, 1) != 1) state.SkipWithError("ping");
  }
  shutdown(pair.fd[0], SHUT_WR);
  pong.join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_threads_round_trip)->Name("threads round trip")->UseRealTime();

void BM_loop_spawn(benchmark::State& state) {
  cfs::Loop loop;
  for (auto _ : state) {
    loop.spawn("empty", [] {});
    loop.run();  // runs it to its end; the loop is empty again
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_loop_spawn)->Name("loop spawn+finish");

void BM_thread_create(benchmark::State& state) {
  for (auto _ : state) std::thread([] {}).join();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_thread_create)->Name("thread create+join")->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  return cfs::bench::run_with_ratios(
      argc, argv,
      {{"loop round trip", "threads round trip/real_time", 0,
        "one thread runs both tasks, and sleeps in kevent() only when neither can run"},
       {"thread create+join/real_time", "loop spawn+finish", 0,
        "how many tasks a loop starts and ends in the time of one thread"}});
}
