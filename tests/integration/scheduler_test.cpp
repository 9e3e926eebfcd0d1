// The scheduler client against local-master (in this process) over real loopback HTTP: the
// issue's acceptance scenarios, each for both content types where the wire matters.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "support/local_master_fixture.hpp"
#include "support/test_framework.hpp"
#include "unit/http/raw_peer.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::errc;
using heatblast::scheduler::Call;
using heatblast::scheduler::Event;
using heatblast::scheduler::LogLevel;
using heatblast::scheduler::Options;
using heatblast::scheduler::State;
using heatblast::testing::LocalMaster;
using heatblast::testing::LocalMasterConfig;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;
using mesos::v1::TaskStatus;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> state_names(const std::vector<TaskStatus>& statuses) {
  std::vector<std::string> out;
  for (const auto& status : statuses)
    out.push_back(mesos::v1::TaskState_Name(status.state()));
  return out;
}

Call::Reconcile::Task reconcile_entry(const std::string& task_id, const std::string& agent_id) {
  Call::Reconcile::Task task;
  task.mutable_task_id()->set_value(task_id);
  task.mutable_agent_id()->set_value(agent_id);
  return task;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The updates with their copies (a re-sent update has the same uuid) left out.
std::vector<TaskStatus> distinct_updates(const std::vector<TaskStatus>& statuses) {
  std::vector<TaskStatus> out;
  std::set<std::string> seen;
  for (const auto& status : statuses) {
    if (seen.insert(status.uuid()).second) out.push_back(status);
  }
  return out;
}

// The reason of the latest transition to `state`, or "".
std::string last_reason(const TestFramework& fw, State state) {
  std::string reason;
  for (const auto& [s, why] : fw.states()) {
    if (s == state) reason = why;
  }
  return reason;
}

// Launches a simulated task that runs until killed and waits until its RUNNING update was
// acknowledged (local-master holds no update for it any more).
void launch_forever_task(boost::asio::io_context& io, LocalMaster& master, TestFramework& fw,
                         const std::string& task_id) {
  auto offer = fw.take_offer();
  fw.launch(offer, {fw.simulated_task(task_id, offer, {{"sim.duration", "inf"}})});
  fw.wait_task_state(task_id, mesos::v1::TASK_RUNNING);
  const std::string framework_id = fw.framework_ids().back();
  wait_for(
      io, "local-master to have no unacknowledged update of '" + task_id + "'",
      [&] {
        auto task = master.task(framework_id, task_id);
        return task && task->unacknowledged_updates == 0;
      },
      5s, [&] { return fw.history() + "\n" + master.log_tail(); });
}

}  // namespace

TEST_CASE("subscribe: offers carry the agent's resources, the framework id is persisted first",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();

  INFO(fw.history());
  REQUIRE(fw.framework_ids().size() == 1);
  const std::string id = fw.framework_ids().front();
  REQUIRE(fw.client().framework_id().has_value());
  CHECK(fw.client().framework_id()->value() == id);
  // on_framework_id ran before on_event saw SUBSCRIBED, which names the same id.
  REQUIRE_FALSE(fw.events().empty());
  CHECK(fw.events().front().type() == Event::SUBSCRIBED);
  CHECK(fw.events().front().subscribed().framework_id().value() == id);
  CHECK(fw.events().front().subscribed().heartbeat_interval_seconds() == Approx(0.2));
  auto framework = master.framework(id);
  REQUIRE(framework.has_value());
  CHECK(framework->connected);
  CHECK(framework->name == "integration-test");
  // The client's safe default, not Mesos's 0.
  CHECK(framework->failover_timeout_seconds == 7 * 24 * 3600);

  const auto offer = fw.take_offer();
  const auto agent = master.master().snapshot().agents.at(0);
  CHECK(offer.framework_id().value() == id);
  CHECK(offer.agent_id().value() == agent.id);
  CHECK(offer.hostname() == "localhost");
  auto offered = heatblast::offer_resources(offer);
  REQUIRE(offered.has_value());
  CHECK(offered->scalar("cpus") == 2);
  CHECK(offered->scalar("mem") == 1024);
  CHECK(offered->scalar("disk") == 1024);
  REQUIRE(offered->ranges("ports").size() == 1);
  CHECK(offered->ranges("ports")[0] == heatblast::Range{31000, 31099});
  CHECK(*offered == agent.total);  // no MULTI_ROLE: no allocation_info either

  // A scheduler restarted with the persisted id resumes the same framework.
  fw.client().stop();
  wait_for(
      io, "local-master to see the framework disconnected",
      [&] {
        auto f = master.framework(id);
        return f && !f->connected;
      },
      5s, [&] { return master.log_tail(); });
  TestFramework resumed(io, {master.address(0)}, type,
                        [&](Options& o) { o.framework.mutable_id()->set_value(id); });
  resumed.start();
  resumed.wait_subscribed();
  CHECK(resumed.framework_ids() == std::vector<std::string>{id});
  CHECK(master.master().snapshot().frameworks.size() == 1);
}

