// TaskManager against a scripted master: offers in, ACCEPT/DECLINE/KILL out, statuses in.
#include "heatblast/tasks.hpp"

#include "heatblast/store.hpp"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fakes/fake_master.hpp"
#include "fakes/run_until.hpp"
#include "tasks/heap.hpp"

using namespace std::chrono_literals;
using heatblast::errc;
using heatblast::testing::FakeMaster;
using heatblast::testing::run_until;
using namespace heatblast::tasks;
namespace hs = heatblast::scheduler;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

namespace {

ManagerOptions fast() {
  ManagerOptions options;
  options.min_revive_interval = 10ms;
  return options;
}

struct Harness {
  boost::asio::io_context io;
  FakeMaster master{io.get_executor()};
  std::unique_ptr<hs::Client> client;
  std::unique_ptr<TaskManager> manager;
  std::vector<std::string> changes;  // "name: from -> to [state]"
  int offer_seq = 0;

  explicit Harness(ManagerOptions options = fast()) {
    REQUIRE(master.start().has_value());
    hs::Options client_options;
    client_options.masters = {master.address()};
    client_options.framework.set_user("u");
    client_options.framework.set_name("tasks-test");
    client_options.backoff = {10ms, 50ms, 2, 0.5};
    hs::Handlers handlers;
    handlers.on_event = [this](const Event& e) { manager->handle_event(e); };
    handlers.known_tasks = [this] { return manager->known_tasks(); };
    client = std::make_unique<hs::Client>(io.get_executor(), client_options, handlers);
    manager = std::make_unique<TaskManager>(*client, options, [this](const TaskChange& c) {
      changes.push_back(fmt::format(
          "{}: {} -> {}{}", c.record.name, to_string(c.previous_phase), to_string(c.record.phase),
          c.record.state ? " " + mesos::v1::TaskState_Name(*c.record.state) : ""));
    });
  }

  void subscribe() {
    REQUIRE(client->start().has_value());
    REQUIRE(run_until(io, [&] { return client->state() == hs::State::subscribed; }));
  }

  std::string offer(double cpus, double mem, const std::string& hostname = "h1") {
    Event e;
    e.set_type(Event::OFFERS);
    auto* offer = e.mutable_offers()->add_offers();
    const std::string id = "o" + std::to_string(++offer_seq);
    offer->mutable_id()->set_value(id);
    offer->mutable_framework_id()->set_value("fw-1");
    offer->mutable_agent_id()->set_value("a1");
    offer->set_hostname(hostname);
    auto add = [&](const char* name, double value) {
      auto* r = offer->add_resources();
      r->set_name(name);
      r->set_type(mesos::v1::Value::SCALAR);
      r->mutable_scalar()->set_value(value);
    };
    add("cpus", cpus);
    add("mem", mem);
    master.send(e);
    return id;
  }

  void status(const std::string& task_id, mesos::v1::TaskState state,
              std::optional<mesos::v1::TaskStatus::Reason> reason = std::nullopt,
              std::string uuid = {}) {
    Event e;
    e.set_type(Event::UPDATE);
    auto* s = e.mutable_update()->mutable_status();
    s->mutable_task_id()->set_value(task_id);
    s->mutable_agent_id()->set_value("a1");
    s->set_state(state);
    if (reason) s->set_reason(*reason);
    if (!uuid.empty()) s->set_uuid(uuid);
    master.send(e);
  }

  // Sends an OFFERS event for one offer carrying a text attribute.
  void offer_with(const std::string& attribute, const std::string& text) {
    Event e;
    e.set_type(Event::OFFERS);
    auto* offer = e.mutable_offers()->add_offers();
    offer->mutable_id()->set_value("o" + std::to_string(++offer_seq));
    offer->mutable_framework_id()->set_value("fw-1");
    offer->mutable_agent_id()->set_value("a1");
    offer->set_hostname("h1");
    for (auto [name, value] : {std::pair{"cpus", 4.0}, std::pair{"mem", 4096.0}}) {
      auto* r = offer->add_resources();
      r->set_name(name);
      r->set_type(mesos::v1::Value::SCALAR);
      r->mutable_scalar()->set_value(value);
    }
    auto* a = offer->add_attributes();
    a->set_name(attribute);
    a->set_type(mesos::v1::Value::TEXT);
    a->mutable_text()->set_value(text);
    master.send(e);
  }

  std::vector<Call> calls(Call::Type type) const { return master.calls_of_type(type); }

  // Waits for the n-th ACCEPT and returns its launched tasks.
  std::vector<mesos::v1::TaskInfo> launched(std::size_t n) {
    REQUIRE(run_until(io, [&] { return calls(Call::ACCEPT).size() >= n; }));
    const auto accept = calls(Call::ACCEPT)[n - 1].accept();
    REQUIRE(accept.operations_size() == 1);
    const auto& infos = accept.operations(0).launch().task_infos();
    return {infos.begin(), infos.end()};
  }

  Phase phase(const std::string& name) const { return manager->find(name)->phase; }
};

// A TaskStore in memory whose saves fail while `broken` is set.
struct FlakyStore : TaskStore {
  bool broken = false;
  std::map<std::string, std::pair<TaskSpec, TaskRecord>> saved;
  heatblast::Result<void> save_task(const TaskSpec& spec, const TaskRecord& record) override {
    if (broken) return heatblast::fail(errc::io_error, "disk full");
    saved.insert_or_assign(spec.name, std::pair{spec, record});
    return {};
  }
  heatblast::Result<void> remove_task(const std::string& name) override {
    saved.erase(name);
    return {};
  }
  heatblast::Result<std::vector<std::pair<TaskSpec, TaskRecord>>> load_tasks() override {
    std::vector<std::pair<TaskSpec, TaskRecord>> out;
    for (const auto& [name, entry] : saved)
      out.push_back(entry);
    return out;
  }
};

TaskSpec spec(std::string name, RestartPolicy policy = RestartPolicy::never) {
  TaskSpec s;
  s.name = std::move(name);
  s.command.set_value("run-it");
  s.resources.scalars = {{"cpus", 0.5}, {"mem", 128}};
  s.restart.policy = policy;
  s.restart.backoff = {20ms, 40ms, 2, 0};
  return s;
}

}  // namespace

TEST_CASE("tasks: a wanted task is launched on a fitting offer and followed to its end",
          "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("job")).has_value());
  h.subscribe();
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::REVIVE).empty(); }));

  h.offer(0.2, 1024);  // too small: declined with a long filter
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
  CHECK(h.calls(Call::DECLINE)[0].decline().filters().refuse_seconds() == 120);
  CHECK(h.phase("job") == Phase::pending);

  h.offer(2, 1024);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 1);
  const auto& task = tasks[0];
  CHECK(task.name() == "job");
  CHECK_THAT(task.task_id().value(), Catch::StartsWith("job."));
  CHECK(task.agent_id().value() == "a1");
  CHECK(task.command().value() == "run-it");
  auto taken = heatblast::Resources::from_proto(task.resources());
  REQUIRE(taken.has_value());
  CHECK(taken->scalar("cpus") == 0.5);
  CHECK(taken->scalar("mem") == 128);
  CHECK(h.phase("job") == Phase::launched);
  CHECK(h.manager->in_flight() == 1);
  // Nothing else to launch: offers are suppressed.
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::SUPPRESS).empty(); }));

  h.status(task.task_id().value(), mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::active; }));
  h.status(task.task_id().value(), mesos::v1::TASK_FINISHED);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::done; }));
  CHECK(h.manager->find("job")->last_outcome == mesos::v1::TASK_FINISHED);
  CHECK(h.manager->in_flight() == 0);
  CHECK(h.changes == std::vector<std::string>{"job: pending -> pending", "job: pending -> launched",
                                              "job: launched -> active TASK_RUNNING",
                                              "job: active -> done TASK_FINISHED"});
}

