// How Resources decides which entries are "the same resource" and may be combined.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <mesos/v1/mesos.pb.h>

namespace heatblast::resources_detail {

// The deprecated `Resource.role` (the pre-refinement format), which this layer has to read and
// write; the deprecation warnings stay confined to these four.
const std::string& legacy_role(const mesos::v1::Resource& resource);
bool has_legacy_role(const mesos::v1::Resource& resource);
void set_legacy_role(mesos::v1::Resource& resource, std::string role);
void clear_legacy_role(mesos::v1::Resource& resource);

// Mesos's role-name rules: "*", or '/'-separated parts that are not empty, ".", "..", do not
// start with '-' and hold no '*', whitespace or control character.
bool valid_role(std::string_view role);

// Why `resource` is not a valid resource (the text after "invalid resource 'name': "), or
// nothing when it is valid.
std::optional<std::string> why_invalid(const mesos::v1::Resource& resource);

// Everything but the value is equal (see the class comment of Resources).
bool same_identity(const mesos::v1::Resource& left, const mesos::v1::Resource& right);
// Persistent volumes, MOUNT/BLOCK disks and shared resources: never split or merged.
bool indivisible(const mesos::v1::Resource& resource);
bool value_empty(const mesos::v1::Resource& resource);
// `inner` fits inside the single entry `outer`.
bool contains_one(const mesos::v1::Resource& outer, const mesos::v1::Resource& inner);
// Scalar rounded to 3 decimals, ranges sorted and merged, set items sorted and unique.
mesos::v1::Resource normalized(mesos::v1::Resource resource);

}  // namespace heatblast::resources_detail
