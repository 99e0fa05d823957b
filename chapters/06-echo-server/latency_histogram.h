// latency_histogram.h: round-trip times, counted in buckets, for
// percentiles without keeping every sample.
//
//   cfs::LatencyHistogram h;
//   h.record(12'345);            // nanoseconds
//   h.percentile(99.0);          // the p99, within 1/64 (1.6%) of the truth
//
// A run of the load client measures millions of round trips; keeping each
// would cost 8 bytes apiece and a sort at the end. Instead each value is
// counted in a bucket: values below 128 ns exactly, larger ones by their
// power of two and the next 6 bits below it (64 buckets per doubling), so a
// bucket is never wider than 1/64 of the values in it. The same idea as
// HdrHistogram's, in a few lines.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cfs {

//! [latency-histogram]
class LatencyHistogram {
 public:
  LatencyHistogram() : counts_(kBuckets, 0) {}

  void record(std::uint64_t ns) {
    ++counts_[bucket(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }

  /// The smallest value that at least `p` percent of the samples are not
  /// above (the top of its bucket, but never above the largest sample);
  /// 0 if there are none.
  std::uint64_t percentile(double p) const {
    if (count_ == 0) return 0;
    const double wanted = p / 100.0 * static_cast<double>(count_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (counts_[i] != 0 && static_cast<double>(seen) >= wanted) return std::min(top(i), max_);
    }
    return max_;
  }

  /// Adds another histogram's samples to this one.
  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
  }

 private:
  static constexpr std::size_t kExact = 128;   // 0..127 ns: one bucket each
  static constexpr std::size_t kPerDoubling = 64;
  static constexpr std::size_t kBuckets = kExact + (64 - 7) * kPerDoubling;

  static std::size_t bucket(std::uint64_t v) {
    if (v < kExact) return static_cast<std::size_t>(v);
    const int e = std::bit_width(v) - 1;           // 2^e <= v < 2^(e+1), e >= 7
    const std::uint64_t m = v >> (e - 6);          // the top 7 bits: 64..127
    return kExact + static_cast<std::size_t>(e - 7) * kPerDoubling + static_cast<std::size_t>(m - 64);
  }
  /// The largest value that falls in bucket i.
  static std::uint64_t top(std::size_t i) {
    if (i < kExact) return i;
    const std::size_t e = (i - kExact) / kPerDoubling + 7;
    const std::uint64_t m = (i - kExact) % kPerDoubling + 64;
    return ((m + 1) << (e - 6)) - 1;
  }

  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};
//! [latency-histogram]

}  // namespace cfs