TEST_CASE("tasks: one offer is packed with as many tasks as fit", "[tasks]") {
  Harness h;
  for (const char* name : {"a", "b", "c"})
    REQUIRE(h.manager->add(spec(name)).has_value());
  h.subscribe();
  h.offer(1.2, 1024);  // room for two of the three (0.5 cpus each)
  auto first = h.launched(1);
  CHECK(first.size() == 2);
  CHECK(h.manager->in_flight() == 2);
  CHECK(h.manager->pending() == 1);
  h.offer(1, 1024);
  CHECK(h.launched(2).size() == 1);
  CHECK(h.manager->pending() == 0);
}

TEST_CASE("tasks: on-failure restarts with a new task id after a backoff, never does not",
          "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("flaky", RestartPolicy::on_failure)).has_value());
  REQUIRE(h.manager->add(spec("once", RestartPolicy::never)).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto first = h.launched(1);
  REQUIRE(first.size() == 2);
  for (const auto& t : first)
    h.status(t.task_id().value(), mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] { return h.phase("once") == Phase::done; }));
  REQUIRE(run_until(h.io, [&] { return h.phase("flaky") == Phase::backing_off; }));
  // The backoff ends with a REVIVE (filters cleared), then the next offer relaunches it.
  const auto revives = h.calls(Call::REVIVE).size();
  REQUIRE(run_until(
      h.io, [&] { return h.calls(Call::REVIVE).size() > revives; }, 2s));
  h.offer(2, 1024);
  auto second = h.launched(2);
  REQUIRE(second.size() == 1);
  CHECK(second[0].name() == "flaky");
  CHECK(second[0].task_id().value() != first[0].task_id().value());
  CHECK(h.manager->find("flaky")->launches == 2);
  h.status(second[0].task_id().value(), mesos::v1::TASK_FINISHED);
  REQUIRE(run_until(h.io, [&] { return h.phase("flaky") == Phase::done; }));
}

TEST_CASE("tasks: kill() kills the run and never relaunches it", "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("svc", RestartPolicy::always)).has_value());
  REQUIRE(h.manager->add(spec("queued", RestartPolicy::always)).has_value());
  h.subscribe();
  h.offer(0.5, 1024);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 1);
  h.status(tasks[0].task_id().value(), mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase(tasks[0].name()) == Phase::active; }));
  const std::string other = tasks[0].name() == "svc" ? "queued" : "svc";

  REQUIRE(h.manager->kill(tasks[0].name()).has_value());
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::KILL).empty(); }));
  CHECK(h.calls(Call::KILL)[0].kill().task_id().value() == tasks[0].task_id().value());
  CHECK(h.calls(Call::KILL)[0].kill().agent_id().value() == "a1");
  h.status(tasks[0].task_id().value(), mesos::v1::TASK_KILLED);
  REQUIRE(run_until(h.io, [&] { return h.phase(tasks[0].name()) == Phase::done; }));

  REQUIRE(h.manager->kill(other).has_value());  // never launched: done at once
  CHECK(h.phase(other) == Phase::done);
  CHECK_FALSE(h.manager->kill("nope").has_value());
  REQUIRE(h.manager->remove(other).has_value());
  CHECK(h.manager->find(other) == nullptr);
}

TEST_CASE("tasks: a launch the master never knew is launched again, not counted", "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("job")).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto first = h.launched(1);
  // The reconnect's explicit reconciliation asks about the launched task...
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] {
    for (const auto& c : h.calls(Call::RECONCILE)) {
      if (c.reconcile().tasks_size() == 1 &&
          c.reconcile().tasks(0).task_id().value() == first[0].task_id().value()) {
        return true;
      }
    }
    return false;
  }));
  // ...and the master answers that it does not know it.
  h.status(first[0].task_id().value(), mesos::v1::TASK_LOST,
           mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::pending; }));
  CHECK(h.manager->find("job")->launches == 0);
  h.offer(2, 1024);
  auto again = h.launched(2);
  REQUIRE(again.size() == 1);
  CHECK(h.manager->find("job")->launches == 1);
}

TEST_CASE("tasks: a run still reported by the master is adopted, not launched twice", "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("etl-1-1")).has_value());
  h.subscribe();
  // As after a scheduler restart: implicit reconciliation reports the old run.
  h.status("etl-1-1.00000000deadbeef", mesos::v1::TASK_RUNNING,
           mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("etl-1-1") == Phase::active; }));
  CHECK(h.manager->find("etl-1-1")->task_id == "etl-1-1.00000000deadbeef");
  h.offer(2, 1024);
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
  CHECK(h.calls(Call::ACCEPT).empty());
  CHECK(h.manager->in_flight() == 1);
}

TEST_CASE("tasks: a task that outruns its timeout is killed and counts as failed", "[tasks]") {
  Harness h;
  auto s = spec("slow", RestartPolicy::on_failure);
  s.timeout = 50ms;
  s.restart.max_restarts = 0;
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto tasks = h.launched(1);
  h.status(tasks[0].task_id().value(), mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(
      h.io, [&] { return !h.calls(Call::KILL).empty(); }, 2s));
  CHECK_THAT(h.manager->find("slow")->message, Catch::Contains("timeout"));
  h.status(tasks[0].task_id().value(), mesos::v1::TASK_KILLED);
  REQUIRE(run_until(h.io, [&] { return h.phase("slow") == Phase::done; }));
}

TEST_CASE("tasks: constraints and roles select offers", "[tasks]") {
  Harness h;
  auto s = spec("pinned");
  s.constraints = {{"hostname", "h2"}};
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  h.offer(2, 1024, "h1");
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
  CHECK(h.calls(Call::ACCEPT).empty());
  h.offer(2, 1024, "h2");
  CHECK(h.launched(1).size() == 1);
}

TEST_CASE("tasks: specs are checked when added", "[tasks]") {
  Harness h;
  CHECK(h.manager->add(spec("")).error().code == errc::invalid_argument);
  CHECK(h.manager->add(spec("a b")).error().code == errc::invalid_argument);
  REQUIRE(h.manager->add(spec("x")).has_value());
  CHECK(h.manager->add(spec("x")).error().code == errc::invalid_argument);
  auto no_command = spec("y");
  no_command.command.clear_value();
  CHECK_FALSE(h.manager->add(no_command).has_value());
  auto no_resources = spec("z");
  no_resources.resources.scalars.clear();
  CHECK_FALSE(h.manager->add(no_resources).has_value());
}

