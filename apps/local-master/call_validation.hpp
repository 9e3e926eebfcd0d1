// The checks a Mesos master makes on scheduler calls and FrameworkInfo, with its messages where
// we know them. Pure functions; the Master decides which status code a failure becomes.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/repeated_field.h>
#include <mesos/v1/mesos.pb.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/error.hpp"
#include "heatblast/resources.hpp"
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

// What the checks of an ACCEPT's launches need to know of the master: whose offer it is, on
// which agent, for which role, and which task ids are taken (by the framework's tasks and by
// the launches accepted earlier in the same call).
struct LaunchContext {
  std::string framework_id;
  std::string agent_id;
  std::string role;  // the offer's allocation role
  std::function<bool(const std::string& task_id)> task_id_taken;
};

// The checks of one TaskInfo that LAUNCH and LAUNCH_GROUP share: a valid and unused TaskID,
// the offer's agent, a non-negative kill grace period, resources present and valid. Returns
// the task's resources normalized for the offer's role (see normalize_task_resources).
// Errors: errc::invalid_argument, with a Mesos master's message ("Task has duplicate ID: t").
Result<Resources> validate_task(const mesos::v1::TaskInfo& task, const LaunchContext& context);

// A task of a LAUNCH operation: validate_task, exactly one of CommandInfo and ExecutorInfo
// (and no custom executor: local-master runs command tasks only), and resources that fit in
// `available`. A failure becomes TASK_ERROR, REASON_TASK_INVALID for this task alone.
Result<Resources> validate_launch_task(const mesos::v1::TaskInfo& task,
                                       const LaunchContext& context, const Resources& available);

// What a valid LAUNCH_GROUP takes from the offer.
struct TaskGroupResources {
  Resources executor;            // the executor's own resources, normalized for the role
  std::vector<Resources> tasks;  // each task's, in the group's order
  Resources total;               // the tasks, plus the executor's unless it is already running
};

// A LAUNCH_GROUP operation, as a Mesos master and agent check it: a DEFAULT executor with a
// valid id, this framework's id, no command, no Docker container, a non-negative shutdown
// grace period and at least 0.01 cpus, 32 MB of memory and some disk; the same ExecutorInfo as
// `existing` (the executor already known under that id, if any); a non-empty group whose
// tasks pass validate_task, have a command, no Docker container, and no ExecutorInfo other
// than the group's; everything together within `available`. `existing_running`: the existing
// executor still has live tasks, so its resources are not charged again. A failure refuses the
// whole group (TASK_ERROR, REASON_TASK_GROUP_INVALID). Errors: errc::invalid_argument.
Result<TaskGroupResources> validate_task_group(
    const mesos::v1::Offer::Operation::LaunchGroup& launch, const LaunchContext& context,
    const Resources& available, const mesos::v1::ExecutorInfo* existing, bool existing_running);

}  // namespace heatblast::local_master
