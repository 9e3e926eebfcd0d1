// Carving a task's resources out of an offer.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
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

constexpr std::string_view kPorts = "ports";

// Deeper reservations are the more specific guarantee, so they are used up first.
int reservation_depth(const Resource& resource) {
  if (resource.reservations_size() > 0) return resource.reservations_size();
  return legacy_role(resource) != "*" ? 1 : 0;
}

bool usable(const ResourceNeed& need, const Resource& resource) {
  if (indivisible(resource)) return false;
  if (resource.has_revocable() && !need.allow_revocable) return false;
  if (!need.role.empty() && resource.has_allocation_info() &&
      resource.allocation_info().has_role() && resource.allocation_info().role() != need.role) {
    return false;
  }
  return true;
}

// The offer's entries this need may draw from, in the order they are drawn from.
std::vector<const Resource*> candidates(const ResourceNeed& need, const Resources& offered) {
  std::vector<const Resource*> out;
  for (const Resource& resource : offered) {
    if (usable(need, resource)) out.push_back(&resource);
  }
  std::stable_sort(out.begin(), out.end(), [](const Resource* a, const Resource* b) {
    return reservation_depth(*a) > reservation_depth(*b);
  });
  return out;
}

// Whether `range` holds at least `count` numbers, without overflowing on [0, 2^64-1].
bool holds(const Range& range, std::uint64_t count) {
  return count == 0 || range.end - range.begin >= count - 1;
}

std::uint64_t saturating_length(const Range& range) {
  const std::uint64_t span = range.end - range.begin;
  return span == std::numeric_limits<std::uint64_t>::max() ? span : span + 1;
}

// Free ports of one candidate entry; `tier` orders them (lower is drawn first).
struct Segment {
  Range range;
  std::size_t candidate = 0;
  int tier = 0;
};

class PortPicker {
 public:
  explicit PortPicker(const std::vector<const Resource*>& from) {
    // A port offered twice (by entries of different identity) is attributed once, to the entry
    // drawn from first, so that picked ports stay distinct.
    std::vector<Range> covered;
    for (std::size_t i = 0; i < from.size(); ++i) {
      const Resource& resource = *from[i];
      if (resource.name() != kPorts || resource.type() != Value::RANGES) continue;
      const auto fresh = subtract_ranges(read_ranges(resource.ranges()), covered);
      for (const Range& range : fresh) {
        segments_.push_back({range, i, -reservation_depth(resource)});
      }
      covered = unite_ranges(covered, fresh);
    }
    sort_segments();
  }

  std::vector<Range> free_ports() const {
    std::vector<Range> all;
    for (const Segment& segment : segments_)
      all.push_back(segment.range);
    return normalize_ranges(std::move(all));
  }

  std::uint64_t free_count() const {
    std::uint64_t total = 0;
    for (const Segment& segment : segments_) {
      const std::uint64_t length = saturating_length(segment.range);
      total = length > std::numeric_limits<std::uint64_t>::max() - total
                  ? std::numeric_limits<std::uint64_t>::max()
                  : total + length;
    }
    return total;
  }

  bool take_port(std::uint64_t port) {
    for (const Segment& segment : segments_) {
      if (segment.range.begin <= port && port <= segment.range.end) {
        take(segment.candidate, {port, port});
        return true;
      }
    }
    return false;
  }

  // Assumes free_count() >= count.
  void take_count(std::uint64_t count) {
    if (count == 0) return;
    if (auto block = contiguous_block(count)) {
      for (const Segment& segment : std::vector<Segment>(segments_)) {
        if (segment.tier != block->tier) continue;
        const Range part{std::max(segment.range.begin, block->range.begin),
                         std::min(segment.range.end, block->range.end)};
        if (part.begin <= part.end) take(segment.candidate, part);
      }
      return;
    }
    while (count > 0) {
      const Segment first = segments_.front();
      const Range part = holds(first.range, count)
                             ? Range{first.range.begin, first.range.begin + count - 1}
                             : first.range;
      take(first.candidate, part);
      count -= saturating_length(part);
    }
  }

  const std::map<std::size_t, std::vector<Range>>& picked() const { return picked_; }

 private:
  void sort_segments() {
    std::sort(segments_.begin(), segments_.end(), [](const Segment& a, const Segment& b) {
      return a.tier != b.tier ? a.tier < b.tier : a.range.begin < b.range.begin;
    });
  }

  // The lowest run of `count` adjacent free ports within one tier, the first tier that has one.
  std::optional<Segment> contiguous_block(std::uint64_t count) const {
    for (std::size_t i = 0; i < segments_.size();) {
      Segment run = segments_[i];
      std::size_t j = i + 1;
      while (j < segments_.size() && segments_[j].tier == run.tier &&
             run.range.end != std::numeric_limits<std::uint64_t>::max() &&
             segments_[j].range.begin == run.range.end + 1) {
        run.range.end = segments_[j].range.end;
        ++j;
      }
      if (holds(run.range, count)) {
        run.range.end = run.range.begin + (count - 1);
        return run;
      }
      i = j;
    }
    return std::nullopt;
  }