TEST_CASE("tasks: REVIVE is rate-limited, and a deferred one still goes out", "[tasks]") {
  ManagerOptions options;
  options.min_revive_interval = 150ms;
  Harness h(options);
  h.subscribe();
  // Before the first REVIVE is sent: the interval runs from its sending, which the fake
  // master sees later (by how much depends on the machine; under ASan, tens of ms).
  const auto before_first = std::chrono::steady_clock::now();
  REQUIRE(h.manager->add(spec("a")).has_value());
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::REVIVE).size() == 1; }));
  REQUIRE(h.manager->add(spec("b")).has_value());
  heatblast::testing::run_ready(h.io);
  CHECK(h.calls(Call::REVIVE).size() == 1);
  REQUIRE(run_until(
      h.io, [&] { return h.calls(Call::REVIVE).size() == 2; }, 2s));
  CHECK(std::chrono::steady_clock::now() - before_first >= 150ms);
}

TEST_CASE("tasks: a rejected ACCEPT or an invalid offer puts the task back to pending", "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("job")).has_value());
  h.subscribe();
  h.master.call_answers.clear();
  // After REVIVE and the implicit RECONCILE (both 202), the ACCEPT is refused.
  REQUIRE(run_until(
      h.io, [&] { return !h.calls(Call::REVIVE).empty() && !h.calls(Call::RECONCILE).empty(); }));
  h.master.call_answers.push_back({400, "Failed to validate scheduler::Call: bad offer"});
  h.offer(2, 1024);
  auto first = h.launched(1);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::pending; }));
  CHECK(h.manager->find("job")->launches == 0);
  CHECK_THAT(h.manager->find("job")->message, Catch::Contains("bad offer"));

  h.offer(2, 1024);
  auto second = h.launched(2);
  REQUIRE(second.size() == 1);
  h.status(second[0].task_id().value(), mesos::v1::TASK_DROPPED,
           mesos::v1::TaskStatus::REASON_INVALID_OFFERS);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::pending; }));
  CHECK(h.manager->find("job")->launches == 0);
  h.offer(2, 1024);
  CHECK(h.launched(3).size() == 1);
}

TEST_CASE("tasks: KILLs are sent again after a reconnect, TASK_UNKNOWN launches are redone",
          "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("svc")).has_value());
  REQUIRE(h.manager->add(spec("fresh")).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 2);
  const auto& svc = tasks[0].name() == "svc" ? tasks[0] : tasks[1];
  const auto& fresh = tasks[0].name() == "svc" ? tasks[1] : tasks[0];
  h.status(svc.task_id().value(), mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::active; }));
  REQUIRE(h.manager->kill("svc").has_value());
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::KILL).size() == 1; }));

  // The connection drops before the task ended: the KILL may be lost, so it goes out again.
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::KILL).size() == 2; }));
  CHECK(h.calls(Call::KILL)[1].kill().task_id().value() == svc.task_id().value());

  // A partition-aware master does not know the other launch.
  h.status(fresh.task_id().value(), mesos::v1::TASK_UNKNOWN,
           mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("fresh") == Phase::pending; }));
  CHECK(h.manager->find("fresh")->launches == 0);
}

TEST_CASE("tasks: a relaunch that is due but gets no offer does not spin the timer", "[tasks]") {
  auto options = fast();
  options.min_revive_interval = 100ms;
  Harness h(options);
  auto s = spec("retry", RestartPolicy::on_failure);
  s.restart.backoff = {10ms, 10ms, 1, 0};
  REQUIRE(h.manager->add(std::move(s)).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto first = h.launched(1);
  h.status(first[0].task_id().value(), mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] { return h.phase("retry") == Phase::backing_off; }));
  // The relaunch falls due after 10 ms; no offer comes for 2 s (REVIVE throttled, master
  // down, cluster full). Every handler the context runs meanwhile is a wake-up: a timer
  // re-armed on the passed deadline would run hundreds of thousands of them.
  h.io.restart();
  const std::size_t wakeups = h.io.run_for(2s);
  CHECK(wakeups < 50);
  CHECK(h.phase("retry") == Phase::backing_off);
  // The due task still launches on the next offer.
  h.offer(2, 1024);
  CHECK(h.launched(2).size() == 1);
}

TEST_CASE("tasks: the restart limit and the backoff survive a restart of the manager", "[tasks]") {
  auto store = heatblast::store::SqliteStore::open(":memory:");
  REQUIRE(store.has_value());
  auto options = fast();
  options.store = store->get();
  auto s = spec("crashy", RestartPolicy::on_failure);
  s.restart.max_restarts = 2;
  s.restart.backoff = {20ms, 1000ms, 4, 0};
  {
    Harness h(options);
    REQUIRE(h.manager->add(s).has_value());
    h.subscribe();
    for (std::size_t run = 1; run <= 2; ++run) {
      REQUIRE(run_until(h.io, [&] { return h.manager->pending() == 1; }));
      REQUIRE(run_until(h.io, [&] {
        const auto* r = h.manager->find("crashy");
        return !r->retry_at || *r->retry_at <= std::chrono::steady_clock::now();
      }));
      h.offer(2, 1024);
      auto tasks = h.launched(run);
      REQUIRE(tasks.size() == 1);
      h.status(tasks[0].task_id().value(), mesos::v1::TASK_FAILED);
      REQUIRE(run_until(h.io, [&] { return h.phase("crashy") == Phase::backing_off; }));
    }
    CHECK(h.manager->find("crashy")->restarts == 2);
    CHECK(h.manager->find("crashy")->backoff_attempts == 2);
  }
  // The program restarts: a new manager reads the store.
  Harness h(options);
  REQUIRE(h.manager->load().has_value());
  const auto* restored = h.manager->find("crashy");
  REQUIRE(restored != nullptr);
  CHECK(restored->phase == Phase::backing_off);
  CHECK(restored->restarts == 2);
  CHECK(restored->backoff_attempts == 2);
  REQUIRE(restored->retry_at.has_value());
  // The second delay was 80 ms: the retry comes at most that long after the save.
  CHECK(*restored->retry_at <= std::chrono::steady_clock::now() + 80ms);
  h.subscribe();
  REQUIRE(run_until(h.io, [&] { return *restored->retry_at <= std::chrono::steady_clock::now(); }));
  h.offer(2, 1024);
  auto last = h.launched(1);
  REQUIRE(last.size() == 1);
  h.status(last[0].task_id().value(), mesos::v1::TASK_FAILED);
  // Its third failure uses up the two restarts: done, not a fresh round of retries.
  REQUIRE(run_until(h.io, [&] { return h.phase("crashy") == Phase::done; }));
  CHECK(h.manager->find("crashy")->launches == 3);
}