TEST_CASE("launch: STARTING, RUNNING, FINISHED/FAILED each acknowledged once, never re-sent",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  // Unacknowledged updates come again after 300 ms, so that an update re-sent after its
  // acknowledgement would show below. On a loaded machine an acknowledgement can take longer
  // than that: the master then rightly sends the update again (same uuid), and the client
  // acknowledges that copy too. What must hold is per update (per uuid), not per copy.
  LocalMaster master(io, LocalMasterConfig().with_status_update_retry(300ms));
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();

  const auto offer = fw.take_offer();
  fw.launch(offer,
            {fw.command_task("ok", "true", offer), fw.command_task("fails", "exit 3", offer)});
  fw.wait_task_state("ok", mesos::v1::TASK_FINISHED);
  fw.wait_task_state("fails", mesos::v1::TASK_FAILED);
  // A terminal update that was acknowledged makes the master forget the task.
  wait_for(
      io, "local-master to forget both tasks (terminal updates acknowledged)",
      [&] {
        auto framework = master.framework(id);
        return framework && framework->tasks.empty();
      },
      5s, [&] { return fw.history() + "\n" + master.log_tail(); });

  // Nothing comes again: wait for 4 heartbeats (0.8 s, more than two retry intervals).
  const std::size_t events_before = fw.events().size();
  const std::size_t heartbeats = fw.count(Event::HEARTBEAT);
  wait_for(
      io, "4 more heartbeats", [&] { return fw.count(Event::HEARTBEAT) >= heartbeats + 4; }, 3s,
      [&] { return fw.history(); });
  INFO(fw.history());
  CHECK(fw.updates("ok", events_before).empty());
  CHECK(fw.updates("fails", events_before).empty());

  const auto ok_copies = fw.updates("ok");
  const auto fails_copies = fw.updates("fails");
  const auto ok = distinct_updates(ok_copies);
  const auto fails = distinct_updates(fails_copies);
  CHECK(state_names(ok) ==
        std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
  CHECK(state_names(fails) ==
        std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"});
  std::set<std::string> uuids;
  for (const auto* statuses : {&ok, &fails}) {
    for (const auto& status : *statuses) {
      CHECK(status.uuid().size() == 16);
      CHECK(status.source() == TaskStatus::SOURCE_EXECUTOR);
      uuids.insert(status.uuid());
    }
  }
  CHECK(uuids.size() == 6);
  REQUIRE_FALSE(fails.empty());
  CHECK(fails.back().message() == "Command exited with status 3");

  // Every copy received was acknowledged; the master took exactly one acknowledgement per update
  // (it ignores one for a copy it had already been acknowledged).
  const std::size_t copies = ok_copies.size() + fails_copies.size();
  const auto counters = fw.client().counters();
  CHECK(counters.acknowledgements == copies);
  CHECK(counters.calls.at("ACKNOWLEDGE").sent == copies);
  CHECK(counters.calls.at("ACKNOWLEDGE").rejected == 0);
  CHECK(counters.calls.at("ACKNOWLEDGE").failed == 0);
  const auto metrics = master.master().snapshot().counters;
  CHECK(metrics.at("valid_status_update_acknowledgements") == 6);

  // The same over GET /state: the framework is there, its tasks all completed and acknowledged.
  const auto state = master.get("/state");
  CHECK(state.status == 200);
  rapidjson::Document document;
  document.Parse(state.body.c_str(), state.body.size());
  REQUIRE_FALSE(document.HasParseError());
  REQUIRE(document["frameworks"].Size() == 1);
  const auto& framework = document["frameworks"][0];
  CHECK(framework["id"].GetString() == id);
  CHECK(framework["tasks"].Size() == 0);
  REQUIRE(framework["completed_tasks"].Size() > 0);
  for (const auto& task : framework["completed_tasks"].GetArray())
    CHECK(task["unacknowledged_updates"].GetInt() == 0);
}

TEST_CASE("launch: without acknowledgements local-master re-sends the update (the control)",
          "[integration]") {
  boost::asio::io_context io;
  LocalMaster master(io,
                     LocalMasterConfig().with_simulated_tasks().with_status_update_retry(300ms));
  TestFramework fw(io, {master.address(0)}, ContentType::protobuf,
                   [](Options& o) { o.auto_acknowledge = false; });
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.simulated_task("t", offer, {{"sim.duration", "inf"}})});
  wait_for(
      io, "TASK_STARTING twice (re-sent for want of an acknowledgement)",
      [&] { return fw.updates("t").size() >= 2; }, 3s, [&] { return fw.history(); });
  const auto first = fw.updates("t");
  CHECK(first[0].state() == mesos::v1::TASK_STARTING);
  CHECK(first[1].state() == mesos::v1::TASK_STARTING);
  CHECK(first[0].uuid() == first[1].uuid());
  CHECK(fw.client().counters().acknowledgements == 0);

  // Acknowledged by hand, the next update follows.
  fw.client().acknowledge(first[0].agent_id(), first[0].task_id(), first[0].uuid());
  fw.wait_task_state("t", mesos::v1::TASK_RUNNING);
}