  void take(std::size_t candidate, Range part) {
    auto& mine = picked_[candidate];
    mine = unite_ranges(mine, {part});
    std::vector<Segment> rest;
    for (const Segment& segment : segments_) {
      for (const Range& left : subtract_ranges({segment.range}, {part})) {
        rest.push_back({left, segment.candidate, segment.tier});
      }
    }
    segments_ = std::move(rest);
    sort_segments();
  }

  std::vector<Segment> segments_;
  std::map<std::size_t, std::vector<Range>> picked_;
};

Result<void> check_need(const ResourceNeed& need) {
  for (const auto& [name, amount] : need.scalars) {
    if (name.empty()) return fail(errc::invalid_argument, "resource need with an empty name");
    if (!std::isfinite(amount) || amount < 0 || amount > kMaxScalar) {
      return fail(errc::invalid_argument,
                  fmt::format("need for '{}' is {}, not an amount", name, amount));
    }
  }
  std::vector<std::uint64_t> ports = need.ports;
  std::sort(ports.begin(), ports.end());
  if (auto dup = std::adjacent_find(ports.begin(), ports.end()); dup != ports.end()) {
    return fail(errc::invalid_argument, fmt::format("port {} is needed twice", *dup));
  }
  return {};
}

}  // namespace

Result<std::vector<Resource>> allocate(const ResourceNeed& need, const Resources& offered) {
  if (auto valid = check_need(need); !valid) return tl::unexpected(valid.error());

  const std::vector<const Resource*> from = candidates(need, offered);
  std::vector<Resource> out;
  std::vector<std::string> short_of;

  for (const auto& [name, amount] : need.scalars) {
    const std::int64_t wanted = to_millis(amount);
    if (wanted == 0) continue;
    std::int64_t available = 0;
    for (const Resource* resource : from) {
      if (resource->name() == name && resource->type() == Value::SCALAR) {
        available = add_millis(available, to_millis(resource->scalar().value()));
      }
    }
    if (available == 0) {
      for (const Resource& resource : offered) {
        if (resource.name() == name && resource.type() != Value::SCALAR) {
          return fail(errc::invalid_argument, fmt::format("'{}' is a {} resource, not a scalar",
                                                          name, Value::Type_Name(resource.type())));
        }
      }
    }
    if (available < wanted) {
      short_of.push_back(fmt::format("need '{}' {} but offer has {}", name, format_millis(wanted),
                                     format_millis(available)));
      continue;
    }
    std::int64_t left = wanted;
    for (const Resource* resource : from) {
      if (left == 0) break;
      if (resource->name() != name || resource->type() != Value::SCALAR) continue;
      const std::int64_t part = std::min(left, to_millis(resource->scalar().value()));
      Resource& piece = out.emplace_back(*resource);
      piece.mutable_scalar()->set_value(from_millis(part));
      left -= part;
    }
  }

  if (need.port_count > 0 || !need.ports.empty()) {
    PortPicker picker(from);
    const std::vector<Range> offered_ports = picker.free_ports();
    for (std::uint64_t port : need.ports) {
      if (!picker.take_port(port)) {
        short_of.push_back(offered_ports.empty()
                               ? fmt::format("need port {} but offer has no '{}'", port, kPorts)
                               : fmt::format("need port {} but offer has '{}' {}", port, kPorts,
                                             format_ranges(offered_ports)));
      }
    }
    const std::uint64_t free = picker.free_count();
    if (free < need.port_count) {
      short_of.push_back(fmt::format("need {} {}'{}' but offer has {} free", need.port_count,
                                     need.ports.empty() ? "" : "more ", kPorts, free));
    } else {
      picker.take_count(need.port_count);
    }
    for (const auto& [candidate, ranges] : picker.picked()) {
      Resource& piece = out.emplace_back(*from[candidate]);
      write_ranges(ranges, *piece.mutable_ranges());
    }
  }

  if (!short_of.empty()) {
    return fail(errc::insufficient_resources, fmt::format("{}", fmt::join(short_of, "; ")));
  }
  return out;
}

bool fits(const ResourceNeed& need, const Resources& offered) {
  return allocate(need, offered).has_value();
}

Result<std::vector<Resource>> take(const ResourceNeed& need, Resources& remaining) {
  auto allocated = allocate(need, remaining);
  if (!allocated) return allocated;
  auto used = Resources::from_proto(std::span<const Resource>(*allocated));
  if (!used) return tl::unexpected(used.error());
  remaining -= *used;
  return allocated;
}

}  // namespace heatblast
