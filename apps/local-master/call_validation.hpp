// The checks a Mesos master makes on scheduler calls and FrameworkInfo, with its messages where
// we know them. Pure functions; the Master decides which status code a failure becomes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <mesos/v1/mesos.pb.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/error.hpp"
#include "heatblast/task_state.hpp"

namespace heatblast::local_master {

// The call-level validation of `Master::Http::scheduler` (HTTP 400 when it fails): required
// fields present ("Not initialized: ..."), `type` present, SUBSCRIBE with `subscribe` and
// `framework_id` == `subscribe.framework_info.id`, every other call with `framework_id` and the
// sub-message its type needs ("Expecting 'accept' to be present"), and an ACKNOWLEDGE /
// ACKNOWLEDGE_OPERATION_STATUS uuid of exactly 16 bytes ("Not a valid UUID"). Errors are
// errc::invalid_argument; the message is what the master answers.
Result<void> validate_call(const mesos::v1::scheduler::Call& call);

// A Mesos ID (FrameworkID, TaskID, ...): not empty, at most 255 characters, not "." or "..",
// and no '/', '\\' or control characters. `what` names it in the message ("TaskID 'a/b' ...").
Result<void> validate_id(std::string_view what, const std::string& value);

// A role name: not empty, not "." or "..", no leading '-', no whitespace or control
// characters, and as a path ('/'-separated) no empty, "." or ".." component. "*" is valid.
Result<void> validate_role(const std::string& role);

// Whether the framework declared `capability`.
bool has_capability(const mesos::v1::FrameworkInfo& info,
                    mesos::v1::FrameworkInfo::Capability::Type capability);

// The roles a framework subscribes with: `roles` for MULTI_ROLE frameworks, else `role`
// ("*" by default).
std::vector<std::string> framework_roles(const mesos::v1::FrameworkInfo& info);

// The validation of a FrameworkInfo on SUBSCRIBE (failures become an ERROR event) and on
// UPDATE_FRAMEWORK (failures become HTTP 400): roles consistent with MULTI_ROLE and valid, no
// duplicate role, `failover_timeout` a valid duration, `id` a valid ID, suppressed roles a
// subset of the roles.
Result<void> validate_framework_info(
    const mesos::v1::FrameworkInfo& info,
    const google::protobuf::RepeatedPtrField<std::string>& suppressed_roles);

}  // namespace heatblast::local_master
