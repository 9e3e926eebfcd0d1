// Builders for the resources tests: protobuf Resources in a line each.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "heatblast/resources.hpp"

namespace hbtest {

using mesos::v1::Resource;
using mesos::v1::Value;

inline heatblast::Resources parsed(std::string_view text) {
  auto result = heatblast::parse_resources(text);
  INFO("parse_resources(\"" << text << "\"): " << (result ? "ok" : result.error().message));
  REQUIRE(result.has_value());
  return *result;
}

inline heatblast::Resources make(const std::vector<Resource>& resources) {
  auto result = heatblast::Resources::from_proto(resources);
  INFO("from_proto: " << (result ? "ok" : result.error().message));
  REQUIRE(result.has_value());
  return *result;
}

inline Resource scalar(std::string name, double value) {
  Resource r;
  r.set_name(std::move(name));
  r.set_type(Value::SCALAR);
  r.mutable_scalar()->set_value(value);
  return r;
}

inline Resource ranges(std::string name, std::initializer_list<heatblast::Range> list) {
  Resource r;
  r.set_name(std::move(name));
  r.set_type(Value::RANGES);
  auto* out = r.mutable_ranges();
  for (const auto& range : list) {
    auto* added = out->add_range();
    added->set_begin(range.begin);
    added->set_end(range.end);
  }
  return r;
}

inline Resource set(std::string name, std::initializer_list<std::string> items) {
  Resource r;
  r.set_name(std::move(name));
  r.set_type(Value::SET);
  for (const auto& item : items)
    r.mutable_set()->add_item(item);
  return r;
}

// Modifiers take and return by value so they chain: allocated(static_to(scalar(...), "web"), ...).
inline Resource allocated(Resource r, std::string role) {
  r.mutable_allocation_info()->set_role(std::move(role));
  return r;
}

inline Resource static_to(Resource r, std::string role) {
  auto* level = r.add_reservations();
  level->set_type(Resource::ReservationInfo::STATIC);
  level->set_role(std::move(role));
  return r;
}

inline Resource dynamic_to(Resource r, std::string role, std::string principal = "ops") {
  auto* level = r.add_reservations();
  level->set_type(Resource::ReservationInfo::DYNAMIC);
  level->set_role(std::move(role));
  level->set_principal(std::move(principal));
  return r;
}

// The pre-refinement format: `role`, plus `reservation` when dynamic. `Resource.role` is
// deprecated in the .proto, and these tests are where it has to be written.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
inline Resource old_role(Resource r, std::string role) {
  r.set_role(std::move(role));
  return r;
}

inline Resource old_dynamic(Resource r, std::string role, std::string principal = "ops") {
  r.set_role(std::move(role));
  r.mutable_reservation()->set_principal(std::move(principal));
  return r;
}
#pragma GCC diagnostic pop

inline Resource revocable(Resource r) {
  r.mutable_revocable();
  return r;
}

inline Resource volume(Resource r, std::string id) {
  r.mutable_disk()->mutable_persistence()->set_id(std::move(id));
  return r;
}

inline Resource shared(Resource r) {
  r.mutable_shared();
  return r;
}

}  // namespace hbtest
