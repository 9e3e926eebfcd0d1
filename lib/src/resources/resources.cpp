#include "heatblast/resources.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include "resources/identity.hpp"
#include "resources/values.hpp"

namespace heatblast {

using mesos::v1::Resource;
using mesos::v1::Value;

namespace resources_detail {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
const std::string& legacy_role(const Resource& resource) {
  return resource.role();
}
bool has_legacy_role(const Resource& resource) {
  return resource.has_role();
}
void set_legacy_role(Resource& resource, std::string role) {
  resource.set_role(std::move(role));
}
void clear_legacy_role(Resource& resource) {
  resource.clear_role();
}
#pragma GCC diagnostic pop

namespace {

bool same_message(const google::protobuf::Message& left, const google::protobuf::Message& right) {
  return google::protobuf::util::MessageDifferencer::Equals(left, right);
}

bool same_disk(const Resource::DiskInfo& left, const Resource::DiskInfo& right) {
  if (left.has_source() != right.has_source()) return false;
  if (left.has_source() && !same_message(left.source(), right.source())) return false;
  if (left.has_persistence() != right.has_persistence()) return false;
  return !left.has_persistence() || left.persistence().id() == right.persistence().id();
}

bool same_value(const Resource& left, const Resource& right) {
  switch (left.type()) {
    case Value::SCALAR:
      return to_millis(left.scalar().value()) == to_millis(right.scalar().value());
    case Value::RANGES:
      return read_ranges(left.ranges()) == read_ranges(right.ranges());
    case Value::SET:
      return std::equal(left.set().item().begin(), left.set().item().end(),
                        right.set().item().begin(), right.set().item().end());
    default:
      return false;
  }
}

bool whitespace_or_control(char c) {
  return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) == 0x7f;
}

bool is_strict_subrole(std::string_view child, std::string_view parent) {
  return child.size() > parent.size() + 1 && child.substr(0, parent.size()) == parent &&
         child[parent.size()] == '/';
}

std::optional<std::string> check_reservations(const Resource& resource) {
  if (resource.reservations_size() == 0) {
    if (has_legacy_role(resource) && legacy_role(resource) != "*" &&
        !valid_role(legacy_role(resource))) {
      return fmt::format("role '{}' is not a valid role name", legacy_role(resource));
    }
    if (resource.has_reservation()) {
      if (resource.reservation().has_type() || resource.reservation().has_role()) {
        return std::string("'reservation' must not set 'type' or 'role' (that is 'reservations')");
      }
      if (legacy_role(resource) == "*")
        return std::string("role '*' cannot be dynamically reserved");
    }
    return std::nullopt;
  }

  const std::string* below = nullptr;
  for (int i = 0; i < resource.reservations_size(); ++i) {
    const Resource::ReservationInfo& level = resource.reservations(i);
    if (level.type() != Resource::ReservationInfo::STATIC &&
        level.type() != Resource::ReservationInfo::DYNAMIC) {
      return fmt::format("reservation #{} has no STATIC or DYNAMIC type", i);
    }
    if (level.role() == "*" || !valid_role(level.role())) {
      return fmt::format("reservation #{} has invalid role '{}'", i, level.role());
    }
    if (below != nullptr) {
      if (level.type() == Resource::ReservationInfo::STATIC) {
        return fmt::format("refined reservation #{} cannot be STATIC", i);
      }
      if (!is_strict_subrole(level.role(), *below)) {
        return fmt::format("reservation #{} role '{}' is not a sub-role of '{}'", i, level.role(),
                           *below);
      }
    }
    below = &level.role();
  }

  // Mesos's "endpoint" format: a single-level stack may repeat itself in `role`/`reservation`.
  if (resource.reservations_size() > 1) {
    if (has_legacy_role(resource) || resource.has_reservation()) {
      return std::string("'role' and 'reservation' must be unset with a refined reservation");
    }
    return std::nullopt;
  }
  const Resource::ReservationInfo& only = resource.reservations(0);
  if (has_legacy_role(resource) && legacy_role(resource) != only.role()) {
    return fmt::format("'role' '{}' does not match the reservation role '{}'",
                       legacy_role(resource), only.role());
  }
  if (only.type() == Resource::ReservationInfo::STATIC) {
    if (resource.has_reservation()) {
      return std::string("'reservation' must be unset for a STATIC reservation");
    }
    return std::nullopt;
  }
  if (has_legacy_role(resource) != resource.has_reservation()) {
    return std::string("'role' and 'reservation' must be both set or both unset");
  }
  if (resource.has_reservation()) {
    const auto& old = resource.reservation();
    if (old.has_principal() != only.has_principal() || old.principal() != only.principal() ||
        old.has_labels() != only.has_labels() ||
        (old.has_labels() && !same_message(old.labels(), only.labels()))) {
      return std::string("'reservation' does not match 'reservations'");
    }
  }
  return std::nullopt;
}

// Why `resource` is invalid, or nothing when it is valid.
std::optional<std::string> check(const Resource& resource) {
  if (resource.name().empty()) return std::string("empty name");
  switch (resource.type()) {
    case Value::SCALAR: {
      if (!resource.has_scalar() || resource.has_ranges() || resource.has_set()) {
        return std::string("a SCALAR resource needs 'scalar' and nothing else");
      }
      const double value = resource.scalar().value();
      if (!std::isfinite(value)) return fmt::format("scalar value {} is not finite", value);
      if (value < 0) return fmt::format("scalar value {} is negative", value);
      if (value > kMaxScalar) return fmt::format("scalar value {} is too large", value);
      break;
    }
    case Value::RANGES:
      if (!resource.has_ranges() || resource.has_scalar() || resource.has_set()) {
        return std::string("a RANGES resource needs 'ranges' and nothing else");
      }
      for (const auto& range : resource.ranges().range()) {
        if (range.begin() > range.end()) {
          return fmt::format("range [{}-{}] has begin > end", range.begin(), range.end());
        }
      }
      break;
    case Value::SET:
      if (!resource.has_set() || resource.has_scalar() || resource.has_ranges()) {
        return std::string("a SET resource needs 'set' and nothing else");
      }
      break;
    default:
      return fmt::format("type {} cannot be a resource", Value::Type_Name(resource.type()));
  }
  if (auto why = check_reservations(resource)) return why;
  // "*" is a valid allocation role: a framework without roles is allocated to it.
  if (resource.has_allocation_info() && resource.allocation_info().has_role() &&
      !valid_role(resource.allocation_info().role())) {
    return fmt::format("allocation role '{}' is not a valid role name",
                       resource.allocation_info().role());
  }
  if (resource.has_disk() && resource.name() != "disk") {
    return std::string("'disk' info on a resource not named 'disk'");
  }
  if (resource.has_shared() && !(resource.has_disk() && resource.disk().has_persistence())) {
    return std::string("only persistent volumes can be shared");
  }
  return std::nullopt;
}

}  // namespace

bool valid_role(std::string_view role) {
  if (role.empty()) return false;
  if (role == "*") return true;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = role.find('/', start);
    const std::string_view part = role.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == ".." || part.front() == '-' ||
        part.find('*') != std::string_view::npos ||
        std::any_of(part.begin(), part.end(), whitespace_or_control)) {
      return false;
    }
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool same_identity(const Resource& left, const Resource& right) {
  if (left.name() != right.name() || left.type() != right.type() ||
      legacy_role(left) != legacy_role(right)) {
    return false;
  }
  if (left.has_allocation_info() != right.has_allocation_info()) return false;
  if (left.has_allocation_info()) {
    const auto& a = left.allocation_info();
    const auto& b = right.allocation_info();
    if (a.has_role() != b.has_role() || a.role() != b.role()) return false;
  }
  if (left.has_reservation() != right.has_reservation()) return false;
  if (left.has_reservation() && !same_message(left.reservation(), right.reservation())) {
    return false;
  }
  if (left.reservations_size() != right.reservations_size()) return false;
  for (int i = 0; i < left.reservations_size(); ++i) {
    if (!same_message(left.reservations(i), right.reservations(i))) return false;
  }
  if (left.has_disk() != right.has_disk()) return false;
  if (left.has_disk() && !same_disk(left.disk(), right.disk())) return false;
  if (left.has_revocable() != right.has_revocable()) return false;
  if (left.has_shared() != right.has_shared()) return false;
  if (left.has_provider_id() != right.has_provider_id()) return false;
  return !left.has_provider_id() || left.provider_id().value() == right.provider_id().value();
}

std::optional<std::string> why_invalid(const Resource& resource) {
  return check(resource);
}

bool indivisible(const Resource& resource) {
  if (resource.has_shared()) return true;
  if (!resource.has_disk()) return false;
  if (resource.disk().has_persistence()) return true;
  if (!resource.disk().has_source()) return false;
  const auto type = resource.disk().source().type();
  return type == Resource::DiskInfo::Source::MOUNT || type == Resource::DiskInfo::Source::BLOCK;
}

bool value_empty(const Resource& resource) {
  switch (resource.type()) {
    case Value::SCALAR:
      return to_millis(resource.scalar().value()) == 0;
    case Value::RANGES:
      return resource.ranges().range_size() == 0;
    case Value::SET:
      return resource.set().item_size() == 0;
    default:
      return true;
  }
}

bool contains_one(const Resource& outer, const Resource& inner) {
  if (!same_identity(outer, inner)) return false;
  if (indivisible(outer)) return same_value(outer, inner);
  switch (outer.type()) {
    case Value::SCALAR:
      return to_millis(inner.scalar().value()) <= to_millis(outer.scalar().value());
    case Value::RANGES:
      return ranges_contain(read_ranges(outer.ranges()), read_ranges(inner.ranges()));
    case Value::SET:
      return std::includes(outer.set().item().begin(), outer.set().item().end(),
                           inner.set().item().begin(), inner.set().item().end());
    default:
      return false;
  }
}

Resource normalized(Resource resource) {
  switch (resource.type()) {
    case Value::SCALAR:
      resource.mutable_scalar()->set_value(from_millis(to_millis(resource.scalar().value())));
      break;
    case Value::RANGES:
      write_ranges(normalize_ranges(read_ranges(resource.ranges())), *resource.mutable_ranges());
      break;
    case Value::SET: {
      auto* items = resource.mutable_set()->mutable_item();
      std::sort(items->begin(), items->end());
      items->erase(std::unique(items->begin(), items->end()), items->end());
      break;
    }
    default:
      break;
  }
  return resource;
}

}  // namespace resources_detail

