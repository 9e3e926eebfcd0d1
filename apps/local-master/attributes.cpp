#include "attributes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace heatblast::local_master {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kBlanks = " \t\r";
  const auto first = text.find_first_not_of(kBlanks);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kBlanks);
  return text.substr(first, last - first + 1);
}

std::optional<double> number(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::uint64_t> bound(std::string_view text) {
  text = trim(text);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "[1-4,8-9]" (the brackets already checked).
Result<mesos::v1::Value::Ranges> ranges(std::string_view name, std::string_view text) {
  mesos::v1::Value::Ranges out;
  std::string_view inner = trim(text.substr(1, text.size() - 2));
  while (!inner.empty()) {
    const auto comma = inner.find(',');
    const std::string_view range = inner.substr(0, comma);
    const auto dash = range.find('-');
    const auto begin = bound(range.substr(0, dash));
    const auto end = dash == std::string_view::npos ? begin : bound(range.substr(dash + 1));
    if (!begin || !end || *begin > *end) {
      return fail(errc::invalid_argument,
                  fmt::format("attribute '{}': '{}' is not a range BEGIN-END", name, trim(range)));
    }
    auto* added = out.add_range();
    added->set_begin(*begin);
    added->set_end(*end);
    inner = comma == std::string_view::npos ? std::string_view() : inner.substr(comma + 1);
  }
  return out;
}

Result<mesos::v1::Attribute> attribute(std::string_view entry) {
  const auto colon = entry.find(':');
  const std::string_view name = trim(entry.substr(0, colon));
  const std::string_view value =
      colon == std::string_view::npos ? std::string_view() : trim(entry.substr(colon + 1));
  if (name.empty() || value.empty()) {
    return fail(errc::invalid_argument,
                fmt::format("'{}' is not an attribute NAME:VALUE", trim(entry)));
  }
  mesos::v1::Attribute out;
  out.set_name(std::string(name));
  if (value.front() == '[' && value.back() == ']') {
    auto parsed = ranges(name, value);
    if (!parsed) return tl::unexpected(parsed.error());
    out.set_type(mesos::v1::Value::RANGES);
    *out.mutable_ranges() = std::move(*parsed);
  } else if (value.front() == '{') {
    return fail(errc::invalid_argument,
                fmt::format("attribute '{}': sets are not supported for attributes", name));
  } else if (auto scalar = number(value)) {
    out.set_type(mesos::v1::Value::SCALAR);
    out.mutable_scalar()->set_value(*scalar);
  } else {
    out.set_type(mesos::v1::Value::TEXT);
    out.mutable_text()->set_value(std::string(value));
  }
  return out;
}

}  // namespace

Result<std::vector<mesos::v1::Attribute>> parse_attributes(std::string_view text) {
  std::vector<mesos::v1::Attribute> out;
  while (!text.empty()) {
    const auto separator = text.find_first_of(";\n");
    const std::string_view entry = text.substr(0, separator);
    text = separator == std::string_view::npos ? std::string_view() : text.substr(separator + 1);
    if (trim(entry).empty()) continue;
    auto parsed = attribute(entry);
    if (!parsed) return tl::unexpected(parsed.error());
    out = merge_attributes(std::move(out), {*parsed});
  }
  return out;
}

std::vector<mesos::v1::Attribute> merge_attributes(
    std::vector<mesos::v1::Attribute> base, const std::vector<mesos::v1::Attribute>& overrides) {
  for (const auto& attribute : overrides) {
    auto same = std::find_if(base.begin(), base.end(), [&](const mesos::v1::Attribute& a) {
      return a.name() == attribute.name();
    });
    if (same != base.end()) {
      *same = attribute;
    } else {
      base.push_back(attribute);
    }
  }
  return base;
}

std::string to_string(const std::vector<mesos::v1::Attribute>& attributes) {
  std::string out;
  for (const auto& attribute : attributes) {
    if (!out.empty()) out += ';';
    out += attribute.name() + ':';
    switch (attribute.type()) {
      case mesos::v1::Value::SCALAR:
        out += fmt::format("{}", attribute.scalar().value());
        break;
      case mesos::v1::Value::RANGES: {
        std::string ranges;
        for (const auto& range : attribute.ranges().range()) {
          if (!ranges.empty()) ranges += ',';
          ranges += fmt::format("{}-{}", range.begin(), range.end());
        }
        out += '[' + ranges + ']';
        break;
      }
      default:
        out += attribute.text().value();
        break;
    }
  }
  return out;
}

}  // namespace heatblast::local_master
