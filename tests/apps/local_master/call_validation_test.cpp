// The call and FrameworkInfo checks, with the messages a Mesos master answers.
#include <set>

#include <catch2/catch.hpp>

#include "call_validation.hpp"

namespace {

using namespace heatblast::local_master;
using mesos::v1::scheduler::Call;

std::string error_of(const heatblast::Result<void>& result) {
  return result ? std::string() : result.error().message;
}

}  // namespace

TEST_CASE("validate_call: required parts per call type") {
  Call call;
  CHECK(error_of(validate_call(call)) == "Expecting 'type' to be present");
  call.set_type(Call::ACCEPT);
  CHECK(error_of(validate_call(call)) == "Expecting 'framework_id' to be present");
  call.mutable_framework_id()->set_value("f");
  CHECK(error_of(validate_call(call)) == "Expecting 'accept' to be present");
  call.mutable_accept();
  CHECK(validate_call(call));

  Call ack;
  ack.set_type(Call::ACKNOWLEDGE);
  ack.mutable_framework_id()->set_value("f");
  ack.mutable_acknowledge()->mutable_agent_id()->set_value("a");
  ack.mutable_acknowledge()->mutable_task_id()->set_value("t");
  ack.mutable_acknowledge()->set_uuid("short");
  CHECK(error_of(validate_call(ack)) == "Not a valid UUID");
  ack.mutable_acknowledge()->set_uuid(std::string(16, 'x'));
  CHECK(validate_call(ack));
  ack.mutable_acknowledge()->clear_task_id();
  CHECK_THAT(error_of(validate_call(ack)), Catch::StartsWith("Not initialized: "));

  Call subscribe;
  subscribe.set_type(Call::SUBSCRIBE);
  CHECK(error_of(validate_call(subscribe)) == "Expecting 'subscribe' to be present");
  auto* info = subscribe.mutable_subscribe()->mutable_framework_info();
  info->set_user("u");
  info->set_name("n");
  CHECK(validate_call(subscribe));
  info->mutable_id()->set_value("x");
  CHECK(error_of(validate_call(subscribe)) ==
        "'framework_id' differs from 'subscribe.framework_info.id'");
  subscribe.mutable_framework_id()->set_value("x");
  CHECK(validate_call(subscribe));

  Call update;
  update.set_type(Call::UPDATE_FRAMEWORK);
  update.mutable_framework_id()->set_value("x");
  auto* updated = update.mutable_update_framework()->mutable_framework_info();
  updated->set_user("u");
  updated->set_name("n");
  updated->mutable_id()->set_value("y");
  CHECK_FALSE(validate_call(update));
  updated->mutable_id()->set_value("x");
  CHECK(validate_call(update));
}

TEST_CASE("validate_id and validate_role") {
  CHECK(validate_id("TaskID", "task-1.a_b"));
  CHECK_FALSE(validate_id("TaskID", ""));
  CHECK_FALSE(validate_id("TaskID", ".."));
  CHECK(error_of(validate_id("TaskID", "a/b")) == "TaskID 'a/b' contains invalid characters");
  CHECK_FALSE(validate_id("TaskID", std::string(256, 'a')));

  CHECK(validate_role("*"));
  CHECK(validate_role("web"));
  CHECK(validate_role("eng/web"));
  CHECK_FALSE(validate_role(""));
  CHECK_FALSE(validate_role("-web"));
  CHECK_FALSE(validate_role("a b"));
  CHECK_FALSE(validate_role("eng//web"));
  CHECK_FALSE(validate_role("eng/.."));
  CHECK_FALSE(validate_role("a/*"));
}