TEST_CASE("tasks: an update whose save failed is not acknowledged, the re-sent one is", "[tasks]") {
  FlakyStore store;
  auto options = fast();
  options.store = &store;
  options.store_failures_before_fatal = 3;
  std::vector<std::string> fatal;
  options.on_fatal = [&](const heatblast::Error& e) { fatal.push_back(e.what()); };
  Harness h(options);
  REQUIRE(h.manager->add(spec("job", RestartPolicy::on_failure)).has_value());
  h.subscribe();
  h.offer(2, 1024);
  const auto id = h.launched(1)[0].task_id().value();

  store.broken = true;
  h.status(id, mesos::v1::TASK_FINISHED, std::nullopt, "uuid-1");
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::done; }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.calls(Call::ACKNOWLEDGE).empty());
  CHECK(h.manager->counters().store_errors == 1);
  CHECK(h.manager->counters().acknowledgements_held == 1);
  CHECK(h.client->counters().acknowledgements_held == 1);
  CHECK(store.saved.at("job").second.phase == Phase::launched);

  // The master re-sends it: same outcome while the store is down, no second run.
  h.status(id, mesos::v1::TASK_FINISHED, std::nullopt, "uuid-1");
  REQUIRE(run_until(h.io, [&] { return h.manager->counters().store_errors == 2; }));
  CHECK(h.calls(Call::ACKNOWLEDGE).empty());
  CHECK(h.phase("job") == Phase::done);
  CHECK(fatal.empty());

  // Saved at last: acknowledged, and the record on disk says done.
  store.broken = false;
  h.status(id, mesos::v1::TASK_FINISHED, std::nullopt, "uuid-1");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 1; }));
  CHECK(h.calls(Call::ACKNOWLEDGE)[0].acknowledge().uuid() == "uuid-1");
  CHECK(store.saved.at("job").second.phase == Phase::done);
  CHECK(store.saved.at("job").second.last_outcome == mesos::v1::TASK_FINISHED);
  CHECK(h.manager->find("job")->launches == 1);

  // A store that stays broken ends the session through on_fatal, once. (Updates that arrive
  // together are one write, so each is sent after the previous one failed.)
  store.broken = true;
  for (std::uint64_t errors = 3; errors <= 6; ++errors) {
    h.status(id, mesos::v1::TASK_FINISHED, std::nullopt, "uuid-1");
    REQUIRE(run_until(h.io, [&] { return h.manager->counters().store_errors == errors; }));
  }
  REQUIRE(fatal.size() == 1);
  CHECK_THAT(fatal[0], Catch::Contains("3 times in a row") && Catch::Contains("disk full"));
}

TEST_CASE("tasks: max_in_flight caps runs, relaunches included", "[tasks]") {
  auto options = fast();
  options.max_in_flight = 2;
  Harness h(options);
  for (const char* name : {"a", "b", "c"})
    REQUIRE(h.manager->add(spec(name, RestartPolicy::on_failure)).has_value());
  h.subscribe();
  h.offer(4, 4096);  // room for all three
  auto first = h.launched(1);
  CHECK(first.size() == 2);
  CHECK(h.manager->count(Phase::launched) == 2);
  CHECK(h.manager->count(Phase::pending) == 1);
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::SUPPRESS).empty(); }));

  // One fails: its relaunch and the waiting task compete for the freed slot; only one goes.
  const auto revives = h.calls(Call::REVIVE).size();
  h.status(first[0].task_id().value(), mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::REVIVE).size() > revives; }));
  REQUIRE(run_until(h.io, [&] { return h.manager->count(Phase::backing_off) == 1; }));
  REQUIRE(run_until(h.io, [&] {
    const auto* r = h.manager->find(first[0].name());
    return *r->retry_at <= std::chrono::steady_clock::now();
  }));
  h.offer(4, 4096);
  CHECK(h.launched(2).size() == 1);
  CHECK(h.manager->in_flight() == 2);
  CHECK(h.manager->pending() == 1);
  CHECK_FALSE(h.manager->all_done());
}

TEST_CASE("tasks: count() and all_done() follow a batch to its end", "[tasks]") {
  Harness h;
  CHECK_FALSE(h.manager->all_done());  // nothing added yet
  REQUIRE(h.manager->add(spec("a")).has_value());
  REQUIRE(h.manager->add(spec("b")).has_value());
  h.subscribe();
  CHECK(h.manager->count(Phase::pending) == 2);
  h.offer(2, 1024);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 2);
  h.status(tasks[0].task_id().value(), mesos::v1::TASK_FINISHED);
  REQUIRE(run_until(h.io, [&] { return h.manager->count(Phase::done) == 1; }));
  CHECK_FALSE(h.manager->all_done());
  h.status(tasks[1].task_id().value(), mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] { return h.manager->all_done(); }));
  CHECK(h.manager->count(Phase::done) == 2);
}

TEST_CASE("tasks: offers refused by constraints are counted, a starved task is surfaced",
          "[tasks]") {
  auto options = fast();
  options.starved_after = 100ms;
  std::vector<std::string> warnings;
  options.on_log = [&](hs::LogLevel level, std::string_view message) {
    if (level == hs::LogLevel::warning) warnings.emplace_back(message);
  };
  Harness h(options);
  auto s = spec("picky");
  s.constraints = {{"rack", "r1"}};
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  h.offer_with("rack", "r2");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::DECLINE).size() == 1; }));
  CHECK(h.manager->counters().offers_declined_for_constraints == 1);
  CHECK_FALSE(h.manager->find("picky")->starved);
  h.offer(4, 4096);  // no attribute at all: refused by the constraint too
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::DECLINE).size() == 2; }));
  CHECK(h.manager->counters().offers_declined_for_constraints == 2);

  const auto since = std::chrono::steady_clock::now();
  REQUIRE(run_until(h.io, [&] { return std::chrono::steady_clock::now() - since > 110ms; }));
  h.offer_with("rack", "r3");
  REQUIRE(run_until(h.io, [&] { return h.manager->find("picky")->starved; }));
  CHECK_THAT(h.manager->find("picky")->message, Catch::Contains("rack=r1"));
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("'picky'"));

  h.offer_with("rack", "r1");
  CHECK(h.launched(1).size() == 1);
  CHECK_FALSE(h.manager->find("picky")->starved);
}

TEST_CASE("tasks: constraints match hostname, text, scalar and set attributes", "[tasks]") {
  Harness h;
  auto s = spec("all");
  s.constraints = {{"hostname", "h1"}, {"gpus", "2"}, {"zones", "b"}, {"rack", "r1"}};
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  Event e;
  e.set_type(Event::OFFERS);
  auto* offer = e.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o-attrs");
  offer->mutable_framework_id()->set_value("fw-1");
  offer->mutable_agent_id()->set_value("a1");
  offer->set_hostname("h1");
  for (auto [name, value] : {std::pair{"cpus", 4.0}, std::pair{"mem", 4096.0}}) {
    auto* r = offer->add_resources();
    r->set_name(name);
    r->set_type(mesos::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(value);
  }
  auto* gpus = offer->add_attributes();
  gpus->set_name("gpus");
  gpus->set_type(mesos::v1::Value::SCALAR);
  gpus->mutable_scalar()->set_value(2.0);
  auto* zones = offer->add_attributes();
  zones->set_name("zones");
  zones->set_type(mesos::v1::Value::SET);
  zones->mutable_set()->add_item("a");
  zones->mutable_set()->add_item("b");
  auto* rack = offer->add_attributes();
  rack->set_name("rack");
  rack->set_type(mesos::v1::Value::TEXT);
  rack->mutable_text()->set_value("r1");
  h.master.send(e);
  CHECK(h.launched(1).size() == 1);
}

TEST_CASE("tasks: a repeated earlier state of an ended run does not bring it back", "[tasks]") {
  Harness h;
  auto s = spec("once", RestartPolicy::on_failure);
  s.restart.max_restarts = 1;
  s.restart.backoff = {10s, 10s, 1, 0};  // stays backing off for the whole test
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  h.offer(2, 1024);
  const auto id = h.launched(1)[0].task_id().value();
  h.status(id, mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] { return h.phase("once") == Phase::backing_off; }));
  // A restarted master repeats the run's unacknowledged RUNNING, then its FAILED.
  h.status(id, mesos::v1::TASK_RUNNING);
  h.status(id, mesos::v1::TASK_FAILED);
  h.status(id, mesos::v1::TASK_RUNNING, std::nullopt, "u-late");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 1; }));
  CHECK(h.phase("once") == Phase::backing_off);
  CHECK(h.manager->find("once")->restarts == 1);
}

