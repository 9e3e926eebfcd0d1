// The Master state machine, driven through its entry points with an injected clock and the
// SimulatedRunner: every status code and event sequence a framework sees.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "heatblast/resources.hpp"
#include "master.hpp"
#include "mesos_json.hpp"
#include "simulated_runner.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace heatblast::local_master;
using heatblast::parse_resources;
using heatblast::Resources;
using heatblast::testing::TempDir;
using mesos::v1::TaskState;
using mesos::v1::TaskStatus;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;
using Capability = mesos::v1::FrameworkInfo::Capability;
using std::chrono::seconds;

constexpr const char* kAgentResources = "cpus:4;mem:4096;disk:10000;ports:[31000-32000]";

// Everything a subscriber received, shared between the test and the sink the Master owns.
struct Stream {
  std::vector<Event> events;
  bool closed = false;
  std::size_t seen = 0;  // events already looked at by `fresh()`

  std::vector<Event> fresh() {
    std::vector<Event> out(events.begin() + static_cast<std::ptrdiff_t>(seen), events.end());
    seen = events.size();
    return out;
  }
  std::size_t count(Event::Type type) const {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [type](const Event& e) { return e.type() == type; }));
  }
};

class RecordingSink final : public SubscriberSink {
 public:
  explicit RecordingSink(std::shared_ptr<Stream> stream) : stream_(std::move(stream)) {}
  void send(const Event& event) override {
    REQUIRE_FALSE(stream_->closed);
    stream_->events.push_back(event);
  }
  void close() override { stream_->closed = true; }

 private:
  std::shared_ptr<Stream> stream_;
};

Resources resources(const char* text) {
  auto parsed = parse_resources(text);
  REQUIRE(parsed);
  return *parsed;
}

mesos::v1::FrameworkInfo framework_info(const std::string& name, double failover_timeout = 60) {
  mesos::v1::FrameworkInfo info;
  info.set_user("tester");
  info.set_name(name);
  info.set_failover_timeout(failover_timeout);
  return info;
}

void add_capability(mesos::v1::FrameworkInfo& info, Capability::Type type) {
  info.add_capabilities()->set_type(type);
}