using namespace resources_detail;

Result<void> validate(const Resource& resource) {
  if (auto why = check(resource)) {
    return fail(errc::invalid_resource,
                fmt::format("invalid resource '{}': {}", resource.name(), *why));
  }
  return {};
}

std::string reservation_role(const Resource& resource) {
  if (resource.reservations_size() > 0) {
    return resource.reservations(resource.reservations_size() - 1).role();
  }
  return legacy_role(resource);
}

bool is_reserved(const Resource& resource) {
  return resource.reservations_size() > 0 || legacy_role(resource) != "*";
}

void Resources::add(const Resource& resource) {
  if (value_empty(resource)) return;
  if (!indivisible(resource)) {
    for (Resource& entry : resources_) {
      if (!same_identity(entry, resource)) continue;
      switch (entry.type()) {
        case Value::SCALAR:
          entry.mutable_scalar()->set_value(from_millis(
              add_millis(to_millis(entry.scalar().value()), to_millis(resource.scalar().value()))));
          break;
        case Value::RANGES:
          write_ranges(unite_ranges(read_ranges(entry.ranges()), read_ranges(resource.ranges())),
                       *entry.mutable_ranges());
          break;
        case Value::SET: {
          std::vector<std::string> merged;
          std::set_union(entry.set().item().begin(), entry.set().item().end(),
                         resource.set().item().begin(), resource.set().item().end(),
                         std::back_inserter(merged));
          entry.mutable_set()->mutable_item()->Assign(merged.begin(), merged.end());
          break;
        }
        default:
          break;
      }
      return;
    }
  }
  resources_.push_back(resource);
}

