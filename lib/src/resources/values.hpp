// Value arithmetic behind Resources: 3-decimal fixed-point scalars, inclusive ranges, sets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/resources.hpp"

namespace heatblast::resources_detail {

// Scalars are kept as integer thousandths while computing; converting back to a double only at
// the end is what makes 0.1 + 0.2 == 0.3 and keeps -0.0001 dust out.
std::int64_t to_millis(double value);
double from_millis(std::int64_t millis);
// Saturates instead of overflowing.
std::int64_t add_millis(std::int64_t left, std::int64_t right);
// "4", "0.5", "0.125": no trailing zeros, never an exponent.
std::string format_millis(std::int64_t millis);

// Sorted, disjoint, and non-adjacent ([1-3],[4-5] becomes [1-5]).
std::vector<Range> normalize_ranges(std::vector<Range> ranges);
// Inputs normalized; outputs normalized.
std::vector<Range> unite_ranges(const std::vector<Range>& left, const std::vector<Range>& right);
std::vector<Range> subtract_ranges(const std::vector<Range>& left, const std::vector<Range>& right);
bool ranges_contain(const std::vector<Range>& outer, const std::vector<Range>& inner);

std::vector<Range> read_ranges(const mesos::v1::Value::Ranges& ranges);
void write_ranges(const std::vector<Range>& ranges, mesos::v1::Value::Ranges& out);
std::string format_ranges(const std::vector<Range>& ranges);

}  // namespace heatblast::resources_detail
