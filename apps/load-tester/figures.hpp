// What a load run measures: a latency histogram (log-linear buckets, fixed size, mergeable, no
// allocation per query) and the counts around it, plus the split of a run into tasks. Shared by
// load-tester (which merges) and load-worker (which records).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heatblast/error.hpp"

namespace heatblast::load {

// Latencies in microseconds. Values below 64 get a bucket each; above, each power of two is cut
// into 32 buckets, so a bucket is at most 1/32 (about 3 %) wide relative to its values. Values
// above 2^40 us (12 days) land in the last bucket. Merging adds bucket counts, so percentiles of
// a merged histogram are exact to a bucket, unlike an average of percentiles.
class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr std::size_t kBuckets = 38 * 32;

  void record(std::uint64_t micros) noexcept;
  void merge(const Histogram& other) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  // The upper bound of the bucket holding the value at quantile q (0..1]; 0 when empty. Never
  // above max().
  std::uint64_t percentile(double q) const noexcept;

  static std::size_t bucket_of(std::uint64_t micros) noexcept;
  // The smallest and largest value of bucket `index`.
  static std::uint64_t bucket_low(std::size_t index) noexcept;
  static std::uint64_t bucket_high(std::size_t index) noexcept;
  const std::array<std::uint64_t, kBuckets>& buckets() const noexcept { return buckets_; }
  // Sets one bucket (for decoding); keeps count() and max() consistent with the buckets.
  void add_to_bucket(std::size_t index, std::uint64_t n) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

// The figures of one task (or, merged, of the run).
struct Figures {
  std::uint64_t queries = 0;  // sent, failed ones included
  std::uint64_t errors = 0;   // failed: transport error, timeout, or an HTTP status >= 400
  std::uint64_t duration_us = 0;
  Histogram latency;  // of every query, failed ones included

  // Adds counts and histograms; the duration is the longest (tasks run side by side).
  void merge(const Figures& other) noexcept;
};

// The wire form a worker posts: "queries Q\nerrors E\nduration_us D\nbuckets i:n,i:n...\n", only
// non-empty buckets. Small and bounded (at most kBuckets pairs).
std::string encode(const Figures& figures);
// errc::invalid_argument on anything else: unknown keys, a bucket index out of range, numbers
// that do not parse or overflow.
Result<Figures> decode(std::string_view text);

// Splits `total` queries into tasks of `per_task` each; the last task gets the remainder.
// Empty when total is 0. per_task must be > 0.
std::vector<std::uint64_t> split_queries(std::uint64_t total, std::uint64_t per_task);

}  // namespace heatblast::load
