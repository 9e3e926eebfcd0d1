// Agent attributes in the Mesos agent's `--attributes` syntax, for local-master's agents.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/error.hpp"

namespace heatblast::local_master {

// "rack:r1;zone:a;level:2;slots:[1-4,8-9]": `name:value` pairs separated by ';' or newlines
// (empty entries skipped), split at the first ':'. As a Mesos agent parses them (see
// src/common/attributes.cpp and values::parse in Mesos): a value in brackets is RANGES, a
// number is SCALAR, anything else is TEXT; a set ({a,b}) is refused, as Mesos refuses it for
// attributes. Blanks around names and values are dropped; a name given twice keeps the last
// value. Errors: errc::invalid_argument naming
// the entry ("attribute 'rack': ...").
Result<std::vector<mesos::v1::Attribute>> parse_attributes(std::string_view text);

// `overrides` laid over `base`: an attribute of `overrides` replaces the one of the same name in
// `base`, the others are appended, in order.
std::vector<mesos::v1::Attribute> merge_attributes(
    std::vector<mesos::v1::Attribute> base, const std::vector<mesos::v1::Attribute>& overrides);

// "rack:r1;level:2;slots:[1-4]": the attributes in the syntax parse_attributes reads.
std::string to_string(const std::vector<mesos::v1::Attribute>& attributes);

}  // namespace heatblast::local_master