mesos::v1::TaskInfo command_task(const std::string& id, const mesos::v1::AgentID& agent,
                                 const char* resource_text = "cpus:1;mem:128",
                                 std::vector<std::pair<std::string, std::string>> labels = {}) {
  mesos::v1::TaskInfo task;
  task.set_name("task " + id);
  task.mutable_task_id()->set_value(id);
  *task.mutable_agent_id() = agent;
  *task.mutable_resources() = resources(resource_text).to_proto();
  task.mutable_command()->set_value("true");
  for (auto& [key, value] : labels) {
    auto* label = task.mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  return task;
}

struct Subscription {
  HttpAnswer answer;
  std::shared_ptr<Stream> stream;
  std::string framework_id;
  std::string stream_id;
};

struct Harness {
  TimePoint now = TimePoint(std::chrono::hours(24 * 365 * 50));
  SimulatedRunner runner;
  std::unique_ptr<Master> master;
  std::vector<std::string> log;

  explicit Harness(MasterOptions options = default_options(), SimulatedRunnerOptions sim = {})
      : runner(sim) {
    options.log = [this](std::string_view line) { log.emplace_back(line); };
    master = std::make_unique<Master>(std::move(options), runner);
    REQUIRE(master->start(now));
  }

  static MasterOptions default_options() {
    MasterOptions options;
    options.agents = {AgentSpec{"agent-host", resources(kAgentResources), {}}};
    options.seed = 42;
    return options;
  }

  void tick(Duration step) {
    now += step;
    master->advance(now);
  }

  Subscription subscribe(const mesos::v1::FrameworkInfo& info,
                         std::vector<std::string> suppressed = {}) {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    *call.mutable_subscribe()->mutable_framework_info() = info;
    if (info.has_id()) *call.mutable_framework_id() = info.id();
    for (auto& role : suppressed)
      call.mutable_subscribe()->add_suppressed_roles(role);
    Subscription sub;
    sub.stream = std::make_shared<Stream>();
    sub.answer = master->handle_subscribe(call, std::make_unique<RecordingSink>(sub.stream),
                                          std::nullopt, now);
    if (sub.answer.stream_id) sub.stream_id = *sub.answer.stream_id;
    if (!sub.stream->events.empty() && sub.stream->events[0].type() == Event::SUBSCRIBED) {
      sub.framework_id = sub.stream->events[0].subscribed().framework_id().value();
    }
    return sub;
  }

  HttpAnswer call(const Subscription& sub, Call call) {
    call.mutable_framework_id()->set_value(sub.framework_id);
    return master->handle_call(call, std::string_view(sub.stream_id), now);
  }

  // Runs an offer round and returns the offers the subscriber got in it.
  std::vector<mesos::v1::Offer> offers(Subscription& sub) {
    tick(Duration::zero());
    std::vector<mesos::v1::Offer> result;
    for (const auto& event : sub.stream->fresh()) {
      if (event.type() != Event::OFFERS) continue;
      for (const auto& offer : event.offers().offers())
        result.push_back(offer);
    }
    return result;
  }

  HttpAnswer accept(const Subscription& sub, const mesos::v1::Offer& offer,
                    const std::vector<mesos::v1::TaskInfo>& tasks,
                    std::optional<double> refuse_seconds = std::nullopt) {
    Call call;
    call.set_type(Call::ACCEPT);
    *call.mutable_accept()->add_offer_ids() = offer.id();
    auto* operation = call.mutable_accept()->add_operations();
    operation->set_type(mesos::v1::Offer::Operation::LAUNCH);
    for (const auto& task : tasks)
      *operation->mutable_launch()->add_task_infos() = task;
    if (refuse_seconds)
      call.mutable_accept()->mutable_filters()->set_refuse_seconds(*refuse_seconds);
    return this->call(sub, call);
  }

  HttpAnswer decline(const Subscription& sub, const mesos::v1::Offer& offer,
                     double refuse_seconds) {
    Call call;
    call.set_type(Call::DECLINE);
    *call.mutable_decline()->add_offer_ids() = offer.id();
    call.mutable_decline()->mutable_filters()->set_refuse_seconds(refuse_seconds);
    return this->call(sub, call);
  }

  HttpAnswer ack(const Subscription& sub, const TaskStatus& status) {
    Call call;
    call.set_type(Call::ACKNOWLEDGE);
    *call.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
    *call.mutable_acknowledge()->mutable_task_id() = status.task_id();
    call.mutable_acknowledge()->set_uuid(status.uuid());
    return this->call(sub, call);
  }

  HttpAnswer simple(const Subscription& sub, Call::Type type) {
    Call call;
    call.set_type(type);
    return this->call(sub, call);
  }
};

std::vector<TaskStatus> updates(const std::vector<Event>& events) {
  std::vector<TaskStatus> result;
  for (const auto& event : events) {
    if (event.type() == Event::UPDATE) result.push_back(event.update().status());
  }
  return result;
}

std::vector<TaskState> states(const std::vector<TaskStatus>& statuses) {
  std::vector<TaskState> result;
  for (const auto& status : statuses)
    result.push_back(status.state());
  return result;
}

// Acknowledges every update with a uuid among `events`, and returns all updates.
std::vector<TaskStatus> ack_all(Harness& h, const Subscription& sub,
                                const std::vector<Event>& events) {
  auto statuses = updates(events);
  for (const auto& status : statuses) {
    if (status.has_uuid()) REQUIRE(h.ack(sub, status).status == 202);
  }
  return statuses;
}

// Acknowledges updates as they come until `state` has been seen (at most `steps` ticks).
std::vector<TaskStatus> run_until(Harness& h, Subscription& sub, TaskState state,
                                  Duration step = seconds(1), int steps = 100) {
  std::vector<TaskStatus> seen;
  for (int i = 0; i < steps; ++i) {
    auto fresh = sub.stream->fresh();
    for (auto& status : ack_all(h, sub, fresh))
      seen.push_back(status);
    // Acks may trigger the next update at once.
    for (auto& status : ack_all(h, sub, sub.stream->fresh()))
      seen.push_back(status);
    if (std::any_of(seen.begin(), seen.end(),
                    [state](const TaskStatus& s) { return s.state() == state; })) {
      return seen;
    }
    h.tick(step);
  }
  FAIL("never saw " << mesos::v1::TaskState_Name(state));
  return seen;
}

const TaskSnapshot* find_task(const MasterSnapshot& snapshot, const std::string& task_id) {
  for (const auto& framework : snapshot.frameworks) {
    for (const auto& task : framework.tasks) {
      if (task.task_id == task_id) return &task;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("subscribe answers SUBSCRIBED, an immediate HEARTBEAT and one per interval") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  REQUIRE(sub.answer.status == 200);
  REQUIRE(sub.answer.streaming);
  REQUIRE(sub.answer.stream_id);
  CHECK(sub.answer.stream_id->size() == 36);
  REQUIRE(sub.stream->events.size() == 2);
  const auto& subscribed = sub.stream->events[0];
  REQUIRE(subscribed.type() == Event::SUBSCRIBED);
  CHECK(subscribed.subscribed().heartbeat_interval_seconds() == 15.0);
  CHECK(subscribed.subscribed().master_info().id() == h.master->master_info().id());
  CHECK(subscribed.subscribed().master_info().port() == 5050);
  CHECK_FALSE(sub.framework_id.empty());
  CHECK(sub.stream->events[1].type() == Event::HEARTBEAT);

  h.tick(seconds(14));
  CHECK(sub.stream->count(Event::HEARTBEAT) == 1);
  h.tick(seconds(1));
  CHECK(sub.stream->count(Event::HEARTBEAT) == 2);
  h.tick(seconds(15));
  CHECK(sub.stream->count(Event::HEARTBEAT) == 3);
  CHECK_FALSE(sub.stream->closed);
}

TEST_CASE("the heartbeat interval is configurable") {
  auto options = Harness::default_options();
  options.heartbeat_interval = seconds(2);
  Harness h(options);
  auto sub = h.subscribe(framework_info("fw"));
  CHECK(sub.stream->events[0].subscribed().heartbeat_interval_seconds() == 2.0);
  h.tick(seconds(2));
  h.tick(seconds(2));
  CHECK(sub.stream->count(Event::HEARTBEAT) == 3);
}

TEST_CASE("calls are refused before start, before subscribe and without the right stream id") {
  SimulatedRunner runner;
  auto options = Harness::default_options();
  Master idle(options, runner);
  Call call;
  call.set_type(Call::REVIVE);
  call.mutable_framework_id()->set_value("nope");
  CHECK(idle.handle_call(call, std::nullopt, TimePoint{}).status == 503);

  Harness h;
  SECTION("unknown framework: 400") {
    auto answer = h.master->handle_call(call, std::string_view("x"), h.now);
    CHECK(answer.status == 400);
    CHECK(answer.body == "Framework cannot be found");
  }
  SECTION("no framework_id: 400") {
    Call bare;
    bare.set_type(Call::REVIVE);
    auto answer = h.master->handle_call(bare, std::string_view("x"), h.now);
    CHECK(answer.status == 400);
    CHECK(answer.body == "Expecting 'framework_id' to be present");
  }
  SECTION("known but disconnected framework: 403") {
    auto sub = h.subscribe(framework_info("fw"));
    h.master->on_subscriber_closed(sub.stream_id, h.now);
    auto answer = h.simple(sub, Call::REVIVE);
    CHECK(answer.status == 403);
    CHECK(answer.body == "Framework is not subscribed");
  }
  SECTION("missing or wrong Mesos-Stream-Id: 400") {
    auto sub = h.subscribe(framework_info("fw"));
    Call revive;
    revive.set_type(Call::REVIVE);
    revive.mutable_framework_id()->set_value(sub.framework_id);
    auto missing = h.master->handle_call(revive, std::nullopt, h.now);
    CHECK(missing.status == 400);
    CHECK(missing.body == "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
    auto wrong = h.master->handle_call(revive, std::string_view("not-the-stream"), h.now);
    CHECK(wrong.status == 400);
    CHECK_THAT(wrong.body, Catch::Contains("didn't match the stream ID"));
    CHECK(h.master->handle_call(revive, std::string_view(sub.stream_id), h.now).status == 202);
  }
  SECTION("UNKNOWN: 501") {
    auto sub = h.subscribe(framework_info("fw"));
    CHECK(h.simple(sub, Call::UNKNOWN).status == 501);
  }
}

TEST_CASE("invalid SUBSCRIBE calls get 400, invalid frameworks a 200 with one ERROR") {
  Harness h;
  SECTION("framework_id without framework_info.id") {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    *call.mutable_subscribe()->mutable_framework_info() = framework_info("fw");
    call.mutable_framework_id()->set_value("some-id");
    auto stream = std::make_shared<Stream>();
    auto answer = h.master->handle_subscribe(call, std::make_unique<RecordingSink>(stream),
                                             std::nullopt, h.now);
    CHECK(answer.status == 400);
    CHECK(answer.body == "'framework_id' differs from 'subscribe.framework_info.id'");
    CHECK(stream->events.empty());
  }
  SECTION("missing required user") {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    call.mutable_subscribe()->mutable_framework_info()->set_name("fw");
    auto answer = h.master->handle_subscribe(
        call, std::make_unique<RecordingSink>(std::make_shared<Stream>()), std::nullopt, h.now);
    CHECK(answer.status == 400);
    CHECK_THAT(answer.body, Catch::StartsWith("Not initialized: ") && Catch::Contains("user"));
  }
  SECTION("a Mesos-Stream-Id header") {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    *call.mutable_subscribe()->mutable_framework_info() = framework_info("fw");
    auto answer = h.master->handle_subscribe(
        call, std::make_unique<RecordingSink>(std::make_shared<Stream>()), std::string_view("abc"),
        h.now);
    CHECK(answer.status == 400);
  }
  SECTION("roles without MULTI_ROLE: 200, ERROR, end of stream") {
    auto info = framework_info("fw");
    info.add_roles("web");
    auto sub = h.subscribe(info);
    CHECK(sub.answer.status == 200);
    CHECK(sub.answer.stream_id);
    REQUIRE(sub.stream->events.size() == 1);
    CHECK(sub.stream->events[0].type() == Event::ERROR);
    CHECK_THAT(sub.stream->events[0].error().message(), Catch::Contains("MULTI_ROLE"));
    CHECK(sub.stream->closed);
  }
  SECTION("suppressed role that is not a role of the framework") {
    auto sub = h.subscribe(framework_info("fw"), {"other"});
    REQUIRE(sub.stream->events.size() == 1);
    CHECK(sub.stream->events[0].type() == Event::ERROR);
    CHECK(sub.stream->closed);
  }
}

TEST_CASE("offers carry the agent's resources, one offer per agent") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  const auto& offer = offers[0];
  CHECK(offer.framework_id().value() == sub.framework_id);
  CHECK(offer.hostname() == "agent-host");
  CHECK_FALSE(offer.has_allocation_info());
  auto offered = heatblast::offer_resources(offer);
  REQUIRE(offered);
  CHECK(offered->scalar("cpus") == 4);
  CHECK(offered->scalar("mem") == 4096);
  CHECK(offered->scalar("disk") == 10000);
  REQUIRE(offered->ranges("ports").size() == 1);
  CHECK(offered->ranges("ports")[0] == heatblast::Range{31000, 32000});
  // Outstanding offers are not made twice.
  h.tick(seconds(5));
  CHECK(sub.stream->count(Event::OFFERS) == 1);
}

TEST_CASE("MULTI_ROLE frameworks get offers with allocation_info") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::MULTI_ROLE);
  info.add_roles("web");
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].allocation_info().role() == "web");
  for (const auto& resource : offers[0].resources()) {
    CHECK(resource.allocation_info().role() == "web");
  }
}