TEST_CASE("tasks: the record keeps the latest status's reason, stored, cleared at a relaunch",
          "[tasks]") {
  FlakyStore store;
  auto options = fast();
  options.store = &store;
  Harness h(options);
  REQUIRE(h.manager->add(spec("svc", RestartPolicy::on_failure)).has_value());
  h.subscribe();
  h.offer(1, 1024);
  const auto first = h.launched(1);
  REQUIRE(first.size() == 1);
  const std::string id = first[0].task_id().value();

  h.status(id, mesos::v1::TASK_RUNNING, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::active; }));
  CHECK(h.manager->find("svc")->reason == mesos::v1::TaskStatus::REASON_RECONCILIATION);
  // A later status without a reason: the old one no longer describes the run.
  h.status(id, mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return !h.manager->find("svc")->reason; }));

  h.status(id, mesos::v1::TASK_FAILED, mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
  REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::backing_off; }));
  CHECK(h.manager->find("svc")->reason ==
        mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);
  CHECK(store.saved.at("svc").second.reason ==
        mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);

  const auto revives = h.calls(Call::REVIVE).size();
  REQUIRE(run_until(
      h.io, [&] { return h.calls(Call::REVIVE).size() > revives; }, 2s));
  h.offer(1, 1024);
  REQUIRE(h.launched(2).size() == 1);
  CHECK_FALSE(h.manager->find("svc")->reason);
}

TEST_CASE("tasks: update_spec changes the next launch, never the current run", "[tasks]") {
  FlakyStore store;
  auto options = fast();
  options.store = &store;
  Harness h(options);
  REQUIRE(h.manager->add(spec("waiting")).has_value());
  REQUIRE(h.manager->add(spec("svc", RestartPolicy::on_failure)).has_value());

  SECTION("bad calls change nothing") {
    CHECK(h.manager->update_spec(spec("nobody")).error().code == errc::invalid_argument);
    auto empty = spec("svc");
    empty.resources = {};
    CHECK(h.manager->update_spec(empty).error().code == errc::invalid_argument);
    CHECK(store.saved.at("svc").first.resources.scalars.at("cpus") == 0.5);
  }

  SECTION("pending: the first launch uses the new spec; running: kept until the relaunch") {
    auto renewed = spec("waiting");
    renewed.command.set_value("run-new");
    REQUIRE(h.manager->update_spec(renewed).has_value());
    CHECK(store.saved.at("waiting").first.command.value() == "run-new");
    CHECK(h.phase("waiting") == Phase::pending);

    h.subscribe();
    h.offer(2, 1024);
    const auto first = h.launched(1);
    REQUIRE(first.size() == 2);
    std::map<std::string, mesos::v1::TaskInfo> by_name;
    for (const auto& task : first)
      by_name[task.name()] = task;
    CHECK(by_name.at("waiting").command().value() == "run-new");
    CHECK(by_name.at("svc").command().value() == "run-it");

    const std::string svc_id = by_name.at("svc").task_id().value();
    h.status(svc_id, mesos::v1::TASK_RUNNING);
    REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::active; }));
    auto next = spec("svc", RestartPolicy::on_failure);
    next.command.set_value("run-v2");
    next.resources.scalars["mem"] = 256;
    REQUIRE(h.manager->update_spec(next).has_value());
    CHECK(store.saved.at("svc").first.command.value() == "run-v2");
    // The run goes on: no KILL, same task id, same phase, launches unchanged.
    h.offer(2, 1024);
    REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
    CHECK(h.calls(Call::KILL).empty());
    CHECK(h.calls(Call::ACCEPT).size() == 1);
    CHECK(h.phase("svc") == Phase::active);
    CHECK(h.manager->find("svc")->task_id == svc_id);
    CHECK(h.manager->find("svc")->launches == 1);

    h.status(svc_id, mesos::v1::TASK_FAILED);
    REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::backing_off; }));
    const auto revives = h.calls(Call::REVIVE).size();
    REQUIRE(run_until(
        h.io, [&] { return h.calls(Call::REVIVE).size() > revives; }, 2s));
    h.offer(2, 1024);
    const auto second = h.launched(2);
    REQUIRE(second.size() == 1);
    CHECK(second[0].command().value() == "run-v2");
    auto taken = heatblast::Resources::from_proto(second[0].resources());
    REQUIRE(taken.has_value());
    CHECK(taken->scalar("mem") == 256);
    CHECK(h.manager->find("svc")->launches == 2);
  }
}

// Found by the chaos soak: a stall swallowed a run's own updates, reconciliation answered
// FINISHED, and the run was taken for one that never started.
TEST_CASE("tasks: a run answered FINISHED by reconciliation did run and is not launched again",
          "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("once")).has_value());
  h.subscribe();
  h.offer(2, 1024);
  const auto id = h.launched(1)[0].task_id().value();
  h.status(id, mesos::v1::TASK_FINISHED, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("once") == Phase::done; }));
  CHECK(h.manager->find("once")->launches == 1);
  CHECK(h.manager->find("once")->last_outcome == mesos::v1::TASK_FINISHED);
}

// Found by the chaos soak: a late FINISHED of an earlier run ended the current run in the
// manager while it still ran, and a second run of the slot was launched.
TEST_CASE("tasks: late updates of an earlier run leave the current run alone", "[tasks]") {
  Harness h;
  auto s = spec("svc", RestartPolicy::always);
  s.restart.backoff = {10s, 10s, 1, 0};  // a relaunch would not come within the test
  REQUIRE(h.manager->add(s).has_value());
  h.subscribe();
  h.offer(2, 1024);
  const auto lost = h.launched(1)[0].task_id().value();
  // The master does not know the launch: pending again...
  h.status(lost, mesos::v1::TASK_LOST, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::pending; }));
  // ...and an earlier run of the slot turns up running: adopted as the current run.
  const std::string earlier = "svc.00000000000000aa";
  h.status(earlier, mesos::v1::TASK_RUNNING, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("svc") == Phase::active; }));
  CHECK(h.manager->find("svc")->task_id == earlier);
  // The run taken for lost reports, late, that it ended: not the current run's end.
  h.status(lost, mesos::v1::TASK_RUNNING, std::nullopt, "u-1");
  h.status(lost, mesos::v1::TASK_FAILED, std::nullopt, "u-2");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 2; }));
  CHECK(h.phase("svc") == Phase::active);
  CHECK(h.manager->find("svc")->task_id == earlier);
  CHECK(h.manager->find("svc")->state == mesos::v1::TASK_RUNNING);
  CHECK(h.manager->find("svc")->restarts == 0);
}