TEST_CASE("kill: a running 'sleep 30' ends TASK_KILLED and its process is gone", "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io);
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();
  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("sleeper", "sleep 30", offer)});
  fw.wait_task_state("sleeper", mesos::v1::TASK_RUNNING);
  const auto task = master.task(id, "sleeper");
  REQUIRE(task.has_value());
  REQUIRE(task->pid.has_value());
  const int pid = *task->pid;
  REQUIRE(::kill(pid, 0) == 0);

  std::optional<heatblast::Result<void>> done;
  mesos::v1::TaskID task_id;
  task_id.set_value("sleeper");
  fw.client().kill(task_id, offer.agent_id(), {}, [&](heatblast::Result<void> r) { done = r; });
  fw.wait_task_state("sleeper", mesos::v1::TASK_KILLED);
  // The 202 may come after the update: they travel on different connections.
  wait_for(
      io, "the KILL call's answer", [&] { return done.has_value(); }, 5s,
      [&] { return fw.history(); });
  CHECK(done->has_value());
  const auto killed = fw.updates("sleeper").back();
  CHECK(killed.state() == mesos::v1::TASK_KILLED);
  CHECK(killed.message() == "Command terminated with signal Terminated");
  // TASK_KILLED comes from the reaped process: nothing of the task's process group lives on.
  CHECK(master.processes()->live_tasks() == 0);
  heatblast::testing::wait_group_gone(io, pid);
}

TEST_CASE("reconcile: implicit and explicit answers carry REASON_RECONCILIATION and no uuid",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  launch_forever_task(io, master, fw, "long");
  const std::string agent = fw.updates("long").back().agent_id().value();
  const auto acks = fw.client().counters().acknowledgements;

  auto reconciliation_answers = [&](const std::string& task_id, std::size_t from) {
    std::vector<TaskStatus> out;
    for (auto& status : fw.updates(task_id, from)) {
      if (status.reason() == TaskStatus::REASON_RECONCILIATION) out.push_back(status);
    }
    return out;
  };

  // Implicit: every task the master knows.
  std::size_t from = fw.events().size();
  fw.client().reconcile();
  wait_for(
      io, "the implicit reconciliation's answer for 'long'",
      [&] { return !reconciliation_answers("long", from).empty(); }, 5s,
      [&] { return fw.history(); });
  {
    const auto answer = reconciliation_answers("long", from).front();
    CHECK(answer.state() == mesos::v1::TASK_RUNNING);
    CHECK(answer.source() == TaskStatus::SOURCE_MASTER);
    CHECK_FALSE(answer.has_uuid());
    CHECK(answer.agent_id().value() == agent);
  }

  // Explicit: a known task and one the master never heard of.
  from = fw.events().size();
  fw.client().reconcile({reconcile_entry("long", agent), reconcile_entry("ghost", agent)});
  wait_for(
      io, "the explicit reconciliation's answers for 'long' and 'ghost'",
      [&] {
        return !reconciliation_answers("long", from).empty() &&
               !reconciliation_answers("ghost", from).empty();
      },
      5s, [&] { return fw.history(); });
  const auto known = reconciliation_answers("long", from).front();
  const auto ghost = reconciliation_answers("ghost", from).front();
  CHECK(known.state() == mesos::v1::TASK_RUNNING);
  CHECK_FALSE(known.has_uuid());
  CHECK(ghost.state() == mesos::v1::TASK_LOST);  // not PARTITION_AWARE
  CHECK(ghost.source() == TaskStatus::SOURCE_MASTER);
  CHECK_FALSE(ghost.has_uuid());

  // None of them was acknowledged (an ACKNOWLEDGE goes out as the update is handled).
  const auto counters = fw.client().counters();
  CHECK(counters.acknowledgements == acks);
  CHECK(counters.calls.at("ACKNOWLEDGE").sent == acks);
  CHECK(counters.calls.at("RECONCILE").rejected == 0);
}