TEST_CASE("a launched task goes STARTING, RUNNING, FINISHED, each update is re-sent until acked") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  auto task = command_task("t1", offers[0].agent_id(), "cpus:1;mem:128", {{"sim.duration", "30"}});
  REQUIRE(h.accept(sub, offers[0], {task}).status == 202);

  // STARTING is sent at once; RUNNING waits for its acknowledgement (one update at a time).
  auto first = updates(sub.stream->fresh());
  REQUIRE(first.size() == 1);
  const TaskStatus starting = first[0];
  CHECK(starting.state() == mesos::v1::TASK_STARTING);
  CHECK(starting.uuid().size() == 16);
  CHECK(starting.source() == TaskStatus::SOURCE_EXECUTOR);
  CHECK(starting.agent_id().value() == offers[0].agent_id().value());
  CHECK(starting.executor_id().value() == "t1");
  CHECK(starting.timestamp() > 0);
  h.tick(seconds(1));
  CHECK(updates(sub.stream->fresh()).empty());

  // Not acknowledged: re-sent after 10 s, then after 20 s more (backoff), same uuid.
  h.tick(seconds(9));
  auto resent = updates(sub.stream->fresh());
  REQUIRE(resent.size() == 1);
  CHECK(resent[0].uuid() == starting.uuid());
  h.tick(seconds(10));
  CHECK(updates(sub.stream->fresh()).empty());
  h.tick(seconds(10));
  CHECK(updates(sub.stream->fresh()).size() == 1);

  // Acknowledged: RUNNING follows at once, with a new uuid.
  REQUIRE(h.ack(sub, starting).status == 202);
  auto next = updates(sub.stream->fresh());
  REQUIRE(next.size() == 1);
  CHECK(next[0].state() == mesos::v1::TASK_RUNNING);
  CHECK(next[0].uuid().size() == 16);
  CHECK(next[0].uuid() != starting.uuid());
  REQUIRE(h.ack(sub, next[0]).status == 202);

  // The task ends 30 s after it started running.
  auto rest = run_until(h, sub, mesos::v1::TASK_FINISHED);
  CHECK(rest.back().state() == mesos::v1::TASK_FINISHED);
  CHECK(rest.back().message() == "Command exited with status 0");
  // Acknowledged terminal update: nothing is re-sent and the task is forgotten.
  h.tick(seconds(60));
  CHECK(updates(sub.stream->fresh()).empty());
  CHECK(find_task(h.master->snapshot(), "t1") == nullptr);
}

TEST_CASE("an ACKNOWLEDGE with a uuid that is not 16 bytes gets 400") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  Call call;
  call.set_type(Call::ACKNOWLEDGE);
  call.mutable_acknowledge()->mutable_agent_id()->set_value("a");
  call.mutable_acknowledge()->mutable_task_id()->set_value("t");
  call.mutable_acknowledge()->set_uuid("0123456789abcdef0123456789abcdef");
  auto answer = h.call(sub, call);
  CHECK(answer.status == 400);
  CHECK(answer.body == "Not a valid UUID");
}

TEST_CASE("resources of a running task are not offered again until it ends") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  auto task = command_task("t1", offers[0].agent_id(), "cpus:3;mem:1024;ports:[31000-31000]",
                           {{"sim.duration", "20"}});
  REQUIRE(h.accept(sub, offers[0], {task}, 0).status == 202);
  ack_all(h, sub, sub.stream->events);

  auto rest = h.offers(sub);
  REQUIRE(rest.size() == 1);
  auto offered = heatblast::offer_resources(rest[0]);
  CHECK(offered->scalar("cpus") == 1);
  CHECK(offered->scalar("mem") == 3072);
  CHECK(offered->ranges("ports")[0] == heatblast::Range{31001, 32000});
  REQUIRE(h.decline(sub, rest[0], 0).status == 202);

  run_until(h, sub, mesos::v1::TASK_FINISHED);
  // Freed when the task ended (not when the update was acknowledged).
  h.tick(Duration::zero());
  bool full = false;
  for (const auto& event : sub.stream->events) {
    if (event.type() != Event::OFFERS) continue;
    auto again = heatblast::offer_resources(event.offers().offers(0));
    if (again->scalar("cpus") == 4) full = true;
  }
  CHECK(full);
}

TEST_CASE("DECLINE filters are honoured and cleared by REVIVE") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.decline(sub, offers[0], 60).status == 202);
  h.tick(seconds(30));
  CHECK(h.offers(sub).empty());
  h.tick(seconds(31));
  REQUIRE(h.offers(sub).size() == 1);

  auto again = h.master->snapshot().offers;
  REQUIRE(again.size() == 1);
  // Decline again with a long filter, then REVIVE: offered at once.
  Call decline;
  decline.set_type(Call::DECLINE);
  decline.mutable_decline()->add_offer_ids()->set_value(again[0].id);
  decline.mutable_decline()->mutable_filters()->set_refuse_seconds(3600);
  REQUIRE(h.call(sub, decline).status == 202);
  h.tick(seconds(5));
  CHECK(h.offers(sub).empty());
  REQUIRE(h.simple(sub, Call::REVIVE).status == 202);
  CHECK(h.offers(sub).size() == 1);
}

TEST_CASE("the default decline filter is 5 seconds") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  Call decline;
  decline.set_type(Call::DECLINE);
  *decline.mutable_decline()->add_offer_ids() = offers[0].id();
  REQUIRE(h.call(sub, decline).status == 202);
  h.tick(seconds(4));
  CHECK(h.offers(sub).empty());
  h.tick(seconds(1));
  CHECK(h.offers(sub).size() == 1);
}

TEST_CASE("suppressed roles from SUBSCRIBE get no offers until REVIVE, SUPPRESS stops them") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"), {"*"});
  h.tick(seconds(10));
  CHECK(sub.stream->count(Event::OFFERS) == 0);
  REQUIRE(h.simple(sub, Call::REVIVE).status == 202);
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  REQUIRE(h.simple(sub, Call::SUPPRESS).status == 202);
  REQUIRE(h.decline(sub, offers[0], 0).status == 202);
  h.tick(seconds(10));
  CHECK(sub.stream->count(Event::OFFERS) == 1);
  CHECK(h.master->snapshot().frameworks[0].suppressed_roles == std::vector<std::string>{"*"});
}