// Resident kilobytes of this process.
long resident_kib() {
  long pages = 0, resident = 0;
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  const int read = std::fscanf(f, "%ld %ld", &pages, &resident);
  std::fclose(f);
  return read == 2 ? resident * (::sysconf(_SC_PAGESIZE) / 1024) : -1;
}

TEST_CASE("tasks: heap freed by a burst goes back to the OS after events, not while idle",
          "[tasks]") {
  auto options = fast();
  options.trim_heap_interval = 20ms;
  Harness h(options);
  // A burst: 16 MiB in 1 KiB blocks, touched, then all freed but every 64th, which keeps the
  // holes inside the heap (glibc gives back only the heap's top by itself).
  constexpr std::size_t kBlocks = 16 * 1024, kBlock = 1024, kKeepEvery = 64;
  std::vector<char*> blocks;
  bool allocated = true;
  for (std::size_t i = 0; i < kBlocks && allocated; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    allocated = blocks.back() != nullptr;
    if (allocated) std::memset(blocks.back(), 1, kBlock);
  }
  REQUIRE(allocated);
  for (std::size_t i = 0; i < kBlocks; ++i) {
    if (i % kKeepEvery != kKeepEvery - 1) std::free(std::exchange(blocks[i], nullptr));
  }
  CHECK_FALSE(trim_heap(SIZE_MAX));  // never without that much free
  // No event yet: nothing is armed, whatever is free.
  REQUIRE_FALSE(run_until(
      h.io, [&] { return h.manager->counters().heap_trims > 0; }, 100ms));
  const long before = resident_kib();
  h.subscribe();  // SUBSCRIBED: an event
  if (kTrimmableHeap) {
    CHECK(free_heap_bytes() >= (std::size_t{4} << 20));
    REQUIRE(run_until(h.io, [&] { return h.manager->counters().heap_trims == 1; }));
    // The holes' whole pages are gone from the resident set: most of the 15.75 MiB freed.
    CHECK(before - resident_kib() >= 8 * 1024);
  } else {
    // Another allocator (a sanitizer's): nothing to trim, nothing done.
    CHECK_FALSE(run_until(
        h.io, [&] { return h.manager->counters().heap_trims > 0; }, 100ms));
  }
  for (char* block : blocks)
    std::free(block);
}

TEST_CASE("tasks: a launch burst's heap goes back to the OS once its last ACCEPT is answered",
          "[tasks]") {
  auto options = fast();
  options.trim_heap_interval = std::chrono::hours(1);  // the timer never fires here
  Harness h(options);
  constexpr int kTasks = 1000;  // what counts as a burst
  for (int i = 0; i < kTasks; ++i)
    REQUIRE(h.manager->add(spec(fmt::format("t{:04}", i))).has_value());
  h.subscribe();
  // Holes inside the heap, as a burst leaves them (see the test above): 16 MiB in 1 KiB
  // blocks, all freed but every 64th.
  constexpr std::size_t kBlocks = 16 * 1024, kBlock = 1024, kKeepEvery = 64;
  std::vector<char*> blocks;
  for (std::size_t i = 0; i < kBlocks; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    REQUIRE(blocks.back() != nullptr);
    std::memset(blocks.back(), 1, kBlock);
  }
  for (std::size_t i = 0; i < kBlocks; ++i) {
    if (i % kKeepEvery != kKeepEvery - 1) std::free(std::exchange(blocks[i], nullptr));
  }
  REQUIRE(h.manager->counters().heap_trims == 0);
  h.offer(0.5 * kTasks, 128.0 * kTasks);
  REQUIRE(h.launched(1).size() == kTasks);
  if (kTrimmableHeap) {
    REQUIRE(run_until(h.io, [&] { return h.manager->counters().heap_trims == 1; }));
  } else {
    CHECK_FALSE(run_until(
        h.io, [&] { return h.manager->counters().heap_trims > 0; }, 100ms));
  }
  for (char* block : blocks)
    std::free(block);
}

// The manager finds a run's task from its id ("<name>.<suffix>", up to the last '.'), not from
// an index by id; names with dots, and a name that is another's prefix, stay apart.
TEST_CASE("tasks: updates reach the task whose current run they name, dotted names included",
          "[tasks]") {
  Harness h;
  for (const char* name : {"a", "a.b", "a.b.c"})
    REQUIRE(h.manager->add(spec(name, RestartPolicy::never)).has_value());
  h.subscribe();
  h.offer(4, 1024);
  std::map<std::string, std::string> ids;
  for (const auto& info : h.launched(1))
    ids[info.name()] = info.task_id().value();
  REQUIRE(ids.size() == 3);
  CHECK(ids["a.b"].starts_with("a.b."));
  h.status(ids["a.b"], mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase("a.b") == Phase::active; }));
  CHECK(h.phase("a") == Phase::launched);
  CHECK(h.phase("a.b.c") == Phase::launched);
  h.status(ids["a.b.c"], mesos::v1::TASK_FINISHED);
  REQUIRE(run_until(h.io, [&] { return h.phase("a.b.c") == Phase::done; }));
  CHECK(h.phase("a.b") == Phase::active);
  CHECK(h.phase("a") == Phase::launched);
  // An id that names no current run ("a.b" is a task, not a run of "a" here: "a" has its own
  // run) changes nothing.
  h.status("a.b", mesos::v1::TASK_FAILED);
  h.status(ids["a"], mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase("a") == Phase::active; }));
  CHECK(h.manager->find("a")->task_id == ids["a"]);
  CHECK(h.phase("a.b") == Phase::active);
  CHECK(h.manager->find("a.b")->task_id == ids["a.b"]);
}