TEST_CASE("stream dropped mid-record: resubscribes with the same id, the task is still known",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();
  launch_forever_task(io, master, fw, "survivor");
  const std::string agent = fw.updates("survivor").back().agent_id().value();
  fw.known_tasks = {reconcile_entry("survivor", agent)};

  const std::size_t from = fw.events().size();
  // A heartbeat still being written when the stream drops: the partial record must follow it.
  master.master().advance(std::chrono::system_clock::now() + 1s);
  master.server().close_streams(/*mid_record=*/true);
  fw.wait_subscriptions(2);
  INFO(fw.history());
  CHECK(fw.framework_ids() == std::vector<std::string>{id, id});
  const std::string reason = last_reason(fw, State::disconnected);
  CHECK(reason.find("event stream broke") != std::string::npos);
  CHECK(reason.find("inside a record") != std::string::npos);

  // Reconciliation after the resubscription (implicit and explicit) knows the task.
  wait_for(
      io, "a reconciliation answer for 'survivor' after the resubscription",
      [&] {
        for (const auto& status : fw.updates("survivor", from)) {
          if (status.reason() == TaskStatus::REASON_RECONCILIATION) return true;
        }
        return false;
      },
      5s, [&] { return fw.history(); });
  for (const auto& status : fw.updates("survivor", from))
    CHECK(status.state() == mesos::v1::TASK_RUNNING);
  const auto snapshot = master.master().snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  CHECK(snapshot.frameworks[0].id == id);
  CHECK(snapshot.frameworks[0].connected);
  auto task = master.task(id, "survivor");
  REQUIRE(task.has_value());
  CHECK(task->state == mesos::v1::TASK_RUNNING);
}

TEST_CASE("heartbeats stop: the client drops the silent stream within its bound and resubscribes",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type);  // 3 misses of 0.2 s: a 0.6 s bound
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();
  const double bound = fw.options().heartbeat_misses * 0.2;

  // A stalled master also swallows the next SUBSCRIBED: lift the fault once the client gave up
  // on the silent stream.
  fw.on_state_hook = [&](State state) {
    if (state == State::disconnected) master.server().faults().stall_streams = false;
  };
  const auto stalled_at = Clock::now();
  master.server().faults().stall_streams = true;
  wait_for(
      io, "the client to drop the silent stream",
      [&] { return fw.client().state() != State::subscribed; }, 3s, [&] { return fw.history(); });
  const double silent_for = seconds_since(stalled_at);
  INFO(fw.history());
  CHECK(fw.client().counters().heartbeat_timeouts >= 1);
  CHECK(last_reason(fw, State::disconnected).find("no heartbeat") != std::string::npos);
  // The last byte came at most one interval before the stall.
  CHECK(silent_for >= bound - 0.2 - 0.05);
  CHECK(silent_for <= bound + 0.5);

  fw.wait_subscriptions(2);
  CHECK(fw.framework_ids() == std::vector<std::string>{id, id});
}