TEST_CASE("KILL: SIGTERM, TASK_KILLED, SIGKILL after the grace period, TASK_KILLING when capable") {
  auto run = [](Harness& h, Subscription& sub, const mesos::v1::TaskInfo& task) {
    auto offers = h.offers(sub);
    REQUIRE(h.accept(sub, offers[0], {task}).status == 202);
    run_until(h, sub, mesos::v1::TASK_RUNNING);
  };
  Harness h;
  SECTION("a task that honours SIGTERM") {
    auto sub = h.subscribe(framework_info("fw"));
    auto agent = h.master->snapshot().agents[0].id;
    mesos::v1::AgentID agent_id;
    agent_id.set_value(agent);
    run(h, sub, command_task("t1", agent_id, "cpus:1;mem:64", {{"sim.duration", "inf"}}));
    Call kill;
    kill.set_type(Call::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value("t1");
    REQUIRE(h.call(sub, kill).status == 202);
    auto seen = run_until(h, sub, mesos::v1::TASK_KILLED);
    CHECK(seen.back().message() == "Command terminated with signal Terminated");
    const auto container = find_task(h.master->snapshot(), "t1");
    CHECK(container == nullptr);  // acked terminal update: forgotten
  }
  SECTION("a task that ignores SIGTERM, from a TASK_KILLING_STATE framework") {
    auto info = framework_info("fw");
    add_capability(info, Capability::TASK_KILLING_STATE);
    auto sub = h.subscribe(info);
    mesos::v1::AgentID agent_id;
    agent_id.set_value(h.master->snapshot().agents[0].id);
    auto task = command_task("t1", agent_id, "cpus:1;mem:64",
                             {{"sim.duration", "inf"}, {"sim.ignore_sigterm", "true"}});
    task.mutable_kill_policy()->mutable_grace_period()->set_nanoseconds(5'000'000'000);
    run(h, sub, task);
    const std::string container = find_task(h.master->snapshot(), "t1")->container_id;
    Call kill;
    kill.set_type(Call::KILL);
    kill.mutable_kill()->mutable_task_id()->set_value("t1");
    REQUIRE(h.call(sub, kill).status == 202);
    auto killing = updates(sub.stream->fresh());
    REQUIRE(killing.size() == 1);
    CHECK(killing[0].state() == mesos::v1::TASK_KILLING);
    REQUIRE(h.ack(sub, killing[0]).status == 202);
    h.tick(seconds(4));
    CHECK(h.runner.signals_of(container) == std::vector<TaskSignal>{TaskSignal::terminate});
    CHECK(updates(sub.stream->fresh()).empty());
    h.tick(seconds(1));
    CHECK(h.runner.signals_of(container) ==
          std::vector<TaskSignal>{TaskSignal::terminate, TaskSignal::kill});
    h.tick(Duration::zero());
    auto killed = updates(sub.stream->fresh());
    REQUIRE(killed.size() == 1);
    CHECK(killed[0].state() == mesos::v1::TASK_KILLED);
    CHECK(killed[0].message() == "Command terminated with signal Killed");
  }
}

TEST_CASE("KILL of an unknown task is answered like an explicit reconciliation") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  Call kill;
  kill.set_type(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("ghost");
  REQUIRE(h.call(sub, kill).status == 202);
  auto answers = updates(sub.stream->fresh());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == mesos::v1::TASK_LOST);
  CHECK(answers[0].reason() == TaskStatus::REASON_RECONCILIATION);
  CHECK_FALSE(answers[0].has_uuid());
}

TEST_CASE("reconciliation answers carry the latest state, REASON_RECONCILIATION and no uuid") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::PARTITION_AWARE);
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  const auto agent_id = offers[0].agent_id();
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("a", agent_id, "cpus:1;mem:64", {{"sim.duration", "inf"}}),
                    command_task("b", agent_id, "cpus:1;mem:64", {{"sim.duration", "inf"}})})
              .status == 202);
  run_until(h, sub, mesos::v1::TASK_RUNNING);
  ack_all(h, sub, sub.stream->fresh());
  h.tick(seconds(1));
  ack_all(h, sub, sub.stream->fresh());

  SECTION("implicit: every task of the framework") {
    Call call;
    call.set_type(Call::RECONCILE);
    call.mutable_reconcile();
    REQUIRE(h.call(sub, call).status == 202);
    auto answers = updates(sub.stream->fresh());
    REQUIRE(answers.size() == 2);
    for (const auto& status : answers) {
      CHECK(status.state() == mesos::v1::TASK_RUNNING);
      CHECK(status.source() == TaskStatus::SOURCE_MASTER);
      CHECK(status.reason() == TaskStatus::REASON_RECONCILIATION);
      CHECK_FALSE(status.has_uuid());
      CHECK(status.agent_id().value() == agent_id.value());
    }
  }
  SECTION("explicit: listed tasks, unknown ones GONE / UNKNOWN when partition-aware") {
    Call call;
    call.set_type(Call::RECONCILE);
    auto* known = call.mutable_reconcile()->add_tasks();
    known->mutable_task_id()->set_value("a");
    auto* on_agent = call.mutable_reconcile()->add_tasks();
    on_agent->mutable_task_id()->set_value("x");
    *on_agent->mutable_agent_id() = agent_id;
    auto* nowhere = call.mutable_reconcile()->add_tasks();
    nowhere->mutable_task_id()->set_value("y");
    REQUIRE(h.call(sub, call).status == 202);
    auto answers = updates(sub.stream->fresh());
    REQUIRE(answers.size() == 3);
    CHECK(answers[0].task_id().value() == "a");
    CHECK(answers[0].state() == mesos::v1::TASK_RUNNING);
    CHECK(answers[1].state() == mesos::v1::TASK_GONE);
    CHECK(answers[2].state() == mesos::v1::TASK_UNKNOWN);
    for (const auto& status : answers)
      CHECK_FALSE(status.has_uuid());
  }
}

TEST_CASE("an ACCEPT with an invalid offer: TASK_LOST, or TASK_DROPPED when partition-aware") {
  Harness h;
  const bool aware = GENERATE(false, true);
  auto info = framework_info("fw");
  if (aware) add_capability(info, Capability::PARTITION_AWARE);
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  mesos::v1::Offer stale = offers[0];
  stale.mutable_id()->set_value("no-such-offer");
  REQUIRE(h.accept(sub, stale, {command_task("t1", offers[0].agent_id())}).status == 202);
  auto answers = updates(sub.stream->fresh());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == (aware ? mesos::v1::TASK_DROPPED : mesos::v1::TASK_LOST));
  CHECK(answers[0].reason() == TaskStatus::REASON_INVALID_OFFERS);
  CHECK(answers[0].source() == TaskStatus::SOURCE_MASTER);
  CHECK_FALSE(answers[0].has_uuid());
  CHECK_THAT(answers[0].message(), Catch::Contains("Offer no-such-offer is no longer valid"));
  // A used offer is no longer valid either.
  REQUIRE(h.accept(sub, offers[0], {}).status == 202);
  REQUIRE(h.accept(sub, offers[0], {command_task("t2", offers[0].agent_id())}).status == 202);
  auto second = updates(sub.stream->fresh());
  REQUIRE(second.size() == 1);
  CHECK(second[0].reason() == TaskStatus::REASON_INVALID_OFFERS);
}

TEST_CASE("invalid tasks get TASK_ERROR with REASON_TASK_INVALID") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  const auto agent_id = offers[0].agent_id();
  auto too_big = command_task("big", agent_id, "cpus:8;mem:64");
  auto duplicate = command_task("dup", agent_id, "cpus:1;mem:64");
  auto no_command = command_task("none", agent_id, "cpus:1;mem:64");
  no_command.clear_command();
  REQUIRE(h.accept(sub, offers[0], {too_big, duplicate, duplicate, no_command}).status == 202);
  std::map<std::string, std::vector<TaskStatus>> by_task;
  for (const auto& status : updates(sub.stream->fresh())) {
    by_task[status.task_id().value()].push_back(status);
  }
  REQUIRE(by_task["big"].size() == 1);
  CHECK(by_task["big"][0].state() == mesos::v1::TASK_ERROR);
  CHECK(by_task["big"][0].reason() == TaskStatus::REASON_TASK_INVALID);
  CHECK_THAT(by_task["big"][0].message(), Catch::Contains("more than available"));
  // The first "dup" launches (STARTING), the second is a duplicate.
  REQUIRE(by_task["dup"].size() == 2);
  CHECK(by_task["dup"][0].state() == mesos::v1::TASK_STARTING);
  CHECK(by_task["dup"][1].state() == mesos::v1::TASK_ERROR);
  CHECK(by_task["dup"][1].message() == "Task has duplicate ID: dup");
  REQUIRE(by_task["none"].size() == 1);
  CHECK(by_task["none"][0].state() == mesos::v1::TASK_ERROR);
}

TEST_CASE("a DOCKER task on an agent without docker fails with REASON_CONTAINER_LAUNCH_FAILED") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  auto task = command_task("d1", offers[0].agent_id());
  task.mutable_container()->set_type(mesos::v1::ContainerInfo::DOCKER);
  task.mutable_container()->mutable_docker()->set_image("alpine");
  REQUIRE(h.accept(sub, offers[0], {task}).status == 202);
  auto answers = updates(sub.stream->fresh());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == mesos::v1::TASK_FAILED);
  CHECK(answers[0].reason() == TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  CHECK_THAT(answers[0].message(), Catch::Contains("docker is not available"));
  CHECK(answers[0].has_uuid());
  REQUIRE(h.ack(sub, answers[0]).status == 202);
  CHECK(find_task(h.master->snapshot(), "d1") == nullptr);
  // Its resources were never held.
  CHECK(h.master->snapshot().agents[0].used.empty());
}

TEST_CASE("a task whose exit status is not 0 ends TASK_FAILED with the status in the message") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("f", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.duration", "1"}, {"sim.exit_code", "3"}})})
              .status == 202);
  auto seen = run_until(h, sub, mesos::v1::TASK_FAILED);
  CHECK(seen.back().message() == "Command exited with status 3");
  CHECK(states(seen) == std::vector<TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING,
                                               mesos::v1::TASK_FAILED});
}

TEST_CASE("a failed launch ends TASK_FAILED after TASK_STARTING") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("f", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.launch_failure", "no such binary"}})})
              .status == 202);
  auto seen = run_until(h, sub, mesos::v1::TASK_FAILED);
  CHECK(states(seen) == std::vector<TaskState>{mesos::v1::TASK_STARTING, mesos::v1::TASK_FAILED});
  CHECK(seen.back().reason() == TaskStatus::REASON_COMMAND_EXECUTOR_FAILED);
  CHECK_THAT(seen.back().message(), Catch::Contains("no such binary"));
}