// Found by the chaos soak: every reconciliation answer was a synchronous write, hundreds per
// resubscribe, and the scheduler fell behind with its acknowledgements.
TEST_CASE("tasks: a repeated state of the active run is not written again unless a save failed",
          "[tasks]") {
  struct CountingStore : FlakyStore {
    int saves = 0;
    heatblast::Result<void> save_task(const TaskSpec& spec, const TaskRecord& record) override {
      ++saves;
      return FlakyStore::save_task(spec, record);
    }
  } store;
  auto options = fast();
  options.store = &store;
  Harness h(options);
  REQUIRE(h.manager->add(spec("svc", RestartPolicy::always)).has_value());
  h.subscribe();
  h.offer(2, 1024);
  const auto id = h.launched(1)[0].task_id().value();
  h.status(id, mesos::v1::TASK_RUNNING, std::nullopt, "u-1");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 1; }));
  const int saves = store.saves;
  CHECK(store.saved.at("svc").second.state == mesos::v1::TASK_RUNNING);
  // One at a time: updates that arrive together are one write anyway.
  auto updates = [&] { return h.client->counters().events["UPDATE"]; };
  for (auto reason : {std::optional(mesos::v1::TaskStatus::REASON_RECONCILIATION),
                      std::optional(mesos::v1::TaskStatus::REASON_RECONCILIATION),
                      std::optional<mesos::v1::TaskStatus::Reason>()}) {
    const auto seen = updates();
    h.status(id, mesos::v1::TASK_RUNNING, reason, reason ? "" : "u-2");
    REQUIRE(run_until(h.io, [&] { return updates() == seen + 1; }));
  }
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 2; }));
  // The reason changed once (REASON_RECONCILIATION), then back: two writes, not three.
  CHECK(store.saves == saves + 2);

  // A failed save is retried by the repeat, and only then acknowledged.
  store.broken = true;
  h.status(id, mesos::v1::TASK_RUNNING, mesos::v1::TaskStatus::REASON_RECONCILIATION, "u-3");
  REQUIRE(run_until(h.io, [&] { return h.manager->counters().store_errors == 1; }));
  store.broken = false;
  h.status(id, mesos::v1::TASK_RUNNING, mesos::v1::TaskStatus::REASON_RECONCILIATION, "u-3");
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 3; }));
  CHECK(store.saved.at("svc").second.reason == mesos::v1::TaskStatus::REASON_RECONCILIATION);
}

TEST_CASE("tasks: after SUBSCRIBED launches wait for the reconciliation, an old run is adopted",
          "[tasks]") {
  // A program restarted without a store re-adds its spec; the master still runs the old run.
  Harness h;
  REQUIRE(h.manager->add(spec("etl-1-1")).has_value());
  h.master.hold_next_call = true;  // the implicit RECONCILE: no answer yet
  h.subscribe();
  REQUIRE(run_until(h.io, [&] { return h.master.held_call.has_value(); }));
  REQUIRE(h.calls(Call::RECONCILE).size() == 1);
  // An offer comes before the master reported the old run: kept, neither used nor declined.
  const std::string offer_id = h.offer(2, 1024);
  CHECK_FALSE(run_until(
      h.io, [&] { return h.phase("etl-1-1") != Phase::pending || !h.calls(Call::DECLINE).empty(); },
      100ms));
  // The reconciliation reports the old run, then the master answers the RECONCILE.
  h.status("etl-1-1.00000000deadbeef", mesos::v1::TASK_RUNNING,
           mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.phase("etl-1-1") == Phase::active; }));
  h.master.held_call->respond(202);
  // The hold ends with the REVIVE's answer; the kept offer is declined, nothing launched twice.
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
  CHECK(h.calls(Call::DECLINE)[0].decline().offer_ids(0).value() == offer_id);
  CHECK(h.calls(Call::ACCEPT).empty());
  CHECK(h.manager->find("etl-1-1")->task_id == "etl-1-1.00000000deadbeef");
  CHECK(h.manager->in_flight() == 1);
  CHECK(h.manager->counters().orphans_killed == 0);
}

TEST_CASE("tasks: offers kept during the launch hold are used when it ends, rescinded ones not",
          "[tasks]") {
  auto options = fast();
  options.adoption_hold = 100ms;
  Harness h(options);
  REQUIRE(h.manager->add(spec("a")).has_value());
  h.master.hold_next_call = true;  // the master never answers the implicit RECONCILE
  h.subscribe();
  REQUIRE(run_until(h.io, [&] { return h.master.held_call.has_value(); }));
  const std::string gone = h.offer(2, 1024);
  Event rescind;
  rescind.set_type(Event::RESCIND);
  rescind.mutable_rescind()->mutable_offer_id()->set_value(gone);
  h.master.send(rescind);
  h.offer(2, 1024);
  // No answer within adoption_hold: launched anyway, on the offer that is still valid.
  REQUIRE(run_until(h.io, [&] { return h.phase("a") == Phase::launched; }));
  h.master.held_call->respond(202);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 1);
  CHECK(h.calls(Call::ACCEPT)[0].accept().offer_ids(0).value() != gone);
}

TEST_CASE("tasks: a live run of a known task that is not its current run is killed", "[tasks]") {
  Harness h;
  REQUIRE(h.manager->add(spec("job")).has_value());
  h.subscribe();
  h.offer(2, 1024);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 1);
  const std::string current = tasks[0].task_id().value();
  h.status(current, mesos::v1::TASK_RUNNING);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::active; }));

  // An older run, launched before the program restarted, turns up late.
  const std::string orphan = "job.00000000deadbeef";
  h.status(orphan, mesos::v1::TASK_RUNNING, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::KILL).size() == 1; }));
  CHECK(h.calls(Call::KILL)[0].kill().task_id().value() == orphan);
  CHECK(h.calls(Call::KILL)[0].kill().agent_id().value() == "a1");
  CHECK(h.manager->counters().orphans_killed == 1);
  // Its KILLING does not bring another KILL; the current run is left alone.
  h.status(orphan, mesos::v1::TASK_KILLING);
  h.status(orphan, mesos::v1::TASK_KILLED);
  h.status(current, mesos::v1::TASK_RUNNING);
  CHECK_FALSE(run_until(
      h.io, [&] { return h.calls(Call::KILL).size() > 1; }, 100ms));
  CHECK(h.manager->find("job")->task_id == current);
  CHECK(h.phase("job") == Phase::active);
  // Ids that are not the manager's "<name>.<16 hex>" of a known task are not touched.
  h.status("job.not-ours", mesos::v1::TASK_RUNNING);
  h.status("other.00000000deadbeef", mesos::v1::TASK_RUNNING);
  // A run that reconciliation reported ended, whose earlier updates the master re-sends in
  // order (it had no acknowledgement for them): those are not a live run to kill.
  const std::string ended = "job.00000000cafef00d";
  h.status(ended, mesos::v1::TASK_FAILED, mesos::v1::TaskStatus::REASON_RECONCILIATION);
  h.status(ended, mesos::v1::TASK_STARTING, std::nullopt, "u-1");
  h.status(ended, mesos::v1::TASK_RUNNING, std::nullopt, "u-2");
  h.status(ended, mesos::v1::TASK_FAILED, std::nullopt, "u-3");
  h.status(current, mesos::v1::TASK_FINISHED);
  REQUIRE(run_until(h.io, [&] { return h.phase("job") == Phase::done; }));
  CHECK(h.calls(Call::KILL).size() == 1);
  CHECK(h.manager->counters().orphans_killed == 1);
}