TEST_CASE("leader moves among 3 replicas: the client follows the 307 and keeps working",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_replicas(3).with_simulated_tasks());
  REQUIRE(master.addresses().size() == 3);

  SECTION("configured with the leader only; leadership moves twice") {
    TestFramework fw(io, {master.address(0)}, type);
    fw.start();
    fw.wait_subscribed();
    const std::string id = fw.framework_ids().front();
    CHECK(fw.client().current_master() == master.address(0));

    for (int leader : {1, 2}) {
      CAPTURE(leader);
      const auto subscriptions = fw.client().counters().subscriptions;
      const auto redirects = fw.client().counters().redirects;
      auto moved = master.server().move_leader(leader);
      REQUIRE(moved.has_value());
      fw.wait_subscriptions(subscriptions + 1);
      INFO(fw.history());
      CHECK(fw.client().current_master() == master.address(leader));
      CHECK(fw.client().current_master() == master.leader_address());
      CHECK(fw.client().counters().redirects > redirects);
      CHECK(fw.framework_ids().back() == id);
      // Still working: a launch on the new leader.
      launch_forever_task(io, master, fw, fmt::format("after-move-{}", leader));
    }
    CHECK(master.master().snapshot().frameworks.size() == 1);
    for (const auto& result : fw.call_results())
      CHECK(result.has_value());
  }

  SECTION("configured with all three, the first not the leader") {
    REQUIRE(master.server().move_leader(2).has_value());
    TestFramework fw(io, master.addresses(), type);
    fw.start();
    fw.wait_subscribed();
    INFO(fw.history());
    CHECK(fw.client().counters().redirects >= 1);
    CHECK(fw.client().current_master() == master.address(2));
    launch_forever_task(io, master, fw, "on-leader");
  }
}

TEST_CASE("503 for a while: the client backs off and subscribes once the master answers",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type, [](Options& o) {
    o.backoff = {.initial = 100ms, .max = 300ms, .multiplier = 2, .jitter = 0.5};
  });
  constexpr double kWindow = 1.5;
  REQUIRE(master.server().apply_fault("unavailable", "1.5").has_value());
  const auto started = Clock::now();
  fw.start();
  fw.wait_subscribed(6s);
  const double took = seconds_since(started);
  INFO(fw.history());
  CHECK(took >= kWindow);
  CHECK(took <= kWindow + 0.3 + 1.0);  // at most one backoff (max 300 ms) after, plus slack
  CHECK(fw.client().counters().reconnects >= 3);
  CHECK(fw.client().counters().subscriptions == 1);
  bool saw_503 = false;
  for (const auto& [state, reason] : fw.states())
    saw_503 = saw_503 || reason.find("answered 503") != std::string::npos;
  CHECK(saw_503);
  CHECK(master.master().snapshot().frameworks.size() == 1);
}

TEST_CASE("malformed record: the error is reported, the client reconnects, nothing crashes",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();

  master.server().send_bad_record();
  fw.wait_subscriptions(2);
  INFO(fw.history());
  CHECK(fw.logged(LogLevel::error, "broken event stream"));
  CHECK(last_reason(fw, State::disconnected) == "broken event stream");
  CHECK_FALSE(fw.fatal().has_value());
  CHECK(fw.framework_ids() == std::vector<std::string>{id, id});
  // The new subscription works.
  launch_forever_task(io, master, fw, "after-bad-record");
}

TEST_CASE("failover timeout: a framework gone longer is removed, resubscribing is fatal",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io, LocalMasterConfig().with_simulated_tasks());
  auto short_failover = [](Options& o) { o.framework.set_failover_timeout(0.5); };
  TestFramework fw(io, {master.address(0)}, type, short_failover);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();

  fw.client().stop();
  const auto stopped_at = Clock::now();
  wait_for(
      io, "local-master to remove the framework after its failover timeout",
      [&] { return master.removed(id); }, 5s, [&] { return master.log_tail(); });
  CHECK(seconds_since(stopped_at) >= 0.5 - 0.05);

  TestFramework again(io, {master.address(0)}, type, [&](Options& o) {
    short_failover(o);
    o.framework.mutable_id()->set_value(id);
  });
  again.start();
  wait_for(
      io, "on_fatal", [&] { return again.fatal().has_value(); }, 5s,
      [&] { return again.history(); });
  INFO(again.history());
  CHECK(again.fatal()->code == errc::framework_removed);
  CHECK(again.fatal()->what().find("Framework has been removed") != std::string::npos);
  CHECK(again.client().state() == State::stopped);
  CHECK(again.client().counters().subscriptions == 0);
  CHECK(again.count(Event::ERROR) == 1);
  CHECK(master.master().snapshot().frameworks.empty());
}