TEST_CASE("LAUNCH_GROUP runs every task, one failing kills the rest of the group") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  const auto agent_id = offers[0].agent_id();
  Call call;
  call.set_type(Call::ACCEPT);
  *call.mutable_accept()->add_offer_ids() = offers[0].id();
  auto* operation = call.mutable_accept()->add_operations();
  operation->set_type(mesos::v1::Offer::Operation::LAUNCH_GROUP);
  auto* executor = operation->mutable_launch_group()->mutable_executor();
  executor->set_type(mesos::v1::ExecutorInfo::DEFAULT);
  executor->mutable_executor_id()->set_value("group-1");
  executor->mutable_framework_id()->set_value(sub.framework_id);
  *executor->mutable_resources() = resources("cpus:0.1;mem:32;disk:10").to_proto();
  auto* group = operation->mutable_launch_group()->mutable_task_group();
  *group->add_tasks() = command_task("g1", agent_id, "cpus:1;mem:64",
                                     {{"sim.duration", "2"}, {"sim.exit_code", "1"}});
  *group->add_tasks() = command_task("g2", agent_id, "cpus:1;mem:64", {{"sim.duration", "inf"}});
  REQUIRE(h.call(sub, call).status == 202);

  std::map<std::string, TaskState> last;
  for (int i = 0; i < 20; ++i) {
    for (const auto& status : ack_all(h, sub, sub.stream->fresh())) {
      last[status.task_id().value()] = status.state();
      CHECK(status.executor_id().value() == "group-1");
    }
    h.tick(seconds(1));
  }
  CHECK(last["g1"] == mesos::v1::TASK_FAILED);
  CHECK(last["g2"] == mesos::v1::TASK_KILLED);
  // Tasks and executor resources are all back.
  CHECK(h.master->snapshot().agents[0].used.empty());
}

TEST_CASE("LAUNCH_GROUP without ExecutorInfo.framework_id: every task TASK_ERROR") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  Call call;
  call.set_type(Call::ACCEPT);
  *call.mutable_accept()->add_offer_ids() = offers[0].id();
  auto* operation = call.mutable_accept()->add_operations();
  operation->set_type(mesos::v1::Offer::Operation::LAUNCH_GROUP);
  auto* executor = operation->mutable_launch_group()->mutable_executor();
  executor->set_type(mesos::v1::ExecutorInfo::DEFAULT);
  executor->mutable_executor_id()->set_value("group-1");
  *executor->mutable_resources() = resources("cpus:0.1;mem:32;disk:10").to_proto();
  *operation->mutable_launch_group()->mutable_task_group()->add_tasks() =
      command_task("g1", offers[0].agent_id());
  REQUIRE(h.call(sub, call).status == 202);
  auto answers = updates(sub.stream->fresh());
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].state() == mesos::v1::TASK_ERROR);
  CHECK(answers[0].reason() == TaskStatus::REASON_TASK_GROUP_INVALID);
  CHECK(answers[0].message() == "'ExecutorInfo.framework_id' must be set");
}

TEST_CASE("failover: a resubscribe keeps tasks, the old stream gets 'Framework failed over'") {
  Harness h;
  auto first = h.subscribe(framework_info("fw", 3600));
  auto offers = h.offers(first);
  REQUIRE(h.accept(first, offers[0],
                   {command_task("t1", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.duration", "inf"}})})
              .status == 202);
  run_until(h, first, mesos::v1::TASK_RUNNING);

  auto info = framework_info("fw renamed", 3600);
  info.mutable_id()->set_value(first.framework_id);
  auto second = h.subscribe(info);
  REQUIRE(second.answer.status == 200);
  CHECK(second.stream_id != first.stream_id);
  REQUIRE(first.stream->events.back().type() == Event::ERROR);
  CHECK(first.stream->events.back().error().message() == "Framework failed over");
  CHECK(first.stream->closed);
  REQUIRE(second.stream->events[0].type() == Event::SUBSCRIBED);
  CHECK(second.framework_id == first.framework_id);

  // The old stream id is refused; the task is still there.
  Call revive;
  revive.set_type(Call::REVIVE);
  CHECK(h.call(first, revive).status == 400);
  // The task points into the snapshot: it must outlive the checks (ASan found it dangling).
  const auto snapshot = h.master->snapshot();
  const auto* task = find_task(snapshot, "t1");
  REQUIRE(task != nullptr);
  CHECK(task->state == mesos::v1::TASK_RUNNING);
  CHECK(h.master->snapshot().frameworks[0].name == "fw renamed");
}

TEST_CASE("a disconnected framework keeps its tasks for failover_timeout, then is removed") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw", 30));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("t1", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.duration", "inf"}})})
              .status == 202);
  run_until(h, sub, mesos::v1::TASK_RUNNING);
  const std::string container = find_task(h.master->snapshot(), "t1")->container_id;

  h.master->on_subscriber_closed(sub.stream_id, h.now);
  CHECK_FALSE(h.master->snapshot().frameworks[0].connected);
  h.tick(seconds(29));
  REQUIRE(find_task(h.master->snapshot(), "t1") != nullptr);
  CHECK(h.runner.signals_of(container).empty());

  SECTION("resubscribing in time keeps everything") {
    auto info = framework_info("fw", 30);
    info.mutable_id()->set_value(sub.framework_id);
    auto again = h.subscribe(info);
    REQUIRE(again.stream->events[0].type() == Event::SUBSCRIBED);
    h.tick(seconds(60));
    CHECK(find_task(h.master->snapshot(), "t1") != nullptr);
  }
  SECTION("after the timeout: tasks killed, framework removed, resubscribe refused") {
    h.tick(seconds(1));
    CHECK(h.master->snapshot().frameworks.empty());
    CHECK(h.master->snapshot().removed_frameworks == std::vector<std::string>{sub.framework_id});
    CHECK(h.runner.signals_of(container) == std::vector<TaskSignal>{TaskSignal::terminate});
    CHECK(h.master->snapshot().agents[0].used.empty());

    auto info = framework_info("fw", 30);
    info.mutable_id()->set_value(sub.framework_id);
    auto refused = h.subscribe(info);
    CHECK(refused.answer.status == 200);
    REQUIRE(refused.stream->events.size() == 1);
    CHECK(refused.stream->events[0].type() == Event::ERROR);
    CHECK(refused.stream->events[0].error().message() == "Framework has been removed");
    CHECK(refused.stream->closed);

    Call revive;
    revive.set_type(Call::REVIVE);
    revive.mutable_framework_id()->set_value(sub.framework_id);
    CHECK(h.master->handle_call(revive, std::string_view(sub.stream_id), h.now).body ==
          "Framework cannot be found");
  }
}

TEST_CASE("TEARDOWN removes the framework at once and ends its stream") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw", 3600));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("t1", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.duration", "inf"}, {"sim.ignore_sigterm", "true"}})})
              .status == 202);
  run_until(h, sub, mesos::v1::TASK_RUNNING);
  const std::string container = find_task(h.master->snapshot(), "t1")->container_id;
  REQUIRE(h.simple(sub, Call::TEARDOWN).status == 202);
  CHECK(sub.stream->closed);
  CHECK(h.master->snapshot().frameworks.empty());
  // The task's process is still stopped with SIGTERM, then SIGKILL after the grace period.
  h.tick(seconds(3));
  CHECK(h.runner.signals_of(container) ==
        std::vector<TaskSignal>{TaskSignal::terminate, TaskSignal::kill});
  h.tick(seconds(1));
  CHECK(h.runner.live_tasks() == 0);
}

