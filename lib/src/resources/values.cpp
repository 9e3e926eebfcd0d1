#include "resources/values.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace heatblast::resources_detail {

std::int64_t to_millis(double value) {
  return std::llround(value * 1000.0);
}

double from_millis(std::int64_t millis) {
  return static_cast<double>(millis) / 1000.0;
}

std::int64_t add_millis(std::int64_t left, std::int64_t right) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(left, right, &sum)) {
    return right > 0 ? std::numeric_limits<std::int64_t>::max()
                     : std::numeric_limits<std::int64_t>::min();
  }
  return sum;
}

std::string format_millis(std::int64_t millis) {
  std::string out;
  // Negative values only appear in error messages about needs; keep them readable anyway.
  std::uint64_t magnitude = static_cast<std::uint64_t>(millis);
  if (millis < 0) {
    out += '-';
    magnitude = ~magnitude + 1;
  }
  out += std::to_string(magnitude / 1000);
  if (std::uint64_t fraction = magnitude % 1000; fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 3 - digits.size(), '0');
    while (digits.back() == '0')
      digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

std::vector<Range> normalize_ranges(std::vector<Range> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::vector<Range> out;
  for (const Range& range : ranges) {
    // `end + 1` would overflow at the top of uint64, hence the explicit adjacency test.
    if (!out.empty() && (range.begin <= out.back().end ||
                         (out.back().end != std::numeric_limits<std::uint64_t>::max() &&
                          range.begin == out.back().end + 1))) {
      out.back().end = std::max(out.back().end, range.end);
    } else {
      out.push_back(range);
    }
  }
  return out;
}

std::vector<Range> unite_ranges(const std::vector<Range>& left, const std::vector<Range>& right) {
  std::vector<Range> all = left;
  all.insert(all.end(), right.begin(), right.end());
  return normalize_ranges(std::move(all));
}

std::vector<Range> subtract_ranges(const std::vector<Range>& left,
                                   const std::vector<Range>& right) {
  std::vector<Range> out;
  std::size_t j = 0;
  for (Range current : left) {
    while (j < right.size() && right[j].end < current.begin)
      ++j;
    bool consumed = false;
    for (std::size_t k = j; k < right.size() && right[k].begin <= current.end; ++k) {
      if (right[k].begin > current.begin) out.push_back({current.begin, right[k].begin - 1});
      if (right[k].end >= current.end) {
        consumed = true;
        break;
      }
      current.begin = right[k].end + 1;
    }
    if (!consumed) out.push_back(current);
  }
  return out;
}

bool ranges_contain(const std::vector<Range>& outer, const std::vector<Range>& inner) {
  return subtract_ranges(inner, outer).empty();
}

std::vector<Range> read_ranges(const mesos::v1::Value::Ranges& ranges) {
  std::vector<Range> out;
  out.reserve(static_cast<std::size_t>(ranges.range_size()));
  for (const auto& range : ranges.range())
    out.push_back({range.begin(), range.end()});
  return out;
}

void write_ranges(const std::vector<Range>& ranges, mesos::v1::Value::Ranges& out) {
  out.clear_range();
  for (const Range& range : ranges) {
    auto* added = out.add_range();
    added->set_begin(range.begin);
    added->set_end(range.end);
  }
}

std::string format_ranges(const std::vector<Range>& ranges) {
  std::string out = "[";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i != 0) out += ',';
    out += std::to_string(ranges[i].begin);
    out += '-';
    out += std::to_string(ranges[i].end);
  }
  out += ']';
  return out;
}

}  // namespace heatblast::resources_detail
