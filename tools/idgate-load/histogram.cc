#include "tools/idgate-load/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace idgate::load {

LatencyHistogram::LatencyHistogram()
    : min_(std::numeric_limits<int64_t>::max()) {
  for (auto& b : buckets_) b.store(0, std::memory_order_relaxed);
}

int LatencyHistogram::BucketOf(int64_t nanos) {
  if (nanos < kSub) return nanos < 0 ? 0 : static_cast<int>(nanos);
  const int top =
      63 - __builtin_clzll(static_cast<uint64_t>(nanos));  // >= kSubBits
  const int shift = top - kSubBits;
  const int sub =
      static_cast<int>((static_cast<uint64_t>(nanos) >> shift) - kSub);
  return kSub + shift * kSub + sub;
}

int64_t LatencyHistogram::BucketLow(int bucket) {
  if (bucket < kSub) return bucket;
  const int shift = (bucket - kSub) / kSub;
  const int sub = (bucket - kSub) % kSub;
  return static_cast<int64_t>(kSub + sub) << shift;
}

int64_t LatencyHistogram::BucketWidth(int bucket) {
  if (bucket < kSub) return 1;
  return int64_t{1} << ((bucket - kSub) / kSub);
}

void LatencyHistogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  buckets_[BucketOf(nanos)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(nanos, std::memory_order_relaxed);
  int64_t seen = min_.load(std::memory_order_relaxed);
  while (nanos < seen &&
         !min_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
  seen = max_.load(std::memory_order_relaxed);
  while (nanos > seen &&
         !max_.compare_exchange_weak(seen, nanos, std::memory_order_relaxed)) {
  }
}

int64_t LatencyHistogram::min() const {
  return count() == 0 ? 0 : min_.load(std::memory_order_relaxed);
}

double LatencyHistogram::mean() const {
  const uint64_t n = count();
  return n == 0 ? 0.0
                : static_cast<double>(sum_.load(std::memory_order_relaxed)) / n;
}

int64_t LatencyHistogram::Percentile(double p) const {
  const uint64_t n = count();
  if (n == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(n)));
  rank = std::clamp<uint64_t>(rank, 1, n);
  if (rank == n) return max();
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b].load(std::memory_order_relaxed);
    if (seen >= rank) {
      const int64_t mid = BucketLow(b) + (BucketWidth(b) - 1) / 2;
      return std::clamp(mid, min(), max());
    }
  }
  return max();
}

std::vector<std::pair<int64_t, uint64_t>> LatencyHistogram::Bins(
    int bins) const {
  std::vector<std::pair<int64_t, uint64_t>> out;
  if (count() == 0 || bins <= 0) return out;
  const int64_t lo = min(), hi = max();
  const double width =
      std::max<double>(1.0, static_cast<double>(hi - lo) / bins);
  out.resize(bins);
  for (int i = 0; i < bins; ++i) {
    out[i].first = lo + static_cast<int64_t>(width * (i + 1));
    out[i].second = 0;
  }
  out.back().first = hi;
  for (int b = 0; b < kBuckets; ++b) {
    const uint64_t c = buckets_[b].load(std::memory_order_relaxed);
    if (c == 0) continue;
    const int64_t mid =
        std::clamp(BucketLow(b) + (BucketWidth(b) - 1) / 2, lo, hi);
    int i = static_cast<int>(static_cast<double>(mid - lo) / width);
    out[std::clamp(i, 0, bins - 1)].second += c;
  }
  return out;
}

}  // namespace idgate::load