TEST_CASE("UPDATE_FRAMEWORK: 200 applies name and roles, changing the user gets 400") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::MULTI_ROLE);
  info.add_roles("a");
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);

  Call update;
  update.set_type(Call::UPDATE_FRAMEWORK);
  auto* updated = update.mutable_update_framework()->mutable_framework_info();
  *updated = info;
  updated->mutable_id()->set_value(sub.framework_id);
  updated->set_name("renamed");
  updated->clear_roles();
  updated->add_roles("b");
  auto answer = h.call(sub, update);
  CHECK(answer.status == 200);
  CHECK(answer.body.empty());
  // The offer of the removed role is rescinded; the next one is for "b".
  auto events = sub.stream->fresh();
  REQUIRE(std::any_of(events.begin(), events.end(),
                      [](const Event& e) { return e.type() == Event::RESCIND; }));
  auto next = h.offers(sub);
  REQUIRE(next.size() == 1);
  CHECK(next[0].allocation_info().role() == "b");
  CHECK(h.master->snapshot().frameworks[0].name == "renamed");

  updated->set_user("someone-else");
  auto refused = h.call(sub, update);
  CHECK(refused.status == 400);
  CHECK(refused.body == "Updating 'FrameworkInfo.user' is unsupported");
}

TEST_CASE("the other calls are accepted with 202") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  Call call;
  call.set_type(Call::REQUEST);
  call.mutable_request();
  CHECK(h.call(sub, call).status == 202);
  call.Clear();
  call.set_type(Call::DECLINE_INVERSE_OFFERS);
  call.mutable_decline_inverse_offers();
  CHECK(h.call(sub, call).status == 202);
  call.Clear();
  call.set_type(Call::SHUTDOWN);
  call.mutable_shutdown()->mutable_executor_id()->set_value("e");
  call.mutable_shutdown()->mutable_agent_id()->set_value("a");
  CHECK(h.call(sub, call).status == 202);
  call.Clear();
  call.set_type(Call::RECONCILE_OPERATIONS);
  call.mutable_reconcile_operations()->add_operations()->mutable_operation_id()->set_value("op");
  CHECK(h.call(sub, call).status == 202);
  auto events = sub.stream->fresh();
  REQUIRE_FALSE(events.empty());
  CHECK(events.back().type() == Event::UPDATE_OPERATION_STATUS);
  CHECK(events.back().update_operation_status().status().state() == mesos::v1::OPERATION_UNKNOWN);
  call.Clear();
  call.set_type(Call::MESSAGE);
  call.mutable_message()->mutable_agent_id()->set_value("a");
  call.mutable_message()->mutable_executor_id()->set_value("e");
  call.mutable_message()->set_data("hi");
  CHECK(h.call(sub, call).status == 202);
}

TEST_CASE("offers are spread across simulated agents and frameworks") {
  auto options = Harness::default_options();
  options.agents = simulated_agents(500, resources("cpus:2;mem:1024"));
  Harness h(options);
  auto one = h.subscribe(framework_info("one"));
  auto two = h.subscribe(framework_info("two"));
  h.tick(Duration::zero());
  std::size_t first = 0;
  std::size_t second = 0;
  for (const auto& event : one.stream->events) {
    if (event.type() == Event::OFFERS)
      first += static_cast<std::size_t>(event.offers().offers_size());
  }
  for (const auto& event : two.stream->events) {
    if (event.type() == Event::OFFERS)
      second += static_cast<std::size_t>(event.offers().offers_size());
  }
  CHECK(first + second == 500);
  CHECK(first == 250);
  CHECK(second == 250);
}

TEST_CASE("offer_timeout rescinds offers that were not answered") {
  auto options = Harness::default_options();
  options.offer_timeout = seconds(30);
  Harness h(options);
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  h.tick(seconds(30));
  auto events = sub.stream->fresh();
  auto rescind = std::find_if(events.begin(), events.end(),
                              [](const Event& e) { return e.type() == Event::RESCIND; });
  REQUIRE(rescind != events.end());
  CHECK(rescind->rescind().offer_id().value() == offers[0].id().value());
}

TEST_CASE("state_json describes frameworks, tasks, agents and offers") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw \"quoted\""));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0],
                   {command_task("t1", offers[0].agent_id(), "cpus:1;mem:64",
                                 {{"sim.duration", "inf"}})})
              .status == 202);
  h.tick(seconds(1));
  const std::string json = h.master->state_json();
  CHECK_THAT(json, Catch::Contains("\"name\":\"fw \\\"quoted\\\"\""));
  CHECK_THAT(json, Catch::Contains("\"id\":\"t1\""));
  // The master's state of a task is its latest, even while earlier updates wait for acks.
  CHECK_THAT(json, Catch::Contains("\"state\":\"TASK_RUNNING\""));
  CHECK_THAT(json, Catch::Contains("\"unacknowledged_updates\":2"));
  CHECK_THAT(json, Catch::Contains("\"ports\":\"[31000-32000]\""));
  CHECK_THAT(json, Catch::Contains("\"slaves\":[{"));
}

TEST_CASE("checkpoint: a new master on the same work dir recovers frameworks and tasks") {
  const TempDir temp("local-master-recover");
  const std::string work_dir = temp.str();
  auto options = Harness::default_options();
  options.work_dir = work_dir;
  std::string framework_id;
  std::string agent_id;
  {
    Harness h(options);
    auto info = framework_info("durable", 600);
    info.set_checkpoint(true);
    auto sub = h.subscribe(info, {"*"});
    framework_id = sub.framework_id;
    REQUIRE(h.simple(sub, Call::REVIVE).status == 202);
    auto offers = h.offers(sub);
    agent_id = offers[0].agent_id().value();
    REQUIRE(
        h.accept(
             sub, offers[0],
             {command_task("t1", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "inf"}}),
              command_task("t2", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "1"}})})
            .status == 202);
    // t2 finishes; its terminal update stays unacknowledged.
    for (int i = 0; i < 5; ++i) {
      for (const auto& status : updates(sub.stream->fresh())) {
        if (status.state() != mesos::v1::TASK_FINISHED) REQUIRE(h.ack(sub, status).status == 202);
      }
      h.tick(seconds(1));
    }
    REQUIRE(find_task(h.master->snapshot(), "t2")->state == mesos::v1::TASK_FINISHED);
    // A removed framework stays removed.
    auto gone = h.subscribe(framework_info("gone", 0));
    REQUIRE(h.simple(gone, Call::TEARDOWN).status == 202);
  }

  Harness h(options);
  auto snapshot = h.master->snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  CHECK(snapshot.frameworks[0].id == framework_id);
  CHECK_FALSE(snapshot.frameworks[0].connected);
  REQUIRE(snapshot.frameworks[0].failover_deadline);
  CHECK(*snapshot.frameworks[0].failover_deadline == h.now + seconds(600));
  CHECK(snapshot.removed_frameworks.size() == 1);
  CHECK(snapshot.agents[0].id == agent_id);
  REQUIRE(snapshot.frameworks[0].tasks.size() == 2);

  auto info = framework_info("durable", 600);
  info.mutable_id()->set_value(framework_id);
  auto sub = h.subscribe(info);
  REQUIRE(sub.stream->events[0].type() == Event::SUBSCRIBED);
  // The unacknowledged update is re-sent at once, as by a re-registering agent; the simulated
  // t1 did not survive the restart and ends TASK_FAILED.
  h.tick(Duration::zero());
  std::map<std::string, std::vector<TaskStatus>> by_task;
  for (const auto& status : updates(sub.stream->fresh())) {
    by_task[status.task_id().value()].push_back(status);
  }
  REQUIRE_FALSE(by_task["t2"].empty());
  CHECK(by_task["t2"][0].state() == mesos::v1::TASK_FINISHED);
  REQUIRE_FALSE(by_task["t1"].empty());
  CHECK(by_task["t1"].back().state() == mesos::v1::TASK_FAILED);
  CHECK(by_task["t1"].back().reason() == TaskStatus::REASON_EXECUTOR_TERMINATED);
  CHECK_THAT(by_task["t1"].back().message(), Catch::Contains("do not survive a restart"));

  auto removed_info = framework_info("gone", 0);
  removed_info.mutable_id()->set_value(snapshot.removed_frameworks[0]);
  auto refused = h.subscribe(removed_info);
  REQUIRE(refused.stream->events.size() == 1);
  CHECK(refused.stream->events[0].error().message() == "Framework has been removed");
}

TEST_CASE("local_agent_spec describes this machine as an agent would") {
  auto spec = local_agent_spec("here", std::filesystem::temp_directory_path().string());
  REQUIRE(spec);
  CHECK(spec->hostname == "here");
  CHECK(spec->resources.scalar("cpus") >= 1);
  CHECK(spec->resources.scalar("mem") > 0);
  CHECK(spec->resources.scalar("disk") > 0);
  CHECK(spec->resources.ranges("ports") == std::vector<heatblast::Range>{{31000, 32000}});
  // A path not made yet is measured on the file system that will hold it.
  auto later = local_agent_spec("here", "/no/such/path");
  REQUIRE(later);
  CHECK(later->resources.scalar("disk") > 0);
}

