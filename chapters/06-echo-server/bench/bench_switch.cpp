// bench/bench_switch.cpp: one switch round trip (there and back), ours
// against Boost.Context's fiber and POSIX swapcontext, in one run.
#include <boost/context/fiber.hpp>
#include <ucontext.h>

#include <benchmark/benchmark.h>

#include "../../../common/bench_ratio.h"
#include "../stack.h"
#include "../switch.h"

extern "C" {
void* cfs_switch_br(void** save_sp, void* to_sp, void* arg);     // aarch64: `br x30`
void* cfs_switch_fpcmp(void** save_sp, void* to_sp, void* arg);  // x86-64: FP loads if different
void* cfs_switch_ret(void** save_sp, void* to_sp, void* arg);    // x86-64: `ret`
void* cfs_switch_nofpu(void** save_sp, void* to_sp, void* arg);  // x86-64: no MXCSR/x87
void* cfs_switch_jr(void** save_sp, void* to_sp, void* arg);     // riscv64: `jr t2`
}

namespace {

using SwitchFn = void* (*)(void**, void*, void*);

// --- ours: a ping-pong between main and a context that loops forever -------
template <SwitchFn Fn>
struct PingPong {
  static inline void* main_sp;
  static inline void* coro_sp;
  static void body(void*) {
    for (;;) Fn(&coro_sp, main_sp, nullptr);
  }
};

template <SwitchFn Fn>
void BM_cfs_round_trip(benchmark::State& state) {
  cfs::Stack stack(64 * 1024);
  using P = PingPong<Fn>;
  P::coro_sp = cfs_prepare(stack.hi(), P::body);
  for (auto _ : state) Fn(&P::main_sp, P::coro_sp, nullptr);  // there and back
  // The context stays suspended in its loop; its stack holds nothing to free.
}

// --- Boost.Context: fiber::resume() there, and the fiber resumes us back --
void BM_boost_fiber_round_trip(benchmark::State& state) {
  namespace ctx = boost::context;
  ctx::fiber f{[](ctx::fiber&& main) {
    for (;;) main = std::move(main).resume();
    return std::move(main);
  }};
  for (auto _ : state) f = std::move(f).resume();
}

// --- POSIX ucontext: swapcontext saves and restores the signal mask too ----
ucontext_t g_uc_main, g_uc_coro;
void uc_body() {
  for (;;) swapcontext(&g_uc_coro, &g_uc_main);
}
void BM_swapcontext_round_trip(benchmark::State& state) {
  cfs::Stack stack(64 * 1024);
  getcontext(&g_uc_coro);
  g_uc_coro.uc_stack.ss_sp = stack.lo();
  g_uc_coro.uc_stack.ss_size = stack.size();
  g_uc_coro.uc_link = nullptr;
  makecontext(&g_uc_coro, uc_body, 0);
  for (auto _ : state) swapcontext(&g_uc_main, &g_uc_coro);
}

}  // namespace

BENCHMARK(BM_cfs_round_trip<cfs_switch>)->Name("cfs_switch round trip");
#if defined(__x86_64__)
BENCHMARK(BM_cfs_round_trip<cfs_switch_fpcmp>)->Name("cfs_switch_fpcmp round trip");
BENCHMARK(BM_cfs_round_trip<cfs_switch_ret>)->Name("cfs_switch_ret round trip");
BENCHMARK(BM_cfs_round_trip<cfs_switch_nofpu>)->Name("cfs_switch_nofpu round trip");
#elif defined(__riscv)
BENCHMARK(BM_cfs_round_trip<cfs_switch_jr>)->Name("cfs_switch_jr round trip");
#elif !defined(__ARM_FEATURE_BTI_DEFAULT)
// Not in a build with BTI landing pads: `br x30` cannot work there, and
// switch.S leaves cfs_switch_br out (asm/aarch64/switch.S says why).
BENCHMARK(BM_cfs_round_trip<cfs_switch_br>)->Name("cfs_switch_br round trip");
#endif
BENCHMARK(BM_boost_fiber_round_trip)->Name("boost fiber round trip");
BENCHMARK(BM_swapcontext_round_trip)->Name("swapcontext round trip");

int main(int argc, char** argv) {
  return cfs::bench::run_with_ratios(argc, argv, {
    // Goal: not slower than Boost's fiber, on Intel and AMD alike
    // (notes/benchmarks.md says why it is no longer 0.9x).
    {"cfs_switch round trip", "boost fiber round trip", 1.0},
#if defined(__x86_64__)
    {"cfs_switch_fpcmp round trip", "cfs_switch round trip"},
    {"cfs_switch_fpcmp round trip", "boost fiber round trip"},
    {"cfs_switch_ret round trip", "cfs_switch round trip"},
    {"cfs_switch_nofpu round trip", "cfs_switch round trip"},
#elif defined(__riscv)
    {"cfs_switch_jr round trip", "cfs_switch round trip"},
#else
    {"cfs_switch_br round trip", "cfs_switch round trip"},
#endif
    {"swapcontext round trip", "cfs_switch round trip"},
  });
}
