#include "figures.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace heatblast::load {

std::size_t Histogram::bucket_of(std::uint64_t micros) noexcept {
  constexpr std::uint64_t kLinear = std::uint64_t{1} << (kSubBits + 1);
  if (micros < kLinear) return static_cast<std::size_t>(micros);
  const int exponent = 63 - std::countl_zero(micros);
  const int shift = exponent - kSubBits;
  const std::size_t index =
      static_cast<std::size_t>(shift + 1) * 32 + static_cast<std::size_t>((micros >> shift) - 32);
  return std::min(index, kBuckets - 1);
}

std::uint64_t Histogram::bucket_low(std::size_t index) noexcept {
  if (index < 64) return index;
  const std::size_t shift = index / 32 - 1;
  return (32 + index % 32) << shift;
}

std::uint64_t Histogram::bucket_high(std::size_t index) noexcept {
  if (index < 64) return index;
  const std::size_t shift = index / 32 - 1;
  return bucket_low(index) + (std::uint64_t{1} << shift) - 1;
}

void Histogram::record(std::uint64_t micros) noexcept {
  ++buckets_[bucket_of(micros)];
  ++count_;
  max_ = std::max(max_, micros);
}

void Histogram::add_to_bucket(std::size_t index, std::uint64_t n) noexcept {
  if (index >= kBuckets || n == 0) return;
  buckets_[index] += n;
  count_ += n;
  max_ = std::max(max_, bucket_high(index));
}

void Histogram::merge(const Histogram& other) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i)
    buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::uint64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  // The rank of the value at q, 1-based: the smallest rank whose share reaches q.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(bucket_high(i), max_);
  }
  return max_;
}

void Figures::merge(const Figures& other) noexcept {
  queries += other.queries;
  errors += other.errors;
  duration_us = std::max(duration_us, other.duration_us);
  latency.merge(other.latency);
}

std::string encode(const Figures& f) {
  std::string out = fmt::format("queries {}\nerrors {}\nduration_us {}\nbuckets ", f.queries,
                                f.errors, f.duration_us);
  bool first = true;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    if (f.latency.buckets()[i] == 0) continue;
    out += fmt::format("{}{}:{}", first ? "" : ",", i, f.latency.buckets()[i]);
    first = false;
  }
  out += "\n";
  return out;
}

namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Result<void> decode_buckets(std::string_view list, Histogram& histogram) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view pair = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    const auto colon = pair.find(':');
    std::uint64_t index = 0;
    std::uint64_t n = 0;
    if (colon == std::string_view::npos || !parse_u64(pair.substr(0, colon), index) ||
        !parse_u64(pair.substr(colon + 1), n) || index >= Histogram::kBuckets) {
      return fail(errc::invalid_argument, fmt::format("bad bucket '{}'", pair));
    }
    histogram.add_to_bucket(static_cast<std::size_t>(index), n);
  }
  return {};
}

}  // namespace

Result<Figures> decode(std::string_view text) {
  Figures f;
  bool seen_queries = false;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    const auto space = line.find(' ');
    const std::string_view key = line.substr(0, space);
    const std::string_view value =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    bool ok = true;
    if (key == "queries") {
      ok = parse_u64(value, f.queries);
      seen_queries = ok;
    } else if (key == "errors") {
      ok = parse_u64(value, f.errors);
    } else if (key == "duration_us") {
      ok = parse_u64(value, f.duration_us);
    } else if (key == "buckets") {
      if (auto decoded = decode_buckets(value, f.latency); !decoded)
        return tl::unexpected(decoded.error());
    } else {
      ok = false;
    }
    if (!ok) return fail(errc::invalid_argument, fmt::format("bad figures line '{}'", line));
  }
  if (!seen_queries) return fail(errc::invalid_argument, "figures without a queries line");
  if (f.errors > f.queries) return fail(errc::invalid_argument, "more errors than queries");
  return f;
}

std::vector<std::uint64_t> split_queries(std::uint64_t total, std::uint64_t per_task) {
  std::vector<std::uint64_t> out;
  if (per_task == 0) return out;
  out.assign(total / per_task, per_task);
  if (total % per_task != 0) out.push_back(total % per_task);
  return out;
}

}  // namespace heatblast::load