// ---------------------------------------------------------------------------------------------
// What a Mesos 1.12 master fills in offers and updates, and what it logs

namespace {

bool logged(const Harness& h, std::string_view text) {
  return std::any_of(h.log.begin(), h.log.end(), [text](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

// ACCEPT launching one task group of `tasks` under the DEFAULT executor `executor_id`.
Call group_launch(const Subscription& sub, const mesos::v1::Offer& offer,
                  const std::string& executor_id, std::vector<mesos::v1::TaskInfo> tasks) {
  Call call;
  call.set_type(Call::ACCEPT);
  *call.mutable_accept()->add_offer_ids() = offer.id();
  call.mutable_accept()->mutable_filters()->set_refuse_seconds(0);
  auto* operation = call.mutable_accept()->add_operations();
  operation->set_type(mesos::v1::Offer::Operation::LAUNCH_GROUP);
  auto* executor = operation->mutable_launch_group()->mutable_executor();
  executor->set_type(mesos::v1::ExecutorInfo::DEFAULT);
  executor->mutable_executor_id()->set_value(executor_id);
  executor->mutable_framework_id()->set_value(sub.framework_id);
  *executor->mutable_resources() = resources("cpus:0.1;mem:32;disk:10").to_proto();
  for (auto& task : tasks)
    *operation->mutable_launch_group()->mutable_task_group()->add_tasks() = std::move(task);
  return call;
}

}  // namespace

TEST_CASE("offers carry id, framework, agent, hostname, url and attributes as Mesos fills them") {
  auto options = Harness::default_options();
  mesos::v1::Attribute rack;
  rack.set_name("rack");
  rack.set_type(mesos::v1::Value::TEXT);
  rack.mutable_text()->set_value("r1");
  options.agents[0].attributes = {rack};
  Harness h(options);
  h.master->set_listen_port(5151);
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  const auto& offer = offers[0];
  CHECK_FALSE(offer.id().value().empty());
  CHECK(offer.framework_id().value() == sub.framework_id);
  CHECK_FALSE(offer.agent_id().value().empty());
  CHECK(offer.hostname() == "agent-host");
  REQUIRE(offer.has_url());
  CHECK(offer.url().scheme() == "http");
  CHECK(offer.url().address().hostname() == "localhost");
  CHECK(offer.url().address().ip() == "127.0.0.1");
  CHECK(offer.url().address().port() == 5151);
  CHECK(offer.url().path() == "/slave(1)");
  REQUIRE(offer.attributes_size() == 1);
  CHECK(offer.attributes(0).text().value() == "r1");
  CHECK(offer.executor_ids_size() == 0);
  // The same address in SUBSCRIBED's MasterInfo and in /state's agents.
  CHECK(h.master->master_info().address().port() == 5151);
  CHECK_THAT(h.master->state_json(), Catch::Contains("\"pid\":\"slave(1)@127.0.0.1:5151\""));
}

TEST_CASE("offers list the framework's executors running on the agent") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.call(sub, group_launch(sub, offers[0], "group-1",
                                   {command_task("g1", offers[0].agent_id(), "cpus:1;mem:64",
                                                 {{"sim.duration", "inf"}})}))
              .status == 202);
  auto next = h.offers(sub);
  REQUIRE(next.size() == 1);
  REQUIRE(next[0].executor_ids_size() == 1);
  CHECK(next[0].executor_ids(0).value() == "group-1");
}

TEST_CASE("MULTI_ROLE offers of role '*' give every resource its allocation_info") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::MULTI_ROLE);
  info.add_roles("*");
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 1);
  CHECK(offers[0].allocation_info().role() == "*");
  for (const auto& resource : offers[0].resources())
    CHECK(resource.allocation_info().role() == "*");
  // Launching with those resources, as the framework got them, works.
  REQUIRE(h.accept(sub, offers[0], {command_task("t", offers[0].agent_id())}).status == 202);
  auto statuses = run_until(h, sub, mesos::v1::TASK_RUNNING);
  CHECK(statuses.back().state() == mesos::v1::TASK_RUNNING);
}

TEST_CASE("updates carry executor_id and container_status as an agent sets them") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0], {command_task("t1", offers[0].agent_id())}).status == 202);
  auto statuses = run_until(h, sub, mesos::v1::TASK_FINISHED);
  for (const auto& status : statuses) {
    INFO(mesos::v1::TaskState_Name(status.state()));
    CHECK(status.source() == TaskStatus::SOURCE_EXECUTOR);
    CHECK(status.executor_id().value() == "t1");
    CHECK_FALSE(status.has_reason());
    REQUIRE(status.has_container_status());
    CHECK_FALSE(status.container_status().container_id().value().empty());
    REQUIRE(status.container_status().network_infos_size() == 1);
    CHECK(status.container_status().network_infos(0).ip_addresses(0).ip_address() == "127.0.0.1");
  }
  // Invalid launches come from the master, with no executor or container.
  auto again = h.master->snapshot().offers;  // made while the task ran
  REQUIRE_FALSE(again.empty());
  auto bad = command_task("t2", again[0].offer.agent_id());
  bad.clear_resources();
  sub.stream->fresh();
  REQUIRE(h.accept(sub, again[0].offer, {bad}).status == 202);
  auto error = updates(sub.stream->fresh());
  REQUIRE(error.size() == 1);
  CHECK(error[0].state() == mesos::v1::TASK_ERROR);
  CHECK(error[0].source() == TaskStatus::SOURCE_MASTER);
  CHECK(error[0].reason() == TaskStatus::REASON_TASK_INVALID);
  CHECK_FALSE(error[0].has_executor_id());
  CHECK_FALSE(error[0].has_container_status());
}

TEST_CASE("the log shows each task's end, each kill and each refused launch") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::TASK_KILLING_STATE);
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  REQUIRE(
      h.accept(
           sub, offers[0],
           {command_task("ok", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "1"}}),
            command_task("bad", offers[0].agent_id(), "cpus:1;mem:64",
                         {{"sim.duration", "1"}, {"sim.exit_code", "3"}}),
            command_task("long", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "inf"}})},
           0)
          .status == 202);
  run_until(h, sub, mesos::v1::TASK_FAILED);
  Call kill;
  kill.set_type(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("long");
  REQUIRE(h.call(sub, kill).status == 202);
  run_until(h, sub, mesos::v1::TASK_KILLED);
  CHECK(logged(h, "task 'ok' ended TASK_FINISHED: Command exited with status 0"));
  CHECK(logged(h, "task 'bad' ended TASK_FAILED: Command exited with status 3"));
  CHECK(logged(h, "killing task 'long'"));
  CHECK(logged(h, "task 'long' ended TASK_KILLED"));

  auto more = h.master->snapshot().offers;
  REQUIRE_FALSE(more.empty());
  auto empty = command_task("empty", more[0].offer.agent_id());
  empty.clear_resources();
  REQUIRE(h.accept(sub, more[0].offer, {empty}).status == 202);
  CHECK(logged(h, "task 'empty' TASK_ERROR: Task uses no resources"));
}

TEST_CASE("the snapshot keeps acknowledged tasks as completed, and counts calls as Mesos") {
  Harness h;
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(h.accept(sub, offers[0], {command_task("t1", offers[0].agent_id())}).status == 202);
  run_until(h, sub, mesos::v1::TASK_FINISHED);
  const auto snapshot = h.master->snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  CHECK(snapshot.frameworks[0].tasks.empty());
  REQUIRE(snapshot.frameworks[0].completed_tasks.size() == 1);
  const auto& done = snapshot.frameworks[0].completed_tasks[0];
  CHECK(done.task_id == "t1");
  CHECK(done.state == mesos::v1::TASK_FINISHED);
  CHECK(states(done.statuses) == std::vector<TaskState>{mesos::v1::TASK_STARTING,
                                                        mesos::v1::TASK_RUNNING,
                                                        mesos::v1::TASK_FINISHED});
  CHECK(snapshot.counters.at("messages_register_framework") == 1);
  CHECK(snapshot.counters.at("messages_launch_tasks") == 1);
  CHECK(snapshot.counters.at("valid_status_update_acknowledgements") == 3);
  CHECK(snapshot.counters.at("tasks_finished") == 1);
}

