#include "call_validation.hpp"

#include <cctype>
#include <set>

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include "allocator.hpp"
#include "time.hpp"

namespace heatblast::local_master {
namespace {

using mesos::v1::scheduler::Call;

tl::unexpected<Error> invalid(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

Result<void> expect(bool present, std::string_view field) {
  if (present) return {};
  return invalid(fmt::format("Expecting '{}' to be present", field));
}

// The deprecated `FrameworkInfo.role` is still what a framework without MULTI_ROLE subscribes
// with; the deprecation warnings stay confined to these two.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
const std::string& legacy_role(const mesos::v1::FrameworkInfo& info) {
  return info.role();
}
bool has_legacy_role(const mesos::v1::FrameworkInfo& info) {
  return info.has_role();
}
#pragma GCC diagnostic pop

bool same_message(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// The executor's own checks (Mesos: the master's executor validation plus the agent's minimum
// resources for the default executor). Returns its resources, normalized for the role.
Result<Resources> validate_group_executor(const mesos::v1::ExecutorInfo& executor,
                                          const LaunchContext& context) {
  const std::string& id = executor.executor_id().value();
  auto valid_id = validate_id("ExecutorID", id);
  if (!valid_id) return tl::unexpected(valid_id.error());
  if (!executor.has_type()) return invalid("'ExecutorInfo.type' must be set");
  if (executor.type() == mesos::v1::ExecutorInfo::UNKNOWN) return invalid("Unknown executor type");
  if (executor.type() == mesos::v1::ExecutorInfo::CUSTOM) {
    return invalid("local-master runs task groups with the DEFAULT executor only");
  }
  if (executor.has_command()) {
    return invalid("'ExecutorInfo.command' must not be set for 'DEFAULT' executor");
  }
  if (!executor.has_framework_id()) return invalid("'ExecutorInfo.framework_id' must be set");
  if (executor.framework_id().value() != context.framework_id) {
    return invalid(
        fmt::format("ExecutorInfo has an invalid FrameworkID (Actual: {} vs Expected: {})",
                    executor.framework_id().value(), context.framework_id));
  }
  if (executor.shutdown_grace_period().nanoseconds() < 0) {
    return invalid("ExecutorInfo's 'shutdown_grace_period' must be non-negative");
  }
  if (executor.has_container() && executor.container().type() == mesos::v1::ContainerInfo::DOCKER) {
    return invalid("Docker ContainerInfo is not supported on the executor");
  }
  auto resources = normalize_task_resources(executor.resources(), context.role);
  if (!resources) return invalid("Executor uses invalid resources: " + resources.error().message);
  if (resources->scalar("cpus") < 0.01) {
    return invalid(fmt::format("Executor '{}' uses less CPUs ({}) than the minimum required (0.01)",
                               id, resources->scalar("cpus")));
  }
  if (resources->scalar("mem") < 32) {
    return invalid(fmt::format("Executor '{}' uses less memory ({}) than the minimum required (32)",
                               id, resources->scalar("mem")));
  }
  if (resources->scalar("disk") <= 0) return invalid(fmt::format("Executor '{}' uses no disk", id));
  return resources;
}

// The checks a task of a group adds to validate_task.
Result<void> validate_group_member(const mesos::v1::TaskInfo& task,
                                   const mesos::v1::ExecutorInfo& executor) {
  if (task.has_executor() && !same_message(task.executor(), executor)) {
    return invalid(fmt::format("The `ExecutorInfo` of task '{}' is different from executor '{}'",
                               task.task_id().value(), executor.executor_id().value()));
  }
  if (!task.has_command()) {
    return invalid(
        fmt::format("Task '{}' of a task group needs 'TaskInfo.command'", task.task_id().value()));
  }
  if (task.has_container() && task.container().type() == mesos::v1::ContainerInfo::DOCKER) {
    return invalid("Docker ContainerInfo is not supported on the task");
  }
  return {};
}

Result<void> validate_uuid(const std::string& bytes) {
  if (bytes.size() != 16) return invalid("Not a valid UUID");
  return {};
}

}  // namespace

Result<void> validate_call(const Call& call) {
  if (!call.IsInitialized()) {
    return invalid("Not initialized: " + call.InitializationErrorString());
  }
  if (!call.has_type()) return invalid("Expecting 'type' to be present");

  if (call.type() == Call::SUBSCRIBE) {
    if (!call.has_subscribe()) return invalid("Expecting 'subscribe' to be present");
    const auto& info = call.subscribe().framework_info();
    const bool same = info.has_id() == call.has_framework_id() &&
                      (!info.has_id() || info.id().value() == call.framework_id().value());
    if (!same) return invalid("'framework_id' differs from 'subscribe.framework_info.id'");
    return {};
  }

  if (!call.has_framework_id()) return invalid("Expecting 'framework_id' to be present");

  switch (call.type()) {
    case Call::SUBSCRIBE:
    case Call::UNKNOWN:
    case Call::TEARDOWN:
    case Call::REVIVE:
    case Call::SUPPRESS:
      return {};
    case Call::ACCEPT:
      return expect(call.has_accept(), "accept");
    case Call::DECLINE:
      return expect(call.has_decline(), "decline");
    case Call::ACCEPT_INVERSE_OFFERS:
      return expect(call.has_accept_inverse_offers(), "accept_inverse_offers");
    case Call::DECLINE_INVERSE_OFFERS:
      return expect(call.has_decline_inverse_offers(), "decline_inverse_offers");
    case Call::KILL:
      return expect(call.has_kill(), "kill");
    case Call::SHUTDOWN:
      return expect(call.has_shutdown(), "shutdown");
    case Call::ACKNOWLEDGE: {
      auto present = expect(call.has_acknowledge(), "acknowledge");
      if (!present) return present;
      return validate_uuid(call.acknowledge().uuid());
    }
    case Call::ACKNOWLEDGE_OPERATION_STATUS: {
      auto present =
          expect(call.has_acknowledge_operation_status(), "acknowledge_operation_status");
      if (!present) return present;
      return validate_uuid(call.acknowledge_operation_status().uuid());
    }
    case Call::RECONCILE:
      return expect(call.has_reconcile(), "reconcile");
    case Call::RECONCILE_OPERATIONS:
      return expect(call.has_reconcile_operations(), "reconcile_operations");
    case Call::MESSAGE:
      return expect(call.has_message(), "message");
    case Call::REQUEST:
      return expect(call.has_request(), "request");
    case Call::UPDATE_FRAMEWORK: {
      auto present = expect(call.has_update_framework(), "update_framework");
      if (!present) return present;
      const auto& info = call.update_framework().framework_info();
      if (!info.has_id() || info.id().value() != call.framework_id().value()) {
        return invalid("'framework_id' differs from 'update_framework.framework_info.id'");
      }
      return {};
    }
  }
  return {};
}

Result<void> validate_id(std::string_view what, const std::string& value) {
  if (value.empty()) return invalid(fmt::format("{} must not be empty", what));
  if (value.size() > 255) {
    return invalid(fmt::format("{} '{}' is longer than 255 characters", what, value));
  }
  if (value == "." || value == "..") {
    return invalid(fmt::format("{} '{}' must not be '.' or '..'", what, value));
  }
  for (char c : value) {
    if (std::iscntrl(static_cast<unsigned char>(c)) || c == '/' || c == '\\') {
      return invalid(fmt::format("{} '{}' contains invalid characters", what, value));
    }
  }
  return {};
}

Result<void> validate_role(const std::string& role) {
  auto bad = [&role](std::string_view why) {
    return invalid(fmt::format("Role '{}' is invalid: {}", role, why));
  };
  if (role.empty()) return bad("empty role name");
  if (role == "*") return {};
  if (role == "." || role == "..") return bad("'.' and '..' are reserved");
  if (role.front() == '-') return bad("must not start with '-'");
  for (char c : role) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return bad("must not contain whitespace or control characters");
    }
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t end = role.find('/', start);
    const std::string component =
        role.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (component.empty()) return bad("a '/' separated component is empty");
    if (component == "." || component == "..") return bad("'.' and '..' are reserved");
    if (component == "*") return bad("'*' is only valid as a whole role name");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

bool has_capability(const mesos::v1::FrameworkInfo& info,
                    mesos::v1::FrameworkInfo::Capability::Type capability) {
  for (const auto& entry : info.capabilities()) {
    if (entry.type() == capability) return true;
  }
  return false;
}

std::vector<std::string> framework_roles(const mesos::v1::FrameworkInfo& info) {
  if (has_capability(info, mesos::v1::FrameworkInfo::Capability::MULTI_ROLE)) {
    return {info.roles().begin(), info.roles().end()};
  }
  return {legacy_role(info)};
}

Result<void> validate_framework_info(
    const mesos::v1::FrameworkInfo& info,
    const google::protobuf::RepeatedPtrField<std::string>& suppressed_roles) {
  if (info.has_id()) {
    auto id = validate_id("FrameworkID", info.id().value());
    if (!id) return id;
  }
  const bool multi_role = has_capability(info, mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  if (multi_role && has_legacy_role(info)) {
    return invalid("'FrameworkInfo.role' must not be set when the framework is MULTI_ROLE capable");
  }
  if (!multi_role && !info.roles().empty()) {
    return invalid(
        "'FrameworkInfo.roles' must not be set when the framework is not MULTI_ROLE capable");
  }
  std::set<std::string> seen;
  for (const auto& role : framework_roles(info)) {
    auto valid = validate_role(role);
    if (!valid) return valid;
    if (!seen.insert(role).second) {
      return invalid(fmt::format("'FrameworkInfo.roles' contains duplicate role '{}'", role));
    }
  }
  if (!duration_from_seconds(info.failover_timeout())) {
    return invalid(fmt::format("Illegal value for failover_timeout {}: not a valid duration",
                               info.failover_timeout()));
  }
  for (const auto& role : suppressed_roles) {
    if (!seen.contains(role)) {
      return invalid(fmt::format(
          "Suppressed role '{}' is not contained in the list of roles of the framework", role));
    }
  }
  return {};
}

Result<Resources> validate_task(const mesos::v1::TaskInfo& task, const LaunchContext& context) {
  const std::string& id = task.task_id().value();
  auto valid_id = validate_id("TaskID", id);
  if (!valid_id) return tl::unexpected(valid_id.error());
  if (context.task_id_taken && context.task_id_taken(id)) {
    return invalid("Task has duplicate ID: " + id);
  }
  if (task.agent_id().value() != context.agent_id) {
    return invalid(fmt::format("Task uses invalid agent {} while agent {} is expected",
                               task.agent_id().value(), context.agent_id));
  }
  if (task.kill_policy().has_grace_period() &&
      task.kill_policy().grace_period().nanoseconds() < 0) {
    return invalid("Task's 'kill_policy.grace_period' must be non-negative");
  }
  if (task.resources().empty()) return invalid("Task uses no resources");
  auto resources = normalize_task_resources(task.resources(), context.role);
  if (!resources) return invalid("Task uses invalid resources: " + resources.error().message);
  return resources;
}

Result<Resources> validate_launch_task(const mesos::v1::TaskInfo& task,
                                       const LaunchContext& context, const Resources& available) {
  auto resources = validate_task(task, context);
  if (!resources) return resources;
  if (task.has_executor() == task.has_command()) {
    return invalid(
        "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present");
  }
  if (task.has_executor()) {
    return invalid(
        "local-master runs command tasks only: custom executors ('TaskInfo.executor') are not "
        "supported");
  }
  if (!available.contains(*resources)) {
    return invalid(fmt::format(
        "Total resources {} required by task and its executor is more than available {}",
        heatblast::to_string(*resources), heatblast::to_string(available)));
  }
  return resources;
}

Result<TaskGroupResources> validate_task_group(
    const mesos::v1::Offer::Operation::LaunchGroup& launch, const LaunchContext& context,
    const Resources& available, const mesos::v1::ExecutorInfo* existing, bool existing_running) {
  const auto& executor = launch.executor();
  auto executor_resources = validate_group_executor(executor, context);
  if (!executor_resources) return tl::unexpected(executor_resources.error());
  if (existing != nullptr && !same_message(*existing, executor)) {
    return invalid(
        "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID");
  }
  if (launch.task_group().tasks().empty()) return invalid("Task group is empty");

  TaskGroupResources out;
  out.executor = std::move(*executor_resources);
  if (!existing_running) out.total = out.executor;
  // Ids are unique across the group too, not only against what was taken before it.
  std::set<std::string> ids_in_group;
  LaunchContext member_context = context;
  member_context.task_id_taken = [&](const std::string& id) {
    return ids_in_group.contains(id) || (context.task_id_taken && context.task_id_taken(id));
  };
  for (const auto& task : launch.task_group().tasks()) {
    auto resources = validate_task(task, member_context);
    if (!resources) return tl::unexpected(resources.error());
    auto member = validate_group_member(task, executor);
    if (!member) return tl::unexpected(member.error());
    ids_in_group.insert(task.task_id().value());
    out.total += *resources;
    out.tasks.push_back(std::move(*resources));
  }
  if (!available.contains(out.total)) {
    return invalid(fmt::format(
        "Total resources {} required by task group and its executor are more than available {}",
        heatblast::to_string(out.total), heatblast::to_string(available)));
  }
  return out;
}

}  // namespace heatblast::local_master