void Resources::remove(const Resource& resource) {
  for (auto it = resources_.begin(); it != resources_.end(); ++it) {
    Resource& entry = *it;
    if (!same_identity(entry, resource)) continue;
    if (indivisible(entry)) {
      if (!same_value(entry, resource)) continue;
      resources_.erase(it);
      return;
    }
    switch (entry.type()) {
      case Value::SCALAR: {
        const std::int64_t left =
            to_millis(entry.scalar().value()) - to_millis(resource.scalar().value());
        entry.mutable_scalar()->set_value(from_millis(std::max<std::int64_t>(left, 0)));
        break;
      }
      case Value::RANGES:
        write_ranges(subtract_ranges(read_ranges(entry.ranges()), read_ranges(resource.ranges())),
                     *entry.mutable_ranges());
        break;
      case Value::SET: {
        std::vector<std::string> kept;
        std::set_difference(entry.set().item().begin(), entry.set().item().end(),
                            resource.set().item().begin(), resource.set().item().end(),
                            std::back_inserter(kept));
        entry.mutable_set()->mutable_item()->Assign(kept.begin(), kept.end());
        break;
      }
      default:
        break;
    }
    if (value_empty(entry)) resources_.erase(it);
    return;
  }
}

Result<Resources> Resources::from_proto(const Resource& resource) {
  if (auto valid = validate(resource); !valid) return tl::unexpected(valid.error());
  Resources out;
  out.add(normalized(resource));
  return out;
}