namespace {

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  INFO(text);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

}  // namespace

TEST_CASE("the read-only endpoints render Mesos's JSON shapes") {
  Harness h;
  auto info = framework_info("fw");
  add_capability(info, Capability::MULTI_ROLE);
  info.add_roles("*");
  auto sub = h.subscribe(info);
  auto offers = h.offers(sub);
  REQUIRE(
      h.accept(
           sub, offers[0],
           {command_task("done", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "3"}}),
            command_task("live", offers[0].agent_id(), "cpus:1;mem:64", {{"sim.duration", "inf"}})},
           0)
          .status == 202);
  run_until(h, sub, mesos::v1::TASK_FINISHED);
  h.offers(sub);
  const auto snapshot = h.master->snapshot();

  SECTION("/master/state") {
    auto state = parse_json(render_state_json(snapshot));
    CHECK(std::string(state["version"].GetString()) == "1.12.0");
    CHECK(state["activated_slaves"].GetInt() == 1);
    CHECK(state["leader_info"]["address"]["ip"].GetString() == std::string("127.0.0.1"));
    const auto& framework = state["frameworks"][0];
    CHECK(framework["id"].GetString() == sub.framework_id);
    CHECK(framework["active"].GetBool());
    CHECK(framework["capabilities"][0].GetString() == std::string("MULTI_ROLE"));
    CHECK(framework["roles"][0].GetString() == std::string("*"));
    CHECK(framework["used_resources"]["cpus"].GetDouble() == 1.0);
    double offered_cpus = 0;
    for (const auto& offer : snapshot.offers)
      offered_cpus += offer.resources.scalar("cpus");
    CHECK(offered_cpus > 0);
    CHECK(framework["offered_resources"]["cpus"].GetDouble() == offered_cpus);
    REQUIRE(framework["tasks"].Size() == 1);
    const auto& task = framework["tasks"][0];
    CHECK(task["id"].GetString() == std::string("live"));
    CHECK(task["state"].GetString() == std::string("TASK_RUNNING"));
    CHECK(task["slave_id"].GetString() == offers[0].agent_id().value());
    CHECK(task["executor_id"].GetString() == std::string(""));  // a command task's
    CHECK(task["resources"]["mem"].GetDouble() == 64.0);
    CHECK(task["resources"]["gpus"].GetDouble() == 0.0);
    CHECK(task["role"].GetString() == std::string("*"));
    REQUIRE(task["statuses"].Size() == 2);
    CHECK(task["statuses"][1]["state"].GetString() == std::string("TASK_RUNNING"));
    CHECK(task["statuses"][1]["container_status"].HasMember("container_id"));
    REQUIRE(framework["completed_tasks"].Size() == 1);
    CHECK(framework["completed_tasks"][0]["state"].GetString() == std::string("TASK_FINISHED"));
    REQUIRE(framework["offers"].Size() == snapshot.offers.size());
    CHECK(framework["offers"][0]["allocation_info"]["role"].GetString() == std::string("*"));
    const auto& agent = state["slaves"][0];
    CHECK(agent["hostname"].GetString() == std::string("agent-host"));
    CHECK(agent["pid"].GetString() == std::string("slave(1)@127.0.0.1:5050"));
    CHECK(agent["resources"]["ports"].GetString() == std::string("[31000-32000]"));
    CHECK(agent["used_resources"]["cpus"].GetDouble() == 1.0);
    CHECK(agent["active"].GetBool());
  }
  SECTION("/master/frameworks, /master/slaves") {
    auto frameworks = parse_json(frameworks_json(snapshot, {}));
    CHECK(frameworks["frameworks"].Size() == 1);
    CHECK(frameworks["completed_frameworks"].Size() == 0);
    auto none = parse_json(frameworks_json(snapshot, {{"framework_id", "other"}}));
    CHECK(none["frameworks"].Size() == 0);
    auto slaves = parse_json(slaves_json(snapshot));
    REQUIRE(slaves["slaves"].Size() == 1);
    CHECK(slaves["slaves"][0]["resources"]["cpus"].GetDouble() == 4.0);
  }
  SECTION("/master/tasks: newest first, limit, offset, filters") {
    auto all = parse_json(tasks_json(snapshot, {}));
    INFO(tasks_json(snapshot, {}));
    REQUIRE(all["tasks"].Size() == 2);
    // "done" ended after "live" last changed.
    CHECK(all["tasks"][0]["id"].GetString() == std::string("done"));
    auto oldest = parse_json(tasks_json(snapshot, {{"order", "asc"}, {"limit", "1"}}));
    REQUIRE(oldest["tasks"].Size() == 1);
    CHECK(oldest["tasks"][0]["id"].GetString() == std::string("live"));
    auto second = parse_json(tasks_json(snapshot, {{"offset", "1"}, {"limit", "junk"}}));
    CHECK(second["tasks"].Size() == 1);
    auto past = parse_json(tasks_json(snapshot, {{"offset", "9"}}));
    CHECK(past["tasks"].Size() == 0);
    auto one = parse_json(tasks_json(snapshot, {{"task_id", "live"}}));
    CHECK(one["tasks"].Size() == 1);
  }
  SECTION("/metrics/snapshot and /version") {
    auto metrics = parse_json(metrics_json(h.master->metrics(), h.now + seconds(5)));
    CHECK(metrics["master/frameworks_active"].GetDouble() == 1.0);
    CHECK(metrics["master/tasks_running"].GetDouble() == 1.0);
    CHECK(metrics["master/tasks_finished"].GetDouble() == 1.0);
    CHECK(metrics["master/tasks_failed"].GetDouble() == 0.0);
    CHECK(metrics["master/outstanding_offers"].GetDouble() ==
          static_cast<double>(snapshot.offers.size()));
    CHECK(metrics["master/messages_launch_tasks"].GetDouble() == 1.0);
    CHECK(metrics["master/messages_register_framework"].GetDouble() == 1.0);
    CHECK(metrics["master/cpus_total"].GetDouble() == 4.0);
    CHECK(metrics["master/cpus_used"].GetDouble() == 1.0);
    CHECK(metrics["master/uptime_secs"].GetDouble() > 0);
    auto version = parse_json(version_json(snapshot.master_info.version()));
    CHECK(version["version"].GetString() == std::string("1.12.0"));
  }
}

TEST_CASE("metrics sum the agents' resources exactly, as Resources adds them") {
  auto options = Harness::default_options();
  options.agents = simulated_agents(3, resources("cpus:0.1;mem:33.3;disk:0.7"));
  Harness h(options);
  auto sub = h.subscribe(framework_info("fw"));
  auto offers = h.offers(sub);
  REQUIRE(offers.size() == 3);
  REQUIRE(h.accept(sub, offers[0], {command_task("t", offers[0].agent_id(), "cpus:0.1;mem:0.1")})
              .status == 202);
  const auto metrics = h.master->metrics();
  CHECK(metrics.total_millis.at("cpus") == 300);
  CHECK(metrics.total_millis.at("mem") == 99900);
  CHECK(metrics.used_millis.at("mem") == 100);
  CHECK(metrics.total_millis.at("gpus") == 0);
  CHECK(metrics.agents == 3);
  CHECK(metrics.frameworks_connected == 1);
  const auto json = parse_json(metrics_json(metrics, h.now));
  CHECK(json["master/cpus_total"].GetDouble() == 0.3);
  CHECK(json["master/disk_total"].GetDouble() == 2.1);
}

TEST_CASE("parse_query decodes percent escapes and refuses bad ones") {
  auto query = parse_query("path=%2Ftmp%2Fa+b&offset=3&flag&path=second");
  REQUIRE(query);
  CHECK(query->at("path") == "/tmp/a b");
  CHECK(query->at("offset") == "3");
  CHECK(query->at("flag").empty());
  CHECK_FALSE(parse_query("path=%2"));
  CHECK_FALSE(parse_query("path=%zz"));
  CHECK_FALSE(parse_query("path=a%00b"));
}
