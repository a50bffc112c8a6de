#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace idgate::load {

// Latency histogram that gRPC callback threads record into without a lock:
// log-linear buckets (HdrHistogram style), exact below 128 ns, then 128
// linear sub-buckets per power of two, so any reported value is within
// 0.8 % of a recorded one. Min, max, count and sum are exact.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = kSub + (63 - kSubBits) * kSub;

  LatencyHistogram();

  void Record(int64_t nanos);

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  int64_t min() const;
  int64_t max() const { return max_.load(std::memory_order_relaxed); }
  double mean() const;
  // The value at percentile `p` (0-100): the midpoint of the bucket that
  // holds the ceil(p% * count)-th smallest value, clamped to [min, max].
  int64_t Percentile(double p) const;

  // ghz's "Response time histogram": `bins` equal-width bins from min to
  // max; each entry is (upper mark in ns, count).
  std::vector<std::pair<int64_t, uint64_t>> Bins(int bins) const;

  static int BucketOf(int64_t nanos);
  static int64_t BucketLow(int bucket);
  static int64_t BucketWidth(int bucket);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_{0};
  std::atomic<int64_t> min_;
  std::atomic<int64_t> max_{0};
};

}  // namespace idgate::load
