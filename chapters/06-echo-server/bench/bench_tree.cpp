// bench/bench_tree.cpp: eight ways to walk a 1M-node tree, per node, in one
// run; and what a coroutine per level costs in memory. The goal (at most 3x
// the visitor) is marked on the two stackful walks that switch once per
// value; the batched walks, which switch once per 64 or 1024 values, are
// printed beside them without it: they are a different trade (the walk runs
// ahead of its consumer), not the same walk made faster.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <unistd.h>

#include "../../../common/bench_ratio.h"
#include "../batched_walk.h"
#include "../generator.h"
#include "../nested_traversal.h"
#include "../stackless_generator.h"
#include "../traversals.h"

namespace {

constexpr int kNodes = 1 << 20;  // 1,048,576 nodes

//! [layouts]
/// Two layouts of the same in-order sequence 0..kNodes-1:
/// compact: balanced, nodes allocated in pre-order, so a walk reads memory
///   almost sequentially (the best case for every method);
/// scattered: a search tree built by inserting the keys in a shuffled
///   order, so neighbours in the walk are far apart in memory, as in most
///   real trees (and about 2.5x deeper).
cfs::Tree<int> scattered_tree() {
  std::vector<int> keys(kNodes);
  for (int i = 0; i < kNodes; ++i) keys[static_cast<std::size_t>(i)] = i;
  std::shuffle(keys.begin(), keys.end(), std::mt19937(2026));
  cfs::Tree<int> root;
  for (int k : keys) {
    cfs::Tree<int>* at = &root;
    while (*at) at = k < (*at)->value ? &(*at)->left : &(*at)->right;
    *at = std::make_unique<cfs::Node<int>>(k);
  }
  return root;
}
//! [layouts]

const cfs::Tree<int>& compact_tree() {
  static const cfs::Tree<int> compact = cfs::balanced_of_size(kNodes);
  return compact;
}

const cfs::Tree<int>& scattered_tree_once() {
  static const cfs::Tree<int> scattered = scattered_tree();
  return scattered;
}

const cfs::Tree<int>& tree_for(const benchmark::State& state) {
  return state.range(0) == 0 ? compact_tree() : scattered_tree_once();
}

void finish(benchmark::State& state, long sum) {
  benchmark::DoNotOptimize(sum);
  state.counters["ns_per_node"] = benchmark::Counter(
      static_cast<double>(kNodes), benchmark::Counter::kIsIterationInvariantRate |
                                        benchmark::Counter::kInvert);
}

void BM_visitor(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    auto add = [&sum](int v) { sum += v; };
    cfs::visit_in_order(tree_for(state).get(), add);
    finish(state, sum);
  }
}

void BM_explicit_stack(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    cfs::InOrderIterator<int> it(tree_for(state).get());
    while (const int* v = it.next()) sum += *v;
    finish(state, sum);
  }
}

void BM_stackful_pull(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    cfs::Pull<int> walk(cfs::yield_in_order<int>, tree_for(state).get());
    while (std::optional<int> v = walk.next()) sum += *v;
    finish(state, sum);
  }
}

void BM_stackful_generator(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    for (int v : cfs::Generator<int>(cfs::yield_in_order<int>, tree_for(state).get())) sum += v;
    finish(state, sum);
  }
}

template <std::size_t N>
void BM_stackful_batched(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    cfs::Pull<std::span<const int>> walk(cfs::yield_in_order_batched<int, N>, tree_for(state).get());
    while (auto batch = walk.next()) {
      for (int v : *batch) sum += v;
    }
    finish(state, sum);
  }
}

void BM_stackless(benchmark::State& state) {
  for (auto _ : state) {
    long sum = 0;
    for (int v : cfs::stackless_in_order(tree_for(state).get())) sum += v;
    finish(state, sum);
  }
}

void BM_stackful_per_level(benchmark::State& state) {
  cfs::StackOptions small;
  small.size = 16 * 1024;
  for (auto _ : state) {
    long sum = 0;
    cfs::Pull<int> walk(small, cfs::yield_in_order_nested<int>, tree_for(state).get(), small);
    while (std::optional<int> v = walk.next()) sum += *v;
    finish(state, sum);
  }
}

