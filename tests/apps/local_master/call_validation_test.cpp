// The call and FrameworkInfo checks, with the messages a Mesos master answers.
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
