// bench/bench_threads.cpp: what a thread per connection costs, next to what a
// coroutine per connection would.
//
//   thread create+join            std::thread with an empty body, started and joined
//   coroutine create+finish       chapter 02's Coroutine with an empty body, run to its end
//   thread per connection/N       the threaded echo server with N clients connected and
//                                 served (each of its threads blocked in recv): per client,
//                                 the growth of resident memory (rss_KiB), of address space
//                                 (virtual_KiB) and of the thread count (threads)
//   parked coroutines/N           N coroutines, each suspended in its first yield(): per
//                                 coroutine, the same memory figures
//
// Memory is read from /proc/self/status (Linux only; elsewhere those rows
// report an error). The clients of the server run in this process too, so
// the thread count grows by exactly one per connection: the server's.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../../../common/bench_ratio.h"
#include "../coroutine.h"
#include "../echo.h"
#include "../tcp.h"
#include "../threaded_echo_server.h"

namespace {

/// VmRSS, VmSize (KiB) and Threads from /proc/self/status; false if unknown.
struct ProcessSize {
  double rss_kib = 0, virtual_kib = 0, threads = 0;
};

bool read_process_size(ProcessSize& out) {
#if defined(__linux__)
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return false;
  char line[256];
  int found = 0;
  while (std::fgets(line, sizeof line, f)) {
    double value = 0;
    if (std::sscanf(line, "VmRSS: %lf", &value) == 1) out.rss_kib = value, ++found;
    if (std::sscanf(line, "VmSize: %lf", &value) == 1) out.virtual_kib = value, ++found;
    if (std::sscanf(line, "Threads: %lf", &value) == 1) out.threads = value, ++found;
  }
  std::fclose(f);
  return found == 3;
#else
  (void)out;
  return false;
#endif
}

void report_growth(benchmark::State& state, const ProcessSize& before, const ProcessSize& after, double n) {
  state.counters["rss_KiB"] = (after.rss_kib - before.rss_kib) / n;
  state.counters["virtual_KiB"] = (after.virtual_kib - before.virtual_kib) / n;
  state.counters["threads"] = (after.threads - before.threads) / n;
}

void BM_thread_create_join(benchmark::State& state) {
  for (auto _ : state) {
    std::thread t([] {});
    t.join();
  }
}
BENCHMARK(BM_thread_create_join)->Name("thread create+join");

void BM_coroutine_create_finish(benchmark::State& state) {
  for (auto _ : state) {
    cfs::Coroutine<void> c([] {});
    c.resume();
  }
}
BENCHMARK(BM_coroutine_create_finish)->Name("coroutine create+finish");

//! [thread-memory]
void BM_thread_per_connection(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    cfs::ThreadedEchoServer server("127.0.0.1", 0);
    ProcessSize before, after;
    if (!read_process_size(before)) {
      state.SkipWithError("no /proc/self/status");
      break;
    }
    std::vector<cfs::Fd> clients;
    const std::byte ping[1] = {std::byte{1}};
    for (std::size_t i = 0; i < n; ++i) {
      clients.push_back(cfs::connect_tcp("127.0.0.1", server.address().port()));
      cfs::echo_round_trip(clients.back().get(), ping);  // its thread is running now
    }
    read_process_size(after);
    report_growth(state, before, after, static_cast<double>(n));
    state.PauseTiming();
    clients.clear();
    server.stop();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_thread_per_connection)->Name("thread per connection")->Arg(100)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);
//! [thread-memory]

void BM_parked_coroutines(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    ProcessSize before, after;
    if (!read_process_size(before)) {
      state.SkipWithError("no /proc/self/status");
      break;
    }
    std::vector<cfs::Coroutine<void>> parked;
    parked.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      parked.emplace_back(cfs::StackOptions{.pooled = false}, [] { cfs::yield(); });
      parked.back().resume();  // now suspended in its yield(), as if waiting for a socket
    }
    read_process_size(after);
    report_growth(state, before, after, static_cast<double>(n));
    state.PauseTiming();
    parked.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_parked_coroutines)->Name("parked coroutines")->Arg(100)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  return cfs::bench::run_with_ratios(
      argc, argv,
      {{"thread create+join", "coroutine create+finish", 0,
        "one thread started and joined, against one coroutine created and run to its end; "
        "for memory per client compare the rss_KiB and virtual_KiB counters of "
        "'thread per connection' and 'parked coroutines' above"}});
}