TEST_CASE("teardown: the framework is removed and its task killed", "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  boost::asio::io_context io;
  LocalMaster master(io);
  TestFramework fw(io, {master.address(0)}, type);
  fw.start();
  fw.wait_subscribed();
  const std::string id = fw.framework_ids().front();
  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("doomed", "sleep 30", offer)});
  fw.wait_task_state("doomed", mesos::v1::TASK_RUNNING);
  const auto task = master.task(id, "doomed");
  REQUIRE(task.has_value());
  REQUIRE(task->pid.has_value());
  const int pid = *task->pid;

  std::optional<heatblast::Result<void>> done;
  fw.client().teardown([&](heatblast::Result<void> r) { done = std::move(r); });
  wait_for(
      io, "TEARDOWN to complete", [&] { return done.has_value(); }, 5s,
      [&] { return fw.history(); });
  INFO(fw.history());
  INFO(master.log_tail());
  REQUIRE(done->has_value());
  CHECK(fw.client().state() == State::stopped);
  CHECK_FALSE(fw.fatal().has_value());
  CHECK(fw.client().counters().subscriptions == 1);
  CHECK(master.removed(id));
  CHECK_FALSE(master.framework(id).has_value());

  const auto state = master.get("/state");
  CHECK(state.status == 200);
  CHECK(state.body.find("\"frameworks\":[]") != std::string::npos);
  CHECK(state.body.find(fmt::format("\"completed_frameworks\":[{{\"id\":\"{}\",", id)) !=
        std::string::npos);

  // The task's process got SIGTERM and is gone.
  wait_for(
      io, "the task's process to end", [&] { return master.processes()->live_tasks() == 0; }, 5s,
      [&] { return master.log_tail(); });
  heatblast::testing::wait_group_gone(io, pid);
}

TEST_CASE("connection flood: idle connections cannot lock schedulers out of local-master",
          "[integration]") {
  boost::asio::io_context io;
  constexpr int kCap = 16;
  LocalMasterConfig config = LocalMasterConfig().with_simulated_tasks();
  config.tweak_server = [](heatblast::local_master::MasterServerOptions& o) {
    o.max_connections = kCap;
    o.header_timeout = 300ms;
  };
  LocalMaster master(io, config);
  const auto port = master.server().ports().at(0);
  using heatblast::testing::RawClient;
  auto all = [](const std::vector<std::unique_ptr<RawClient>>& clients, auto&& pred) {
    for (const auto& c : clients)
      if (!pred(*c)) return false;
    return true;
  };

  // Subscribed before the flood: its stream must survive all of it.
  TestFramework first(io, {master.address(0)}, ContentType::protobuf);
  first.start();
  first.wait_subscribed();

  // 1. Twice the cap of kept-alive connections, each idle after one request: each new one
  // takes the place of the oldest idle one, and a scheduler subscribes at its first attempt.
  std::vector<std::unique_ptr<RawClient>> kept;
  for (int i = 0; i < 2 * kCap; ++i) {
    kept.push_back(std::make_unique<RawClient>(io, port));
    kept.back()->send("GET /health HTTP/1.1\r\nHost: m\r\n\r\n");
  }
  wait_for(
      io, "every kept-alive client answered",
      [&] {
        return all(kept, [](const RawClient& c) {
          return c.received().find("\r\n\r\n") != std::string::npos;
        });
      },
      5s);
  TestFramework second(io, {master.address(0)}, ContentType::json);
  second.start();
  second.wait_subscribed();
  CHECK(second.client().counters().reconnects == 0);
  int evicted = 0;
  for (const auto& c : kept)
    evicted += c->eof();
  CHECK(evicted >= kCap);

  // 2. Twice the cap of connections that never send a byte: those beyond the cap are
  // refused with 429 at once; the rest are closed after the header timeout, and a scheduler
  // subscribes.
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 2 * kCap; ++i)
    silent.push_back(std::make_unique<RawClient>(io, port));
  wait_for(
      io, "every silent connection closed",
      [&] { return all(silent, [](const RawClient& c) { return c.eof(); }); }, 5s);
  int refused = 0;
  for (const auto& c : silent)
    refused += c->received().starts_with("HTTP/1.1 429 ");
  CHECK(refused >= kCap);
  TestFramework third(io, {master.address(0)}, ContentType::protobuf);
  third.start();
  third.wait_subscribed();

  INFO(first.history());
  CHECK(first.subscribed());
  CHECK(first.client().counters().subscriptions == 1);
  INFO(second.history());
  CHECK(second.client().counters().subscriptions == 1);
  CHECK(master.master().snapshot().frameworks.size() == 3);
}
