// common/bench_ratio.h: Google Benchmark's console output, plus ratios.
//
// Speed goals in this project are stated against a peer measured in the same
// run ("ours <= 0.9x Boost.Context"), so every benchmark binary ends with a
// small table: each benchmark's time divided by its baseline's.
//
//   int main(int argc, char** argv) {
//     return cfs::bench::run_with_ratios(argc, argv, {{"BM_ours", "BM_boost"}});
//   }
#pragma once

#include <benchmark/benchmark.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cfs::bench {

/// Prints like the console reporter and remembers each run's time per iteration.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  /// Colours only on a terminal, so that logs and notes stay plain text.
  RecordingReporter() : ConsoleReporter(isatty(STDOUT_FILENO) ? OO_Defaults : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    // With --benchmark_repetitions, the median of the repetitions wins.
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      double ns = run.GetAdjustedRealTime() *
                  benchmark::GetTimeUnitMultiplier(benchmark::kNanosecond) /
                  benchmark::GetTimeUnitMultiplier(run.time_unit);
      const std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
        ns_[name] = ns;
        medians_[name] = true;
      } else if (run.run_type == Run::RT_Iteration && !medians_[name]) {
        ns_[name] = ns;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  /// Time per iteration in ns, or a negative number if `name` did not run.
  double ns(const std::string& name) const {
    auto it = ns_.find(name);
    return it == ns_.end() ? -1.0 : it->second;
  }

 private:
  std::map<std::string, double> ns_;
  std::map<std::string, bool> medians_;
};

/// One line of the ratio table: `subject` time divided by `baseline` time.
struct Ratio {
  std::string subject;
  std::string baseline;
  double goal = 0;  ///< if > 0, the ratio we aim to stay at or under
  /// If set, printed under the line: why the two are not like for like.
  const char* note = nullptr;
};

/// The CPU's model name, as `lscpu` shows it: figures mean little without
/// it (the same code has ranked differently on Intel and AMD machines).
inline std::string cpu_model() {
#if defined(__APPLE__)
  char buf[256] = {};
  std::size_t len = sizeof buf - 1;
  if (sysctlbyname("machdep.cpu.brand_string", buf, &len, nullptr, 0) == 0) return buf;
#else
  if (FILE* f = std::fopen("/proc/cpuinfo", "r")) {
    char line[512];
    std::string model;
    while (std::fgets(line, sizeof line, f)) {
      std::string l(line);
      if (l.rfind("model name", 0) == 0 && l.find(':') != std::string::npos) {
        model = l.substr(l.find(':') + 2);
        if (!model.empty() && model.back() == '\n') model.pop_back();
        break;
      }
    }
    std::fclose(f);
    if (!model.empty()) return model;
  }
#endif
  return "unknown CPU";
}

/// Runs every registered benchmark, then prints the ratios.
inline int run_with_ratios(int argc, char** argv, const std::vector<Ratio>& ratios) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\nRatios (time per iteration, same run, on %s):\n", cpu_model().c_str());
  for (const Ratio& r : ratios) {
    double s = reporter.ns(r.subject), b = reporter.ns(r.baseline);
    if (s < 0 || b <= 0) continue;  // filtered out with --benchmark_filter
    std::printf("  %-40s / %-36s = %5.2fx", r.subject.c_str(), r.baseline.c_str(), s / b);
    if (r.goal > 0) std::printf("  (goal <= %.2fx: %s)", r.goal, s / b <= r.goal ? "met" : "NOT met");
    std::printf("\n");
    if (r.note != nullptr) std::printf("      note: %s\n", r.note);
  }
  benchmark::Shutdown();
  return 0;
}

}  // namespace cfs::bench
