// The JSON mapping on the real scheduler API messages: the wire examples of MESOS-PROTOCOL.md
// and the shapes a master sends (offers with ranges and allocation_info, base64 uuids, 64-bit
// timestamps, infinite limits).
#include <cmath>
#include <limits>
#include <string>

#include <catch2/catch.hpp>

#include "heatblast/json.hpp"
#include "mesos/v1/scheduler/scheduler.pb.h"

namespace json = heatblast::json;
using heatblast::errc;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

namespace {

template <class M>
M decode_ok(std::string_view text) {
  M message;
  const auto result = json::decode(text, message);
  INFO("error: " << (result ? std::string("none") : result.error().what()));
  REQUIRE(result.has_value());
  return message;
}

}  // namespace

TEST_CASE("mesos: the SUBSCRIBE call of the wire examples", "[json][mesos]") {
  const std::string text =
      R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"etl","name":"etl-runner",)"
      R"("failover_timeout":604800,"checkpoint":true,"roles":["etl"],)"
      R"("capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}]}}})";
  const Call call = decode_ok<Call>(text);
  CHECK(call.type() == Call::SUBSCRIBE);
  const auto& info = call.subscribe().framework_info();
  CHECK(info.user() == "etl");
  CHECK(info.name() == "etl-runner");
  CHECK(info.failover_timeout() == 604800.0);
  CHECK(info.checkpoint());
  REQUIRE(info.roles_size() == 1);
  CHECK(info.roles(0) == "etl");
  REQUIRE(info.capabilities_size() == 2);
  CHECK(info.capabilities(0).type() == mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  CHECK(info.capabilities(1).type() == mesos::v1::FrameworkInfo::Capability::PARTITION_AWARE);
  // (through reflection: the generated accessor of a deprecated field warns)
  CHECK_FALSE(info.GetReflection()->HasField(
      info, mesos::v1::FrameworkInfo::descriptor()->FindFieldByName("role")));

  // Written back as a master would: the double as 604800.0, the deprecated `role` default not
  // invented, everything else in declaration order.
  CHECK(json::encode(call) ==
        R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"etl","name":"etl-runner",)"
        R"("failover_timeout":604800.0,"checkpoint":true,"roles":["etl"],)"
        R"("capabilities":[{"type":"MULTI_ROLE"},{"type":"PARTITION_AWARE"}]}}})");

  // A resubscribe names the framework at the top and inside framework_info.
  const Call again = decode_ok<Call>(
      R"({"framework_id":{"value":"f-1"},"type":"SUBSCRIBE","subscribe":{"framework_info":)"
      R"({"user":"etl","name":"etl-runner","id":{"value":"f-1"}}}})");
  CHECK(again.framework_id().value() == "f-1");
  CHECK(again.subscribe().framework_info().id().value() == "f-1");

  // camelCase (protobuf's default JSON names) is not what the master reads: the required
  // framework_info is then missing, as the master would answer with a 400.
  Call camel;
  const auto result = json::decode(
      R"({"type":"SUBSCRIBE","subscribe":{"frameworkInfo":{"user":"u","name":"n"}}})", camel);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == errc::missing_required);
  CHECK(result.error().message.find("subscribe.framework_info") != std::string::npos);
}

TEST_CASE("mesos: an ACKNOWLEDGE carries the uuid bytes as base64", "[json][mesos]") {
  const std::string text =
      R"({"framework_id":{"value":"f-1"},"type":"ACKNOWLEDGE","acknowledge":)"
      R"({"agent_id":{"value":"a-1"},"task_id":{"value":"t-1"},"uuid":"0bEviYZ5jgtdB1IkO96zXQ=="}})";
  const Call call = decode_ok<Call>(text);
  CHECK(call.type() == Call::ACKNOWLEDGE);
  const std::string expected_uuid =
      "\xD1\xB1\x2F\x89\x86\x79\x8E\x0B\x5D\x07\x52\x24\x3B\xDE\xB3\x5D";
  CHECK(call.acknowledge().uuid() == expected_uuid);
  CHECK(json::encode(call) == text);  // "exactly as received"

  // Unpadded base64 reads the same; bad base64 is an error naming the field.
  std::string unpadded = text;
  unpadded.replace(unpadded.find("XQ=="), 4, "XQ");
  CHECK(decode_ok<Call>(unpadded).acknowledge().uuid() == expected_uuid);
  std::string bad = text;
  bad.replace(bad.find("XQ=="), 4, "X*==");
  Call call_bad;
  const auto result = json::decode(bad, call_bad);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == errc::json_bad_base64);
  CHECK(result.error().message.find("'acknowledge.uuid'") != std::string::npos);
}

TEST_CASE("mesos: an OFFERS event with ranges, allocation_info and 64-bit times", "[json][mesos]") {
  const std::string text =
      R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o-1"},)"
      R"("framework_id":{"value":"f-1"},"agent_id":{"value":"a-1"},"hostname":"h1",)"
      R"("resources":[)"
      R"({"name":"cpus","type":"SCALAR","scalar":{"value":9.9},"allocation_info":{"role":"r"}},)"
      R"({"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":31099},)"
      R"({"begin":31200,"end":18446744073709551615}]},"allocation_info":{"role":"r"}}],)"
      R"("unavailability":{"start":{"nanoseconds":1707637746202787001},)"
      R"("duration":{"nanoseconds":9223372036854775807}},"allocation_info":{"role":"r"}}]}})";
  const Event event = decode_ok<Event>(text);
  CHECK(event.type() == Event::OFFERS);
  REQUIRE(event.offers().offers_size() == 1);
  const auto& offer = event.offers().offers(0);
  CHECK(offer.hostname() == "h1");
  CHECK(offer.allocation_info().role() == "r");
  REQUIRE(offer.resources_size() == 2);
  CHECK(offer.resources(0).scalar().value() == 9.9);
  CHECK(offer.resources(0).allocation_info().role() == "r");
  const auto& ports = offer.resources(1);
  CHECK(ports.type() == mesos::v1::Value::RANGES);
  REQUIRE(ports.ranges().range_size() == 2);
  CHECK(ports.ranges().range(0).begin() == 31000u);
  CHECK(ports.ranges().range(1).end() == std::numeric_limits<uint64_t>::max());
  CHECK(offer.unavailability().start().nanoseconds() == 1707637746202787001LL);
  CHECK(offer.unavailability().duration().nanoseconds() == std::numeric_limits<int64_t>::max());

  CHECK(json::encode(event) == text);
}