TEST_CASE("validate_framework_info: roles, MULTI_ROLE, failover_timeout, suppressed roles") {
  google::protobuf::RepeatedPtrField<std::string> none;
  mesos::v1::FrameworkInfo info;
  info.set_user("u");
  info.set_name("n");
  CHECK(validate_framework_info(info, none));
  CHECK(framework_roles(info) == std::vector<std::string>{"*"});

  info.add_roles("a");
  CHECK_THAT(error_of(validate_framework_info(info, none)), Catch::Contains("MULTI_ROLE"));
  info.add_capabilities()->set_type(mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  CHECK(validate_framework_info(info, none));
  CHECK(framework_roles(info) == std::vector<std::string>{"a"});
  info.add_roles("a");
  CHECK_THAT(error_of(validate_framework_info(info, none)), Catch::Contains("duplicate"));
  info.clear_roles();
  info.add_roles("a");

  google::protobuf::RepeatedPtrField<std::string> suppressed;
  suppressed.Add("b");
  CHECK_THAT(error_of(validate_framework_info(info, suppressed)), Catch::Contains("'b'"));
  suppressed.Clear();
  suppressed.Add("a");
  CHECK(validate_framework_info(info, suppressed));

  info.set_failover_timeout(-1);
  CHECK_THAT(error_of(validate_framework_info(info, none)), Catch::Contains("failover_timeout"));
  info.set_failover_timeout(std::numeric_limits<double>::infinity());
  CHECK_FALSE(validate_framework_info(info, none));
  info.set_failover_timeout(3600);
  CHECK(validate_framework_info(info, none));
}

TEST_CASE("is_terminal follows Mesos") {
  using heatblast::is_terminal;
  CHECK(is_terminal(mesos::v1::TASK_FINISHED));
  CHECK(is_terminal(mesos::v1::TASK_LOST));
  CHECK(is_terminal(mesos::v1::TASK_GONE_BY_OPERATOR));
  CHECK_FALSE(is_terminal(mesos::v1::TASK_RUNNING));
  CHECK_FALSE(is_terminal(mesos::v1::TASK_UNREACHABLE));
  CHECK_FALSE(is_terminal(mesos::v1::TASK_UNKNOWN));
  CHECK_FALSE(is_terminal(mesos::v1::TASK_KILLING));
}

namespace {

using mesos::v1::ExecutorInfo;
using mesos::v1::TaskInfo;

template <class T>
std::string failure_of(const heatblast::Result<T>& result) {
  return result ? std::string() : result.error().message;
}

heatblast::Resources resources_of(std::string_view text) {
  auto parsed = heatblast::parse_resources(text);
  REQUIRE(parsed);
  return *parsed;
}

void add_scalar(google::protobuf::RepeatedPtrField<mesos::v1::Resource>* out, const char* name,
                double value) {
  auto* resource = out->Add();
  resource->set_name(name);
  resource->set_type(mesos::v1::Value::SCALAR);
  resource->mutable_scalar()->set_value(value);
}

LaunchContext context_with_taken(std::set<std::string> taken) {
  LaunchContext context;
  context.framework_id = "fw";
  context.agent_id = "agent-1";
  context.role = "*";
  context.task_id_taken = [taken = std::move(taken)](const std::string& id) {
    return taken.contains(id);
  };
  return context;
}

TaskInfo command_task(const std::string& id, double cpus = 0.5, double mem = 64) {
  TaskInfo task;
  task.set_name(id);
  task.mutable_task_id()->set_value(id);
  task.mutable_agent_id()->set_value("agent-1");
  task.mutable_command()->set_value("true");
  add_scalar(task.mutable_resources(), "cpus", cpus);
  add_scalar(task.mutable_resources(), "mem", mem);
  return task;
}

mesos::v1::Offer::Operation::LaunchGroup task_group(std::initializer_list<const char*> ids) {
  mesos::v1::Offer::Operation::LaunchGroup launch;
  ExecutorInfo* executor = launch.mutable_executor();
  executor->set_type(ExecutorInfo::DEFAULT);
  executor->mutable_executor_id()->set_value("group-1");
  executor->mutable_framework_id()->set_value("fw");
  add_scalar(executor->mutable_resources(), "cpus", 0.1);
  add_scalar(executor->mutable_resources(), "mem", 32);
  add_scalar(executor->mutable_resources(), "disk", 10);
  for (const char* id : ids)
    *launch.mutable_task_group()->add_tasks() = command_task(id);
  return launch;
}

}  // namespace

TEST_CASE("validate_task: id, agent, kill policy, resources") {
  const auto context = context_with_taken({"old"});
  auto ok = validate_task(command_task("t1"), context);
  REQUIRE(ok);
  CHECK(ok->scalar("cpus") == 0.5);
  CHECK(failure_of(validate_task(command_task("old"), context)) == "Task has duplicate ID: old");
  CHECK(failure_of(validate_task(command_task("a/b"), context)) ==
        "TaskID 'a/b' contains invalid characters");

  TaskInfo elsewhere = command_task("t2");
  elsewhere.mutable_agent_id()->set_value("agent-9");
  CHECK(failure_of(validate_task(elsewhere, context)) ==
        "Task uses invalid agent agent-9 while agent agent-1 is expected");

  TaskInfo negative_grace = command_task("t3");
  negative_grace.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(-1);
  CHECK(failure_of(validate_task(negative_grace, context)) ==
        "Task's 'kill_policy.grace_period' must be non-negative");

  TaskInfo empty = command_task("t4");
  empty.clear_resources();
  CHECK(failure_of(validate_task(empty, context)) == "Task uses no resources");
  TaskInfo negative = command_task("t5", -1);
  CHECK_THAT(failure_of(validate_task(negative, context)),
             Catch::StartsWith("Task uses invalid resources: "));
}

TEST_CASE("validate_launch_task: command or executor, and what the offer has left") {
  const auto context = context_with_taken({});
  const auto available = resources_of("cpus:1;mem:128");
  CHECK(validate_launch_task(command_task("t"), context, available));

  TaskInfo neither = command_task("t");
  neither.clear_command();
  CHECK(failure_of(validate_launch_task(neither, context, available)) ==
        "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present");
  TaskInfo custom = command_task("t");
  custom.clear_command();
  custom.mutable_executor()->mutable_executor_id()->set_value("e");
  CHECK_THAT(failure_of(validate_launch_task(custom, context, available)),
             Catch::Contains("custom executors"));

  CHECK_THAT(failure_of(validate_launch_task(command_task("t", 2), context, available)),
             Catch::StartsWith("Total resources") && Catch::Contains("more than available"));
}

TEST_CASE("validate_task_group: the executor, the tasks, the total") {
  const auto context = context_with_taken({"old"});
  const auto available = resources_of("cpus:2;mem:512;disk:100");

  auto ok = validate_task_group(task_group({"a", "b"}), context, available, nullptr, false);
  REQUIRE(ok);
  CHECK(ok->tasks.size() == 2);
  CHECK(ok->executor.scalar("mem") == 32);
  CHECK(ok->total.scalar("cpus") == Approx(1.1));  // the executor's 0.1 and 2 x 0.5

  SECTION("a running executor is not charged again") {
    const auto launch = task_group({"a"});
    auto again = validate_task_group(launch, context, available, &launch.executor(), true);
    REQUIRE(again);
    CHECK(again->total.scalar("cpus") == Approx(0.5));
    CHECK(again->total.scalar("mem") == Approx(64));
  }
  SECTION("an executor id reused with another ExecutorInfo") {
    auto other = task_group({"a"});
    other.mutable_executor()->mutable_executor_id()->set_value("group-1");
    ExecutorInfo changed = other.executor();
    changed.set_name("changed");
    CHECK(failure_of(validate_task_group(other, context, available, &changed, true)) ==
          "ExecutorInfo is not compatible with existing ExecutorInfo with same ExecutorID");
  }
  SECTION("executor checks") {
    auto launch = task_group({"a"});
    launch.mutable_executor()->clear_framework_id();
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "'ExecutorInfo.framework_id' must be set");
    launch.mutable_executor()->mutable_framework_id()->set_value("other");
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "ExecutorInfo has an invalid FrameworkID (Actual: other vs Expected: fw)");
    launch = task_group({"a"});
    launch.mutable_executor()->set_type(ExecutorInfo::CUSTOM);
    CHECK_THAT(failure_of(validate_task_group(launch, context, available, nullptr, false)),
               Catch::Contains("DEFAULT executor only"));
    launch = task_group({"a"});
    launch.mutable_executor()->mutable_command()->set_value("x");
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "'ExecutorInfo.command' must not be set for 'DEFAULT' executor");
    launch = task_group({"a"});
    launch.mutable_executor()->mutable_resources()->Mutable(1)->mutable_scalar()->set_value(16);
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "Executor 'group-1' uses less memory (16) than the minimum required (32)");
  }
  SECTION("task checks") {
    CHECK(failure_of(validate_task_group(task_group({}), context, available, nullptr, false)) ==
          "Task group is empty");
    CHECK(failure_of(validate_task_group(task_group({"a", "a"}), context, available, nullptr,
                                         false)) == "Task has duplicate ID: a");
    CHECK(failure_of(validate_task_group(task_group({"old"}), context, available, nullptr,
                                         false)) == "Task has duplicate ID: old");
    auto launch = task_group({"a"});
    launch.mutable_task_group()->mutable_tasks(0)->clear_command();
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "Task 'a' of a task group needs 'TaskInfo.command'");
    launch = task_group({"a"});
    *launch.mutable_task_group()->mutable_tasks(0)->mutable_executor() = launch.executor();
    CHECK(validate_task_group(launch, context, available, nullptr, false));
    launch.mutable_task_group()->mutable_tasks(0)->mutable_executor()->set_name("other");
    CHECK(failure_of(validate_task_group(launch, context, available, nullptr, false)) ==
          "The `ExecutorInfo` of task 'a' is different from executor 'group-1'");
  }
  SECTION("more than the offer has left") {
    CHECK_THAT(
        failure_of(validate_task_group(task_group({"a", "b", "c", "d"}), context,
                                       resources_of("cpus:1;mem:512;disk:100"), nullptr, false)),
        Catch::Contains("required by task group and its executor are more than available"));
  }
}
