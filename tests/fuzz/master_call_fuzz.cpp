// local-master's scheduler endpoint without sockets: a Call body in either content type (the
// first byte chooses) is decoded as the HTTP wiring does, then handled by a Master that has one
// subscribed framework with offers out. The call is sent as that framework's (its id and
// stream id), so that the fuzzer reaches past "Framework cannot be found".
#include <memory>

#include <mesos/v1/scheduler/scheduler.pb.h>

#include "fuzz_input.hpp"
#include "heatblast/codec.hpp"
#include "heatblast/resources.hpp"
#include "local-master/master.hpp"
#include "local-master/simulated_runner.hpp"

namespace {

using namespace heatblast::local_master;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

class NullSink final : public SubscriberSink {
 public:
  void send(const Event&) override {}
  void close() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  heatblast::fuzz::Input input(data, size);
  const std::uint8_t selector = input.byte();
  const auto type =
      selector % 2 == 0 ? heatblast::ContentType::json : heatblast::ContentType::protobuf;
  Call call;
  if (!heatblast::MessageCodec(type).decode(input.rest(), call)) return 0;

  TimePoint now{std::chrono::hours(24 * 365 * 50)};
  SimulatedRunner runner;
  MasterOptions options;
  options.agents = {
      AgentSpec{"agent-host",
                *heatblast::parse_resources("cpus:4;mem:4096;disk:10000;ports:[31000-32000]"),
                {}}};
  options.seed = 42;
  Master master(std::move(options), runner);
  if (!master.start(now)) return 0;

  Call subscribe;
  subscribe.set_type(Call::SUBSCRIBE);
  auto* info = subscribe.mutable_subscribe()->mutable_framework_info();
  info->set_user("fuzz");
  info->set_name("fuzz");
  info->set_failover_timeout(60);
  auto answer = master.handle_subscribe(subscribe, std::make_unique<NullSink>(), std::nullopt, now);
  if (!answer.stream_id) return 0;
  master.advance(now);  // an offer round: offers are out

  if (call.type() == Call::SUBSCRIBE) {
    // A resubscribe (or a new framework) through the same entry point as the wiring's.
    master.handle_subscribe(
        call, std::make_unique<NullSink>(),
        (selector & 2) ? std::optional<std::string_view>(*answer.stream_id) : std::nullopt, now);
  } else {
    // The master names frameworks deterministically (seed 42): the first one's id is what a
    // SUBSCRIBED carried; take it from the snapshot.
    const auto snapshot = master.snapshot();
    if (!snapshot.frameworks.empty() && !(selector & 4)) {
      call.mutable_framework_id()->set_value(snapshot.frameworks[0].id);
    }
    // Placeholders a corpus file uses for the ids the master made up: "@offer", "@agent".
    auto fill = [&](std::string* value) {
      if (*value == "@offer" && !snapshot.offers.empty()) *value = snapshot.offers[0].id;
      if (*value == "@agent" && !snapshot.agents.empty()) *value = snapshot.agents[0].id;
    };
    if (call.has_accept()) {
      for (auto& id : *call.mutable_accept()->mutable_offer_ids())
        fill(id.mutable_value());
      for (auto& operation : *call.mutable_accept()->mutable_operations()) {
        if (operation.has_launch()) {
          for (auto& task : *operation.mutable_launch()->mutable_task_infos())
            if (task.has_agent_id()) fill(task.mutable_agent_id()->mutable_value());
        }
        if (operation.has_launch_group() && operation.launch_group().has_task_group()) {
          for (auto& task :
               *operation.mutable_launch_group()->mutable_task_group()->mutable_tasks())
            if (task.has_agent_id()) fill(task.mutable_agent_id()->mutable_value());
        }
      }
    }
    if (call.has_decline()) {
      for (auto& id : *call.mutable_decline()->mutable_offer_ids())
        fill(id.mutable_value());
    }
    if (call.has_kill() && call.kill().has_agent_id())
      fill(call.mutable_kill()->mutable_agent_id()->mutable_value());
    if (call.has_acknowledge() && call.acknowledge().has_agent_id())
      fill(call.mutable_acknowledge()->mutable_agent_id()->mutable_value());
    master.handle_call(call, std::string_view(*answer.stream_id), now);
  }
  // Let whatever the call started run: launches, kills, timers.
  for (int step = 0; step < 3; ++step) {
    now += std::chrono::seconds(2);
    master.advance(now);
  }
  return 0;
}