// Acknowledge only what is saved, and launch only what is saved: the writes of the updates that
// arrive together are one batch, written before any of their acknowledgements is sent, and a
// launch is written before its ACCEPT.
TEST_CASE("tasks: a burst of updates is one store write, made before its acknowledgements",
          "[tasks]") {
  struct BatchStore : FlakyStore {
    heatblast::scheduler::Client* client = nullptr;
    // Per write_tasks: how many tasks, and the acknowledgements the client had sent by then.
    std::vector<std::pair<std::size_t, std::uint64_t>> batches;
    heatblast::Result<void> write_tasks(const std::vector<Write>& writes) override {
      batches.emplace_back(writes.size(), client->counters().acknowledgements);
      return TaskStore::write_tasks(writes);
    }
  } store;
  auto options = fast();
  options.store = &store;
  Harness h(options);
  store.client = h.client.get();
  h.manager->batch([&] {
    for (const char* name : {"a", "b", "c"})
      REQUIRE(h.manager->add(spec(name)).has_value());
  });
  // batch(): the three adds were one write.
  REQUIRE(store.batches.size() == 1);
  CHECK(store.batches[0].first == 3);
  CHECK(store.saved.size() == 3);
  h.subscribe();

  // The launches of one offer: one write, before the ACCEPT.
  h.offer(4, 4096);
  const auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 3);
  REQUIRE(store.batches.size() == 2);
  CHECK(store.batches[1].first == 3);
  for (const char* name : {"a", "b", "c"})
    CHECK(store.saved.at(name).second.phase == Phase::launched);

  // Three updates in one write to the socket, so in one read: one write to the store, and the
  // acknowledgements only after it.
  std::string bytes;
  int n = 0;
  for (const auto& task : tasks) {
    Event e;
    e.set_type(Event::UPDATE);
    auto* s = e.mutable_update()->mutable_status();
    *s->mutable_task_id() = task.task_id();
    s->mutable_agent_id()->set_value("a1");
    s->set_state(mesos::v1::TASK_RUNNING);
    s->set_uuid("uuid-" + std::to_string(++n));
    std::string record;
    heatblast::MessageCodec(h.master.stream_type).encode(e, record);
    heatblast::recordio_append(bytes, record);
  }
  const std::uint64_t acks_before = h.client->counters().acknowledgements;
  REQUIRE(h.master.send_raw(bytes));
  REQUIRE(run_until(h.io, [&] { return h.calls(Call::ACKNOWLEDGE).size() == 3; }));
  REQUIRE(store.batches.size() == 3);
  CHECK(store.batches[2].first == 3);
  CHECK(store.batches[2].second == acks_before);  // no acknowledgement went out before it
  for (const char* name : {"a", "b", "c"})
    CHECK(store.saved.at(name).second.state == mesos::v1::TASK_RUNNING);

  // The same burst while the store fails: nothing acknowledged, all three held.
  const std::uint64_t held = h.client->counters().acknowledgements_held;
  store.broken = true;
  std::string again;
  n = 0;
  for (const auto& task : tasks) {
    Event e;
    e.set_type(Event::UPDATE);
    auto* s = e.mutable_update()->mutable_status();
    *s->mutable_task_id() = task.task_id();
    s->mutable_agent_id()->set_value("a1");
    s->set_state(mesos::v1::TASK_FINISHED);
    s->set_uuid("uuid-f" + std::to_string(++n));
    std::string record;
    heatblast::MessageCodec(h.master.stream_type).encode(e, record);
    heatblast::recordio_append(again, record);
  }
  REQUIRE(h.master.send_raw(again));
  REQUIRE(run_until(h.io, [&] { return h.client->counters().acknowledgements_held == held + 3; }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.calls(Call::ACKNOWLEDGE).size() == 3);
  CHECK(h.manager->counters().acknowledgements_held == 3);
  CHECK(h.manager->counters().store_errors == 1);
  CHECK(store.saved.at("a").second.state == mesos::v1::TASK_RUNNING);
}

TEST_CASE("tasks: a launch whose record cannot be written is not sent", "[tasks]") {
  FlakyStore store;
  auto options = fast();
  options.store = &store;
  Harness h(options);
  REQUIRE(h.manager->add(spec("job")).has_value());
  h.subscribe();
  store.broken = true;
  h.offer(2, 1024);
  REQUIRE(run_until(h.io, [&] { return !h.calls(Call::DECLINE).empty(); }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.calls(Call::ACCEPT).empty());
  CHECK(h.phase("job") == Phase::pending);
  CHECK(h.manager->find("job")->launches == 0);
  CHECK(h.manager->find("job")->task_id.empty());
  CHECK(store.saved.at("job").second.phase == Phase::pending);
  CHECK(h.manager->counters().store_errors == 1);

  // The store is back: the next offer launches it, written first.
  store.broken = false;
  h.offer(2, 1024);
  const auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 1);
  CHECK(store.saved.at("job").second.phase == Phase::launched);
  CHECK(store.saved.at("job").second.task_id == tasks[0].task_id().value());
}

TEST_CASE("tasks: tasks of one spec stay apart: launches, updates and the store see each its own",
          "[tasks]") {
  // Both kinds of store: one that reads the task's name from the write (SqliteStore), one that
  // reads it from the spec (FlakyStore through TaskStore's default write_tasks).
  FlakyStore flaky;
  auto sqlite = heatblast::store::SqliteStore::open(":memory:");
  REQUIRE(sqlite.has_value());
  TaskStore* store = &flaky;
  SECTION("a store that reads the spec's name") {
    store = &flaky;
  }
  SECTION("SqliteStore") {
    store = sqlite->get();
  }
  auto options = fast();
  options.store = store;
  Harness h(options);
  h.manager->batch([&] {
    for (const char* name : {"a", "b", "c"})
      REQUIRE(h.manager->add(spec(name, RestartPolicy::always)).has_value());
  });
  // Outside a batch too (a write of its own).
  auto changed = spec("b", RestartPolicy::always);
  changed.command.set_value("run-b");
  REQUIRE(h.manager->update_spec(changed).has_value());
  // Removing one of those that share a spec leaves it to the others.
  REQUIRE(h.manager->kill("c").has_value());
  REQUIRE(h.manager->remove("c").has_value());

  h.subscribe();
  h.offer(4, 4096);
  auto tasks = h.launched(1);
  REQUIRE(tasks.size() == 2);
  std::map<std::string, std::string> commands;
  for (const auto& task : tasks) {
    CHECK_THAT(task.task_id().value(), Catch::StartsWith(task.name() + "."));
    commands[task.name()] = task.command().value();
  }
  CHECK(commands == std::map<std::string, std::string>{{"a", "run-it"}, {"b", "run-b"}});

  auto loaded = store->load_tasks();
  REQUIRE(loaded.has_value());
  std::map<std::string, std::string> stored;
  for (const auto& [s, record] : *loaded) {
    CHECK(s.name == record.name);
    CHECK(record.phase == Phase::launched);
    stored[s.name] = s.command.value();
  }
  CHECK(stored == commands);

  // b back to a's spec, then a changed: b keeps what it was given.
  REQUIRE(h.manager->update_spec(spec("b", RestartPolicy::always)).has_value());
  auto other = spec("a", RestartPolicy::on_failure);
  other.command.set_value("run-a");
  REQUIRE(h.manager->update_spec(other).has_value());
  for (const auto& task : tasks)
    h.status(task.task_id().value(), mesos::v1::TASK_FAILED);
  REQUIRE(run_until(h.io, [&] {
    return h.phase("a") == Phase::backing_off && h.phase("b") == Phase::backing_off;
  }));
  h.io.run_for(100ms);  // past the backoff (at most 40 ms)
  h.offer(4, 4096);
  std::map<std::string, std::string> next;
  for (const auto& task : h.launched(2))
    next[task.name()] = task.command().value();
  CHECK(next == std::map<std::string, std::string>{{"a", "run-a"}, {"b", "run-it"}});
}