Result<Resources> Resources::from_proto(
    const google::protobuf::RepeatedPtrField<Resource>& resources) {
  Resources out;
  int index = 0;
  for (const Resource& resource : resources) {
    if (auto why = check(resource)) {
      return fail(errc::invalid_resource,
                  fmt::format("invalid resource #{} '{}': {}", index, resource.name(), *why));
    }
    out.add(normalized(resource));
    ++index;
  }
  return out;
}

Result<Resources> Resources::from_proto(std::span<const Resource> resources) {
  Resources out;
  for (std::size_t index = 0; index < resources.size(); ++index) {
    if (auto why = check(resources[index])) {
      return fail(errc::invalid_resource, fmt::format("invalid resource #{} '{}': {}", index,
                                                      resources[index].name(), *why));
    }
    out.add(normalized(resources[index]));
  }
  return out;
}

google::protobuf::RepeatedPtrField<Resource> Resources::to_proto() const {
  google::protobuf::RepeatedPtrField<Resource> out;
  out.Reserve(static_cast<int>(resources_.size()));
  for (const Resource& resource : resources_)
    *out.Add() = resource;
  return out;
}

bool Resources::contains(const Resources& that) const {
  // Indivisible entries may repeat in `that` (a shared volume used twice), so each match has to
  // be used up; for divisible ones `that` holds at most one entry per identity.
  Resources remaining = *this;
  for (const Resource& wanted : that.resources_) {
    const auto found =
        std::find_if(remaining.resources_.begin(), remaining.resources_.end(),
                     [&](const Resource& have) { return contains_one(have, wanted); });
    if (found == remaining.resources_.end()) return false;
    if (indivisible(wanted)) remaining.resources_.erase(found);
  }
  return true;
}

Resources& Resources::operator+=(const Resources& that) {
  if (this == &that) {
    const Resources copy = that;
    return *this += copy;
  }
  for (const Resource& resource : that.resources_)
    add(resource);
  return *this;
}

Resources& Resources::operator-=(const Resources& that) {
  if (this == &that) {
    resources_.clear();
    return *this;
  }
  for (const Resource& resource : that.resources_)
    remove(resource);
  return *this;
}

Result<Resources> Resources::subtract(const Resources& that) const {
  if (!contains(that)) {
    return fail(errc::insufficient_resources,
                fmt::format("cannot subtract '{}' from '{}': missing '{}'", to_string(that),
                            to_string(*this), to_string(that - *this)));
  }
  return *this - that;
}

bool operator==(const Resources& left, const Resources& right) {
  return left.contains(right) && right.contains(left);
}

double Resources::scalar(std::string_view name) const {
  std::int64_t total = 0;
  for (const Resource& resource : resources_) {
    if (resource.name() == name && resource.type() == Value::SCALAR) {
      total = add_millis(total, to_millis(resource.scalar().value()));
    }
  }
  return from_millis(total);
}

std::vector<Range> Resources::ranges(std::string_view name) const {
  std::vector<Range> all;
  for (const Resource& resource : resources_) {
    if (resource.name() == name && resource.type() == Value::RANGES) {
      const auto more = read_ranges(resource.ranges());
      all.insert(all.end(), more.begin(), more.end());
    }
  }
  return normalize_ranges(std::move(all));
}