// --- memory: one coroutine running the recursion, or one per level --------

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<long>(sysconf(_SC_PAGESIZE)) / 1024;
}

//! [memory]
/// Resident memory added by the time the walk yields its first value (the
/// deepest node: every level is alive then), in KiB; fresh stacks, no pool.
template <class Walk>
void measure_first_value(benchmark::State& state, const cfs::Tree<int>& tree, Walk make_walk) {
  for (auto _ : state) {
    long before = rss_kib();
    cfs::nested_count = {};
    auto walk = make_walk(tree);
    benchmark::DoNotOptimize(walk.next());
    state.counters["rss_growth_KiB"] = static_cast<double>(rss_kib() - before);
    state.counters["coroutines_alive"] = cfs::nested_count.peak > 0 ? cfs::nested_count.peak : 1;
  }
}

cfs::StackOptions fresh_stacks() {
  cfs::StackOptions o;
  o.size = 16 * 1024;
  o.pooled = false;
  return o;
}

void BM_memory(benchmark::State& state) {
  const bool per_level = state.range(0) != 0;
  const bool spine = state.range(1) != 0;
  static const cfs::Tree<int> deep = cfs::left_spine(4000);
  const cfs::Tree<int>& tree = spine ? deep : compact_tree();
  state.SetLabel(std::string(per_level ? "coroutine per level" : "one coroutine, recursion") +
                 (spine ? ", 4000-deep spine" : ", 1M balanced"));
  if (per_level) {
    measure_first_value(state, tree, [](const cfs::Tree<int>& t) {
      return cfs::Pull<int>(fresh_stacks(), cfs::yield_in_order_nested<int>, t.get(), fresh_stacks());
    });
  } else {
    measure_first_value(state, tree, [](const cfs::Tree<int>& t) {
      cfs::StackOptions o = fresh_stacks();
      o.size = 1024 * 1024;  // room for the 4000-deep recursion
      return cfs::Pull<int>(o, cfs::yield_in_order<int>, t.get());
    });
  }
}
//! [memory]

}  // namespace

#define TREE_BENCH(fn, name) \
  BENCHMARK(fn)->Name(name)->ArgName("scattered")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)
TREE_BENCH(BM_visitor, "visitor (callback)");
TREE_BENCH(BM_explicit_stack, "explicit-stack iterator");
TREE_BENCH(BM_stackful_pull, "stackful Pull::next");
TREE_BENCH(BM_stackful_generator, "stackful Generator range-for");
TREE_BENCH(BM_stackful_batched<64>, "stackful, batches of 64");
TREE_BENCH(BM_stackful_batched<1024>, "stackful, batches of 1024");
TREE_BENCH(BM_stackless, "stackless C++20, frame per level");
TREE_BENCH(BM_stackful_per_level, "stackful, coroutine per level");
BENCHMARK(BM_memory)->Name("memory")->Args({0, 0})->Args({1, 0})->Args({0, 1})->Args({1, 1})
    ->Iterations(1)->Repetitions(1);  // a one-shot measurement, not a timing

int main(int argc, char** argv) {
  compact_tree();  // build both trees before any timing
  scattered_tree_once();
  std::vector<cfs::bench::Ratio> ratios;
  for (const char* layout : {"/scattered:0", "/scattered:1"}) {
    const std::string visitor = std::string("visitor (callback)") + layout;
    for (const char* name : {"explicit-stack iterator", "stackful Pull::next",
                             "stackful Generator range-for", "stackful, batches of 64",
                             "stackful, batches of 1024", "stackless C++20, frame per level",
                             "stackful, coroutine per level"}) {
      const bool goal = std::string(name).rfind("stackful P", 0) == 0 ||
                        std::string(name).rfind("stackful G", 0) == 0;
      ratios.push_back({std::string(name) + layout, visitor, goal ? 3.0 : 0.0});
    }
  }
  return cfs::bench::run_with_ratios(argc, argv, ratios);
}