TEST_CASE("mesos: newer masters' fields and enum values do not break decoding", "[json][mesos]") {
  const Event event = decode_ok<Event>(
      R"({"type":"SOME_NEW_EVENT","future":{"x":[1,{"y":null}]},"heartbeat_hint":5})");
  CHECK_FALSE(event.has_type());

  const Event offers = decode_ok<Event>(
      R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},)"
      R"("agent_id":{"value":"a"},"hostname":"h","new_thing":{"nested":[[1]]},)"
      R"("resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"new_flag":true,)"
      R"("reservations":[{"type":"NEW_KIND","role":"r"}]}]}]}})");
  CHECK(offers.offers().offers(0).resources(0).reservations(0).role() == "r");
  CHECK_FALSE(offers.offers().offers(0).resources(0).reservations(0).has_type());

  // An unknown name in a *required* enum is dropped too, and then reported as missing.
  Event bad;
  const auto result = json::decode(
      R"({"type":"OFFERS","offers":{"offers":[{"id":{"value":"o"},"framework_id":{"value":"f"},)"
      R"("agent_id":{"value":"a"},"hostname":"h",)"
      R"("resources":[{"name":"x","type":"NEW_VALUE_TYPE"}]}]}})",
      bad);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == errc::missing_required);
  CHECK(result.error().message.find("offers.offers[0].resources[0].type") != std::string::npos);
}

TEST_CASE("mesos: TaskInfo.limits is a map of Value.Scalar objects, Infinity allowed",
          "[json][mesos]") {
  const std::string text =
      R"({"framework_id":{"value":"f"},"type":"ACCEPT","accept":{"offer_ids":[{"value":"o"}],)"
      R"("operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t",)"
      R"("task_id":{"value":"t-1"},"agent_id":{"value":"a"},)"
      R"("limits":{"cpus":{"value":"Infinity"},"mem":{"value":2048}}}]}}]}})";
  const Call call = decode_ok<Call>(text);
  const auto& task = call.accept().operations(0).launch().task_infos(0);
  REQUIRE(task.limits().size() == 2);
  CHECK(std::isinf(task.limits().at("cpus").value()));
  CHECK(task.limits().at("mem").value() == 2048.0);

  // The master writes the bare token back (not valid JSON; our decoder takes it).
  const std::string encoded = json::encode(call);
  CHECK_THAT(encoded, Catch::Contains(R"("cpus":{"value":Infinity})"));
  CHECK_THAT(encoded, Catch::Contains(R"("mem":{"value":2048.0})"));
  CHECK(std::isinf(decode_ok<Call>(encoded)
                       .accept()
                       .operations(0)
                       .launch()
                       .task_infos(0)
                       .limits()
                       .at("cpus")
                       .value()));

  // The bare-value shape of the scheduler-http-api.md example is rejected, as by the master.
  std::string bare = text;
  bare.replace(bare.find(R"({"value":"Infinity"})"), 20, R"("Infinity")");
  Call call_bare;
  const auto result = json::decode(bare, call_bare);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == errc::json_type_mismatch);
  CHECK(result.error().message.find("accept.operations[0].launch.task_infos[0].limits[\"cpus\"]") !=
        std::string::npos);
}

TEST_CASE("mesos: DECLINE filters write their default refuse_seconds", "[json][mesos]") {
  Call call;
  call.mutable_framework_id()->set_value("f");
  call.set_type(Call::DECLINE);
  call.mutable_decline()->add_offer_ids()->set_value("o");
  call.mutable_decline()->mutable_filters();
  CHECK(json::encode(call) ==
        R"({"framework_id":{"value":"f"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o"}],)"
        R"("filters":{"refuse_seconds":5.0}}})");

  const Call decoded = decode_ok<Call>(
      R"({"framework_id":{"value":"f"},"type":"DECLINE","decline":{"offer_ids":[{"value":"o"}],)"
      R"("filters":{"refuse_seconds":3600}}})");
  CHECK(decoded.decline().filters().refuse_seconds() == 3600.0);
}

TEST_CASE("mesos: a HEARTBEAT and an UPDATE with a timestamp and data", "[json][mesos]") {
  CHECK(decode_ok<Event>(R"({"type":"HEARTBEAT"})").type() == Event::HEARTBEAT);
  const std::string text =
      R"({"type":"UPDATE","update":{"status":{"task_id":{"value":"t"},"state":"TASK_RUNNING",)"
      R"("source":"SOURCE_EXECUTOR","data":"eyJrIjoidiJ9","agent_id":{"value":"a"},)"
      R"("timestamp":1707637746.24229,"uuid":"EiO7TgL49ZF2IF8eqAB+6Q=="}}})";
  const Event event = decode_ok<Event>(text);
  const auto& status = event.update().status();
  CHECK(status.state() == mesos::v1::TASK_RUNNING);
  CHECK(status.timestamp() == 1707637746.24229);
  CHECK(status.data() == R"({"k":"v"})");
  CHECK(status.uuid().size() == 16);
  CHECK(json::encode(event) == text);
}