std::vector<std::string> Resources::set(std::string_view name) const {
  std::vector<std::string> all;
  for (const Resource& resource : resources_) {
    if (resource.name() == name && resource.type() == Value::SET) {
      all.insert(all.end(), resource.set().item().begin(), resource.set().item().end());
    }
  }
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

std::vector<std::string> Resources::names() const {
  std::vector<std::string> out;
  for (const Resource& resource : resources_) {
    if (std::find(out.begin(), out.end(), resource.name()) == out.end()) {
      out.push_back(resource.name());
    }
  }
  return out;
}

Resources Resources::filter(const std::function<bool(const Resource&)>& predicate) const {
  // A subset of a normalized collection is normalized, so entries are copied as they are.
  Resources out;
  for (const Resource& resource : resources_) {
    if (predicate(resource)) out.resources_.push_back(resource);
  }
  return out;
}

Resources Resources::reserved(std::string_view role) const {
  return filter([&](const Resource& r) { return is_reserved(r) && reservation_role(r) == role; });
}

Resources Resources::reserved() const {
  return filter([](const Resource& r) { return is_reserved(r); });
}

Resources Resources::unreserved() const {
  return filter([](const Resource& r) { return !is_reserved(r); });
}

Resources Resources::allocated_to(std::string_view role) const {
  return filter([&](const Resource& r) {
    return r.has_allocation_info() && r.allocation_info().has_role() &&
           r.allocation_info().role() == role;
  });
}

Resources Resources::revocable() const {
  return filter([](const Resource& r) { return r.has_revocable(); });
}

Resources Resources::non_revocable() const {
  return filter([](const Resource& r) { return !r.has_revocable(); });
}

Resources Resources::allocated(std::string_view role) const {
  Resources out;
  for (Resource resource : resources_) {
    resource.mutable_allocation_info()->set_role(std::string(role));
    out.add(resource);
  }
  return out;
}

Resources Resources::unallocated() const {
  Resources out;
  for (Resource resource : resources_) {
    resource.clear_allocation_info();
    out.add(resource);
  }
  return out;
}

Result<Resources> Resources::converted(ResourceFormat format) const {
  Resources out;
  for (Resource resource : resources_) {
    if (format == ResourceFormat::post_refinement) {
      if (resource.reservations_size() == 0 && legacy_role(resource) != "*") {
        auto* level = resource.add_reservations();
        if (resource.has_reservation()) {
          level->set_type(Resource::ReservationInfo::DYNAMIC);
          if (resource.reservation().has_principal()) {
            level->set_principal(resource.reservation().principal());
          }
          if (resource.reservation().has_labels()) {
            *level->mutable_labels() = resource.reservation().labels();
          }
        } else {
          level->set_type(Resource::ReservationInfo::STATIC);
        }
        level->set_role(legacy_role(resource));
      }
      clear_legacy_role(resource);
      resource.clear_reservation();
    } else {
      if (resource.reservations_size() > 1) {
        return fail(errc::invalid_resource,
                    fmt::format("'{}' has a refined reservation to '{}', which the "
                                "pre-refinement format cannot express",
                                to_string(resource), reservation_role(resource)));
      }
      if (resource.reservations_size() == 1) {
        const Resource::ReservationInfo level = resource.reservations(0);
        resource.clear_reservation();
        if (level.type() == Resource::ReservationInfo::DYNAMIC) {
          auto* old = resource.mutable_reservation();
          if (level.has_principal()) old->set_principal(level.principal());
          if (level.has_labels()) *old->mutable_labels() = level.labels();
        }
        set_legacy_role(resource, level.role());
        resource.clear_reservations();
      } else if (!has_legacy_role(resource)) {
        // Already pre-refinement when `role` is set; otherwise unreserved, spelled as Mesos does.
        set_legacy_role(resource, "*");
      }
    }
    out.add(resource);
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Resources& resources) {
  return out << to_string(resources);
}

Result<Resources> offer_resources(const mesos::v1::Offer& offer) {
  auto resources = Resources::from_proto(offer.resources());
  if (!resources) {
    return fail(errc::invalid_resource,
                fmt::format("offer '{}': {}", offer.id().value(), resources.error().message));
  }
  return resources;
}

}  // namespace heatblast
