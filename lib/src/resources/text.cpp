// The agent's `--resources` text: formatting and parsing.
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "heatblast/resources.hpp"
#include "resources/identity.hpp"
#include "resources/values.hpp"

namespace heatblast {

using mesos::v1::Resource;
using mesos::v1::Value;
using namespace resources_detail;

namespace {

std::vector<std::string> annotations(const Resource& resource) {
  std::vector<std::string> out;
  if (resource.has_allocation_info() && resource.allocation_info().has_role()) {
    out.push_back("allocated=" + resource.allocation_info().role());
  }
  const Resource::ReservationInfo* dynamic = nullptr;
  if (resource.reservations_size() > 0) {
    const auto& top = resource.reservations(resource.reservations_size() - 1);
    if (top.type() == Resource::ReservationInfo::DYNAMIC) dynamic = &top;
  } else if (resource.has_reservation()) {
    dynamic = &resource.reservation();
  }
  if (dynamic != nullptr) {
    out.emplace_back("dynamic");
    if (dynamic->has_principal()) out.push_back("principal=" + dynamic->principal());
  }
  if (resource.has_disk()) {
    if (resource.disk().has_persistence()) {
      out.push_back("volume=" + resource.disk().persistence().id());
    }
    if (resource.disk().has_source()) {
      out.push_back("source=" +
                    Resource::DiskInfo::Source::Type_Name(resource.disk().source().type()));
    }
  }
  if (resource.has_revocable()) out.emplace_back("revocable");
  if (resource.has_shared()) out.emplace_back("shared");
  if (resource.has_provider_id()) out.push_back("provider=" + resource.provider_id().value());
  return out;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && space(text.back()))
    text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(separator, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
        std::string_view("()[]{}:;,=").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool parse_uint(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Fills the value of `resource` from `text`; an error message on failure.
std::optional<std::string> parse_value(std::string_view text, Resource& resource) {
  if (text.front() == '[') {
    if (text.back() != ']' || text.size() < 2) return std::string("missing ']'");
    resource.set_type(Value::RANGES);
    auto* ranges = resource.mutable_ranges();
    const std::string_view inside = trim(text.substr(1, text.size() - 2));
    if (inside.empty()) return std::nullopt;
    for (std::string_view part : split(inside, ',')) {
      part = trim(part);
      const std::size_t dash = part.find('-');
      std::uint64_t begin = 0;
      std::uint64_t end = 0;
      const std::string_view first = trim(part.substr(0, dash));
      const std::string_view second =
          dash == std::string_view::npos ? first : trim(part.substr(dash + 1));
      if (!parse_uint(first, begin) || !parse_uint(second, end)) {
        return fmt::format("'{}' is not a range such as 31000-32000", part);
      }
      auto* range = ranges->add_range();
      range->set_begin(begin);
      range->set_end(end);
    }
    return std::nullopt;
  }
  if (text.front() == '{') {
    if (text.back() != '}' || text.size() < 2) return std::string("missing '}'");
    resource.set_type(Value::SET);
    auto* set = resource.mutable_set();
    const std::string_view inside = trim(text.substr(1, text.size() - 2));
    if (inside.empty()) return std::nullopt;
    for (std::string_view item : split(inside, ',')) {
      item = trim(item);
      if (item.empty() || item.find_first_of("{}[]") != std::string_view::npos) {
        return fmt::format("'{}' is not a set item", item);
      }
      set->add_item(std::string(item));
    }
    return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return fmt::format("'{}' is not a number, '[ranges]' or '{{set}}'", text);
  }
  resource.set_type(Value::SCALAR);
  resource.mutable_scalar()->set_value(value);
  return std::nullopt;
}

}  // namespace

std::string to_string(const Resource& resource) {
  std::string out = resource.name();
  if (is_reserved(resource)) {
    out += '(';
    out += reservation_role(resource);
    out += ')';
  }
  if (const auto notes = annotations(resource); !notes.empty()) {
    out += fmt::format("[{}]", fmt::join(notes, ","));
  }
  out += ':';
  switch (resource.type()) {
    case Value::SCALAR:
      out += format_millis(to_millis(resource.scalar().value()));
      break;
    case Value::RANGES:
      out += format_ranges(read_ranges(resource.ranges()));
      break;
    case Value::SET:
      out += fmt::format("{{{}}}", fmt::join(resource.set().item(), ","));
      break;
    default:
      out += '?';
      break;
  }
  return out;
}

std::string to_string(const Resources& resources) {
  std::string out;
  for (const Resource& resource : resources) {
    if (!out.empty()) out += ';';
    out += to_string(resource);
  }
  return out;
}

Result<Resources> parse_resources(std::string_view text) {
  Resources out;
  std::map<std::string, Value::Type, std::less<>> types;
  for (std::string_view token : split(text, ';')) {
    token = trim(token);
    if (token.empty()) continue;
    const auto bad = [&](errc code, std::string_view why) {
      return fail(code, fmt::format("bad resource '{}': {}", token, why));
    };

    const std::size_t colon = token.find(':');
    if (colon == std::string_view::npos) return bad(errc::invalid_argument, "expected name:value");
    std::string_view name = trim(token.substr(0, colon));
    const std::string_view value = trim(token.substr(colon + 1));
    std::string_view role = "*";
    if (const std::size_t paren = name.find('('); paren != std::string_view::npos) {
      if (name.back() != ')') return bad(errc::invalid_argument, "expected name(role)");
      role = trim(name.substr(paren + 1, name.size() - paren - 2));
      name = trim(name.substr(0, paren));
      if (!valid_role(role)) {
        return bad(errc::invalid_argument, fmt::format("'{}' is not a valid role name", role));
      }
    }
    if (!valid_name(name)) {
      return bad(errc::invalid_argument, fmt::format("'{}' is not a resource name", name));
    }
    if (value.empty()) return bad(errc::invalid_argument, "no value");

    Resource resource;
    resource.set_name(std::string(name));
    if (auto why = parse_value(value, resource)) return bad(errc::invalid_argument, *why);
    if (role != "*") {
      auto* level = resource.add_reservations();
      level->set_type(Resource::ReservationInfo::STATIC);
      level->set_role(std::string(role));
    }
    auto [known, inserted] = types.try_emplace(resource.name(), resource.type());
    if (!inserted && known->second != resource.type()) {
      return bad(errc::invalid_resource, fmt::format("'{}' was already given as {}", name,
                                                     Value::Type_Name(known->second)));
    }
    if (auto why = why_invalid(resource)) return bad(errc::invalid_resource, *why);
    out += *Resources::from_proto(resource);
  }
  return out;
}

}  // namespace heatblast
