// etl-scheduler against local-master in this process, over real loopback HTTP, with real
// processes: the gate and its ticker, -maxtasks, failures and timeouts, leader changes, master
// and scheduler restarts, shutdown, the health endpoint. Every wait is bounded (run_until); none
// is a fixed sleep. At every task change the tests check -maxtasks at the master and in the
// TaskManager, and they record every task id the master ever held per task name, so that a task
// launched twice cannot go unnoticed.
#include "etl_scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fakes/run_until.hpp"
#include "heatblast/store.hpp"
#include "support/local_master_fixture.hpp"
#include "support/temp_dir.hpp"
#include "support/zookeeper_fixture.hpp"

namespace {

namespace etl = heatblast::etl;
using namespace std::chrono_literals;
using heatblast::testing::LocalMaster;
using heatblast::testing::LocalMasterConfig;
using heatblast::testing::ProcessGroups;
using heatblast::testing::run_until;
using heatblast::testing::TempDir;
using SteadyClock = std::chrono::steady_clock;

// The master of a World: replicas on loopback, real processes, a work dir and process groups
// that a restarted LocalMaster (same dir, same port) takes over.
LocalMasterConfig master_config(const std::string& work_dir, ProcessGroups& groups, int replicas,
                                std::uint16_t port = 0) {
  LocalMasterConfig config;
  config.replicas = replicas;
  config.allocation_interval = 50ms;
  config.reap_interval = 20ms;
  config.resources = "cpus:4;mem:4096;disk:1024;ports:[31000-31099]";
  config.seed = std::nullopt;
  return config.restartable(work_dir, groups, port);
}

// The test's world: one io_context, a local-master, etl-schedulers, and what was observed.
class World {
 public:
  // `configure` changes the master's settings, its agents for instance.
  explicit World(int replicas = 1, const std::function<void(LocalMasterConfig&)>& configure = {}) {
    LocalMasterConfig config = master_config(dir / "master", groups, replicas);
    if (configure) configure(config);
    master = std::make_unique<LocalMaster>(io, std::move(config));
  }
  ~World() {
    schedulers_.clear();
    master.reset();
  }

  // Flags for a test run: small and fast, no health endpoint, a state file in the temp dir.
  etl::Flags flags() const {
    etl::Flags f;
    f.masters = master->addresses();
    f.master = fmt::format("{}", fmt::join(f.masters, ","));
    f.user = "tester";
    f.maxtasks = 3;
    f.wait_seconds = 0.3;
    f.cmd = "sleep 0.2";
    f.cpu = 0.1;
    f.mem = 32;
    f.listen = "";
    f.state_file = dir.str() + "/etl.db";
    f.debug = true;
    return f;
  }

  struct Run {
    // ETL_TEST_DUMP=1 prints each run's whole log (the failure messages show its tail).
    ~Run() {
      if (std::getenv("ETL_TEST_DUMP")) {
        for (const auto& line : lines)
          std::fprintf(stderr, "%s\n", line.c_str());
      }
    }
    std::vector<std::string> lines;
    std::unique_ptr<etl::Logger> logger;
    std::unique_ptr<etl::EtlScheduler> scheduler;
    std::optional<int> status;
    etl::Flags flags;
    // The ticks held back (World::start with hold_ticks), oldest first.
    std::vector<std::function<void()>> held_ticks;
    // Per round: when its first task was launched (steady clock).
    std::map<std::string, SteadyClock::time_point> launched_at;  // by task name

    bool done() const { return status.has_value(); }
    etl::Stats stats() const { return scheduler->stats(); }
    const heatblast::tasks::TaskManager& tasks() const { return *scheduler->task_manager(); }
    // Opens the rounds of the ticks held so far.
    void release_ticks() {
      auto ticks = std::move(held_ticks);
      held_ticks.clear();
      for (auto& open : ticks)
        open();
    }
    bool logged(std::string_view text) const {
      for (const auto& line : lines) {
        if (line.find(text) != std::string::npos) return true;
      }
      return false;
    }
    std::vector<std::string> subscribed_ids() const {
      std::vector<std::string> out;
      const std::string marker = "Subscribed: FrameworkID: ";
      for (const auto& line : lines) {
        if (auto at = line.find(marker); at != std::string::npos) {
          out.push_back(line.substr(at + marker.size()));
        }
      }
      return out;
    }
    std::string history() const {
      std::string out = "etl-scheduler log (last lines):\n";
      for (std::size_t i = lines.size() > 40 ? lines.size() - 40 : 0; i < lines.size(); ++i)
        out += "  " + lines[i] + "\n";
      return out;
    }
  };

  // With hold_ticks, a -wait tick opens its round only when the test calls Run::release_ticks():
  // the test decides what has ended by then, whatever the machine's load.
  Run& start(etl::Flags f, bool json = false, bool hold_ticks = false) {
    auto run = std::make_unique<Run>();
    Run* r = run.get();
    r->flags = f;
    r->logger =
        std::make_unique<etl::Logger>(etl::LoggerOptions{.json = json, .debug = true},
                                      [r](std::string_view line) { r->lines.emplace_back(line); });
    etl::Hooks hooks;
    hooks.client_options = [](heatblast::scheduler::Options& options) {
      options.backoff = {.initial = 50ms, .max = 200ms, .multiplier = 2, .jitter = 0.5};
      options.heartbeat_misses = 3;
      options.call_timeout = 5s;
      options.connect_timeout = 2s;
    };
    hooks.on_exit = [r](int status) { r->status = status; };
    if (hold_ticks) {
      hooks.hold_tick = [r](std::function<void()> open) {
        r->held_ticks.push_back(std::move(open));
      };
    }
    hooks.on_task_change = [this, r](const heatblast::tasks::TaskChange& change) {
      if (change.record.phase == heatblast::tasks::Phase::launched &&
          change.previous_phase != heatblast::tasks::Phase::launched) {
        r->launched_at.emplace(change.record.name, SteadyClock::now());
      }
      check_limits(*r);
    };
    max_allowed = f.maxtasks;
    r->scheduler = std::make_unique<etl::EtlScheduler>(io.get_executor(), f, *r->logger, hooks);
    schedulers_.push_back(std::move(run));
    auto started = r->scheduler->start();
    if (!started) FAIL("EtlScheduler::start failed: " << started.error().what());
    return *r;
  }

  // Runs until `done()`, observing the master after every handler; fails with the logs.
  template <class Predicate>
  void wait_for(const Run& run, std::string_view what, Predicate&& done,
                std::chrono::milliseconds limit = 20s) {
    const bool ok = run_until(
        io,
        [&] {
          observe_master();
          return done();
        },
        limit);
    if (!ok) {
      FAIL("timed out after " << limit.count() << " ms waiting for " << what << "\n"
                              << run.history()
                              << (master ? master->log_tail(20)
                                         : std::string("local-master: stopped\n")));
    }
  }

  void wait_exit(const Run& run, std::chrono::milliseconds limit = 20s) {
    wait_for(
        run, "etl-scheduler to end", [&] { return run.done(); }, limit);
  }

  // Records the task ids the master holds, per task name, and checks -maxtasks there.
  void observe_master() {
    if (!master) return;
    for (const auto& framework : master->server().master().snapshot().frameworks) {
      std::size_t running = 0;
      for (const auto& task : framework.tasks) {
        task_ids_at_master[task.name].insert(task.task_id);
        switch (task.state) {
          case mesos::v1::TASK_STAGING:
          case mesos::v1::TASK_STARTING:
          case mesos::v1::TASK_RUNNING:
          case mesos::v1::TASK_KILLING:
            ++running;
            break;
          default:
            break;
        }
      }
      most_running_at_master = std::max(most_running_at_master, running);
      if (running > static_cast<std::size_t>(max_allowed)) {
        violations.push_back(
            fmt::format("the master runs {} tasks of framework '{}'", running, framework.id));
      }
    }
  }

  void check_limits(const Run& run) {
    const std::size_t in_flight = run.tasks().in_flight();
    if (in_flight > static_cast<std::size_t>(run.flags.maxtasks)) {
      violations.push_back(fmt::format("the TaskManager has {} tasks in flight", in_flight));
    }
    observe_master();
  }

  // Every name the master ever held has exactly one task id.
  void check_no_task_launched_twice() {
    for (const auto& [name, ids] : task_ids_at_master) {
      INFO("task '" << name << "' ids at the master: " << Catch::Detail::stringify(ids));
      CHECK(ids.size() == 1);
    }
  }

  void restart_master() {
    const std::uint16_t port = master->server().ports().at(0);
    master.reset();
    master = std::make_unique<LocalMaster>(io, master_config(dir / "master", groups, 1, port));
  }

  boost::asio::io_context io;
  TempDir dir{"heatblast-etl"};
  ProcessGroups groups;
  std::unique_ptr<LocalMaster> master;
  std::map<std::string, std::set<std::string>> task_ids_at_master;
  std::vector<std::string> violations;
  std::size_t most_running_at_master = 0;
  int max_allowed = 1 << 30;

 private:
  std::vector<std::unique_ptr<Run>> schedulers_;
};

std::set<std::string> names_at_master(const World& world) {
  std::set<std::string> out;
  for (const auto& [name, ids] : world.task_ids_at_master)
    out.insert(name);
  return out;
}

std::optional<std::string> stored_framework_id(const std::string& path) {
  auto store = heatblast::store::SqliteStore::open(path);
  REQUIRE(store.has_value());
  auto id = (*store)->framework_id();
  REQUIRE(id.has_value());
  return *id;
}

}  // namespace

TEST_CASE(
    "every -wait tick opens a round that tops up to -maxtasks, and -rounds ends with TEARDOWN") {
  World world;
  etl::Flags flags = world.flags();
  flags.rounds = 3;
  const auto t0 = SteadyClock::now();
  auto& run = world.start(flags, false, true);
  // Round k opens at tick k-1 once round k-1 has ended, so that it has every slot to fill (a
  // task still running at the tick would keep its slot: see the slow task below).
  for (int round = 2; round <= 3; ++round) {
    world.wait_for(run, fmt::format("a tick, and round {} ended", round - 1), [&] {
      return !run.held_ticks.empty() && run.stats().finished == 3u * (round - 1) &&
             run.tasks().in_flight() == 0;
    });
    run.release_ticks();
  }
  world.wait_exit(run);

  CHECK(run.status == 0);
  const etl::Stats stats = run.stats();
  CHECK(stats.rounds_filled == 3);
  CHECK(stats.launched == 9);
  CHECK(stats.finished == 9);
  CHECK(stats.failed == 0);
  CHECK(stats.max_in_flight == 3);
  CHECK(stats.ticks >= 2);
  CHECK(names_at_master(world) == std::set<std::string>{"etl-1-1", "etl-1-2", "etl-1-3", "etl-2-1",
                                                        "etl-2-2", "etl-2-3", "etl-3-1", "etl-3-2",
                                                        "etl-3-3"});
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
  // Round k opens at tick k-1: never before t0 + (k-1) * wait.
  for (int round = 2; round <= 3; ++round) {
    const auto at = run.launched_at.at(fmt::format("etl-{}-1", round));
    INFO("round " << round);
    CHECK(at - t0 >= (round - 1) * 300ms);
  }
  // TEARDOWN: the master forgot the framework, and the state file its id.
  const auto ids = run.subscribed_ids();
  REQUIRE(ids.size() == 1);
  const auto removed = world.master->server().master().snapshot().removed_frameworks;
  CHECK(std::find(removed.begin(), removed.end(), ids[0]) != removed.end());
  CHECK(stored_framework_id(flags.state_file).value_or("") == "");
  CHECK(run.logged("Finished task: etl-3-3."));
  CHECK(run.logged("Round 3: 3 task(s) launched"));
}

TEST_CASE("a slow task keeps its slot and never blocks a tick") {
  World world;
  etl::Flags flags = world.flags();
  // etl-1-1 runs until the test creates the release file; the others end at once.
  const std::string release = world.dir.str() + "/release";
  flags.cmd = fmt::format(
      "case \"$MESOS_TASK_ID\" in etl-1-1.*) while [ ! -e '{}' ]; do sleep 0.02; done;; *) "
      "true;; esac",
      release);
  flags.rounds = 3;
  auto& run = world.start(flags, false, true);
  const auto slow_is_active = [&] {
    const auto* slow = run.tasks().find("etl-1-1");
    return slow != nullptr && slow->phase == heatblast::tasks::Phase::active;
  };
  // Rounds 2 and 3 open at a tick once the fast tasks before them ended, etl-1-1 still running.
  for (int round = 2; round <= 3; ++round) {
    world.wait_for(run, fmt::format("a tick, and round {}'s fast tasks ended", round - 1), [&] {
      return !run.held_ticks.empty() && run.stats().finished == 2u * (round - 1) &&
             run.tasks().in_flight() == 1 && slow_is_active();
    });
    run.release_ticks();
  }
  world.wait_for(run, "round 3 filled", [&] { return run.stats().rounds_filled == 3; });
  CHECK(slow_is_active());
  std::FILE* file = std::fopen(release.c_str(), "w");
  REQUIRE(file != nullptr);
  std::fclose(file);
  world.wait_exit(run);

  CHECK(run.status == 0);
  // Rounds 2 and 3 filled the two free slots only.
  CHECK(names_at_master(world) == std::set<std::string>{"etl-1-1", "etl-1-2", "etl-1-3", "etl-2-1",
                                                        "etl-2-2", "etl-3-1", "etl-3-2"});
  CHECK(run.stats().max_in_flight == 3);
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
}

TEST_CASE("maxtasks: never exceeded when ticks come faster than tasks end") {
  World world;
  etl::Flags flags = world.flags();
  flags.maxtasks = 2;
  flags.wait_seconds = 0.05;
  flags.cmd = "sleep 0.25";
  flags.rounds = 8;
  auto& run = world.start(flags);
  world.wait_exit(run, 30s);

  CHECK(run.status == 0);
  CHECK(world.violations.empty());
  CHECK(run.stats().max_in_flight == 2);
  CHECK(world.most_running_at_master <= 2);
  CHECK(run.stats().rounds_filled == 8);
  CHECK(run.stats().finished == run.stats().launched);
  CHECK(run.stats().launched == names_at_master(world).size());
  world.check_no_task_launched_twice();
}

TEST_CASE("constraint: tasks run only on the agents whose attributes match every -constraint") {
  World world(1, [](LocalMasterConfig& master) {
    master.with_agent("host-a", "rack:r1;level:2")
        .with_agent("host-b", "rack:r2;level:2")
        .with_agent("host-c", "rack:r2;level:3");
  });
  etl::Flags flags = world.flags();
  flags.cmd = "true";
  flags.rounds = 2;
  flags.constraints = {{"rack", "r2"}, {"level", "2"}};
  std::set<std::string> hosts;
  auto& run = world.start(flags);
  world.wait_for(run, "round 1 launched", [&] {
    for (const auto& record : run.tasks().records()) {
      if (!record.hostname.empty()) hosts.insert(record.hostname);
    }
    return run.stats().rounds_filled >= 1;
  });
  world.wait_exit(run);
  CHECK(run.status == 0);
  CHECK(run.stats().launched == 6);
  // The hosts of the offers the tasks were launched on, and what the log says.
  CHECK(hosts == std::set<std::string>{"host-b"});
  CHECK(run.logged("Launching task etl-1-1."));
  CHECK(run.logged(" on host-b"));
  CHECK_FALSE(run.logged(" on host-a"));
  CHECK_FALSE(run.logged(" on host-c"));
}

TEST_CASE("constraint: no agent matches, nothing is launched, the offers are declined") {
  World world(1, [](LocalMasterConfig& master) { master.with_agent("host-a", "rack:r1"); });
  etl::Flags flags = world.flags();
  flags.constraints = {{"rack", "r2"}};
  auto& run = world.start(flags);
  world.wait_for(run, "offers declined for the constraint",
                 [&] { return run.tasks().counters().offers_declined_for_constraints >= 1; });
  CHECK(run.stats().launched == 0);
  CHECK(run.tasks().in_flight() == 0);
  CHECK(run.tasks().pending() == 3);
  run.scheduler->shutdown();
  world.wait_exit(run);
  CHECK(run.status == 0);
  CHECK(names_at_master(world).empty());
}

TEST_CASE("a failing command is reported and counted: exit status 1") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "exit 3";
  flags.maxtasks = 2;
  flags.rounds = 1;
  auto& run = world.start(flags);
  world.wait_exit(run);

  CHECK(run.status == 1);
  CHECK(run.stats().failed == 2);
  CHECK(run.stats().finished == 0);
  CHECK(run.logged("warning: Task with ID etl-1-1."));
  CHECK(run.logged("in state FAILED"));
  CHECK(run.logged("Done: 1 round(s), 0 task(s) finished, 2 failed; exit status 1"));
}

TEST_CASE("the last round decides the exit status") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "case \"$MESOS_TASK_ID\" in etl-1-*) exit 3;; esac";
  flags.maxtasks = 2;
  flags.rounds = 2;
  auto& run = world.start(flags);
  world.wait_exit(run);

  CHECK(run.status == 0);
  CHECK(run.stats().failed == 2);
  CHECK(run.stats().finished == 2);
}

TEST_CASE("timeout: -timeout kills a task that runs too long") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 30";
  flags.maxtasks = 1;
  flags.timeout_seconds = 0.3;
  flags.rounds = 1;
  auto& run = world.start(flags);
  world.wait_exit(run, 15s);

  CHECK(run.status == 1);
  CHECK(run.stats().failed == 1);
  CHECK(run.logged("in state KILLED"));
}

TEST_CASE("the leader moves among 3 replicas mid-round: rounds go on, nothing launched twice") {
  World world(3);
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 0.4";
  flags.rounds = 4;
  auto& run = world.start(flags);

  world.wait_for(run, "the first launches", [&] { return run.stats().launched >= 2; });
  REQUIRE(world.master->server().move_leader(1).has_value());
  world.wait_for(run, "launches after the first leader change",
                 [&] { return run.stats().launched >= 6; });
  REQUIRE(world.master->server().move_leader(2).has_value());
  world.wait_exit(run, 30s);

  CHECK(run.status == 0);
  CHECK(run.stats().rounds_filled == 4);
  CHECK(run.stats().finished == run.stats().launched);
  CHECK(run.stats().failed == 0);
  CHECK(run.scheduler->client()->counters().subscriptions >= 3);
  // One framework all along.
  const auto ids = run.subscribed_ids();
  REQUIRE(ids.size() >= 3);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
  const auto addresses = world.master->addresses();
  CHECK(run.logged("Current master: " + addresses[1]));
  CHECK(run.logged("Current master: " + addresses[2]));
  CHECK(run.stats().launched == names_at_master(world).size());
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
}

TEST_CASE("zk: -master zk:// finds 3 replicas elected in ZooKeeper, the leader stopped twice") {
  const std::string url = heatblast::testing::ZooKeeperServer::shared().url("/etl/mesos");
  World world(3, [&](LocalMasterConfig& config) {
    config.tweak_server = [url](heatblast::local_master::MasterServerOptions& options) {
      options.zk = url;
    };
  });
  etl::Flags flags = world.flags();
  flags.master = url;
  flags.masters = {url};
  flags.cmd = "sleep 0.4";
  flags.rounds = 4;
  auto& run = world.start(flags);
  auto& server = world.master->server();
  const auto ports = server.ports();

  world.wait_for(run, "the first launches", [&] { return run.stats().launched >= 2; });
  const int first = server.leader();
  REQUIRE(first >= 0);
  REQUIRE(server.stop_replica(first).has_value());
  world.wait_for(run, "a new leader and launches after the first stop", [&] {
    return server.leader() >= 0 && server.leader() != first && run.stats().launched >= 6;
  });
  const int second = server.leader();
  REQUIRE(server.stop_replica(second).has_value());
  world.wait_exit(run, 60s);
  const int third = server.leader();
  REQUIRE(third >= 0);
  CHECK(third != first);
  CHECK(third != second);

  CHECK(run.status == 0);
  CHECK(run.stats().rounds_filled == 4);
  CHECK(run.stats().finished == run.stats().launched);
  CHECK(run.stats().failed == 0);
  // One framework all along, subscribed at each of the three leaders in turn.
  const auto ids = run.subscribed_ids();
  REQUIRE(ids.size() >= 3);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
  for (int leader : {first, second, third}) {
    CHECK(run.logged(fmt::format("Current master: 127.0.0.1:{}", ports[leader])));
  }
  CHECK(run.stats().launched == names_at_master(world).size());
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
}

TEST_CASE("local-master restarted with its work dir: same framework id, tasks adopted") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 1.5";
  flags.maxtasks = 2;
  flags.rounds = 2;
  auto& run = world.start(flags);
  world.wait_for(run, "two running tasks", [&] {
    int running = 0;
    for (const auto& record : run.tasks().records()) {
      running += record.state == mesos::v1::TASK_RUNNING;
    }
    return running == 2;
  });
  std::set<std::string> first_ids;
  for (const auto& record : run.tasks().records())
    first_ids.insert(record.task_id);

  world.restart_master();
  world.wait_for(run, "the resubscription", [&] {
    return run.scheduler->client()->counters().subscriptions >= 2 &&
           run.scheduler->client()->state() == heatblast::scheduler::State::subscribed;
  });
  world.wait_exit(run, 30s);

  CHECK(run.status == 0);
  const auto ids = run.subscribed_ids();
  REQUIRE(ids.size() >= 2);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
  // The two tasks of round 1 ran once, were adopted and finished. Round 2 opened while both
  // slots were busy, so it filled what had freed when the first slot freed: one task, or two
  // when both ended together.
  for (const auto& id : first_ids)
    CHECK(run.logged("Finished task: " + id));
  const auto names = names_at_master(world);
  CHECK(names.contains("etl-1-1"));
  CHECK(names.contains("etl-1-2"));
  CHECK(names.contains("etl-2-1"));
  CHECK(names.size() <= 4);
  CHECK(run.stats().launched == names.size());
  CHECK(run.stats().finished == names.size());
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
}

TEST_CASE("a restarted etl-scheduler resumes its framework and adopts its running tasks") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 1";
  flags.maxtasks = 2;
  flags.wait_seconds = 60;  // no second round before the "crash"
  auto& first = world.start(flags);
  world.wait_for(first, "two running tasks", [&] {
    int running = 0;
    for (const auto& record : first.tasks().records()) {
      running += record.state == mesos::v1::TASK_RUNNING;
    }
    return running == 2;
  });
  const auto first_ids = first.subscribed_ids();
  REQUIRE(first_ids.size() == 1);
  first.scheduler->stop();  // a crash, as far as the master can tell: no TEARDOWN
  first.scheduler.reset();

  flags.rounds = 1;
  flags.wait_seconds = 0.3;
  auto& second = world.start(flags);
  CHECK(second.stats().adopted == 2);
  world.wait_exit(second, 30s);

  CHECK(second.status == 0);
  const auto second_ids = second.subscribed_ids();
  REQUIRE(!second_ids.empty());
  CHECK(second_ids.front() == first_ids.front());
  CHECK(second.logged("Resuming framework '" + first_ids.front() + "'"));
  CHECK(second.logged("Adopting 2 task(s)"));
  // Round 1's tasks ran once. The second scheduler's round (2) opened with both slots held by
  // the adopted tasks and filled what had freed when the first slot freed (one or both).
  const auto names = names_at_master(world);
  CHECK(names.contains("etl-1-1"));
  CHECK(names.contains("etl-1-2"));
  CHECK(names.contains("etl-2-1"));
  CHECK(names.size() <= 4);
  CHECK(second.stats().launched == names.size() - 2);
  CHECK(second.stats().finished == names.size());
  world.check_no_task_launched_twice();
  CHECK(world.violations.empty());
}

TEST_CASE("a framework the master removed while etl-scheduler was away is registered anew") {
  World world;
  etl::Flags flags = world.flags();
  flags.failover_timeout_seconds = 0.2;
  flags.maxtasks = 1;
  auto& first = world.start(flags);
  world.wait_for(first, "the subscription", [&] { return !first.subscribed_ids().empty(); });
  const std::string old_id = first.subscribed_ids().front();
  first.scheduler->stop();
  first.scheduler.reset();
  world.wait_for(first, "the master to remove the framework", [&] {
    const auto removed = world.master->server().master().snapshot().removed_frameworks;
    return std::find(removed.begin(), removed.end(), old_id) != removed.end();
  });

  flags.rounds = 1;
  auto& second = world.start(flags);
  world.wait_exit(second);
  CHECK(second.status == 0);
  CHECK(second.logged("registering a new framework"));
  const auto ids = second.subscribed_ids();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0] != old_id);
  CHECK(second.stats().finished == 1);
}

TEST_CASE("shutdown waits for the running tasks, launches nothing more, tears down, exits 0") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 0.6";
  flags.maxtasks = 2;
  flags.wait_seconds = 0.1;
  auto& run = world.start(flags);
  world.wait_for(run, "two launched tasks", [&] { return run.tasks().in_flight() == 2; });
  run.scheduler->shutdown();
  world.wait_exit(run);

  CHECK(run.status == 0);
  CHECK(run.stats().launched == 2);
  CHECK(run.stats().finished == 2);
  CHECK(run.logged("Stopping: no new tasks; waiting for 2 running task(s)"));
  CHECK(run.logged("torn down"));
}

TEST_CASE("shutdown with -on-stop kill, and a second shutdown, kill the running tasks") {
  World world;
  etl::Flags flags = world.flags();
  flags.cmd = "sleep 30";
  flags.maxtasks = 2;
  bool second_signal = false;
  SECTION("-on-stop kill") {
    flags.on_stop = etl::OnStop::kill;
  }
  SECTION("-on-stop wait, signalled twice") {
    second_signal = true;
  }
  auto& run = world.start(flags);
  world.wait_for(run, "two running tasks", [&] {
    int running = 0;
    for (const auto& record : run.tasks().records())
      running += record.state == mesos::v1::TASK_RUNNING;
    return running == 2;
  });
  const auto t0 = SteadyClock::now();
  run.scheduler->shutdown();
  if (second_signal) {
    CHECK_FALSE(run_until(
        world.io, [&] { return run.done(); }, 300ms));
    run.scheduler->shutdown();
  }
  world.wait_exit(run, 15s);
  CHECK(run.status == 0);
  CHECK(run.stats().failed == 2);
  CHECK(SteadyClock::now() - t0 < 10s);
  CHECK(run.logged("in state KILLED"));
}

TEST_CASE("the health endpoint answers / and /health as the Go tool did") {
  World world;
  etl::Flags flags = world.flags();
  flags.listen = "127.0.0.1:0";
  auto& run = world.start(flags);
  const std::uint16_t port = run.scheduler->health_port();
  REQUIRE(port != 0);
  heatblast::http::Client http(world.io.get_executor());
  auto get = [&](const std::string& path) {
    heatblast::http::Request request;
    request.method = "GET";
    request.url = fmt::format("http://127.0.0.1:{}{}", port, path);
    request.timeout = 5s;
    std::optional<heatblast::Result<heatblast::http::Response>> answer;
    http.async_send(request, [&](auto r) { answer = std::move(r); });
    world.wait_for(
        run, "GET " + path, [&] { return answer.has_value(); }, 6s);
    REQUIRE(answer->has_value());
    return **answer;
  };
  const auto health = get("/health");
  CHECK(health.status == 200);
  CHECK(health.body == "healthy");
  const auto root = get("/");
  CHECK(root.status == 200);
  CHECK(root.body == "<a href=\"/health\">Found</a>.");
  run.scheduler->stop();
}

TEST_CASE("json: with -json every line is one JSON object with time, level, msg, fields") {
  World world;
  etl::Flags flags = world.flags();
  flags.maxtasks = 1;
  flags.rounds = 1;
  flags.cmd = "true";
  auto& run = world.start(flags, /*json=*/true);
  world.wait_exit(run);
  CHECK(run.status == 0);
  REQUIRE(!run.lines.empty());
  bool subscribed = false;
  bool finished = false;
  for (const auto& line : run.lines) {
    INFO(line);
    CHECK(line.starts_with("{\"time\":\""));
    CHECK(line.ends_with("}"));
    CHECK(line.find("\"level\":\"") != std::string::npos);
    CHECK(line.find("\"msg\":\"") != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    if (line.find("\"msg\":\"Subscribed: FrameworkID: ") != std::string::npos) {
      subscribed = line.find("\"framework_id\":\"") != std::string::npos;
    }
    if (line.find("\"msg\":\"Finished task: etl-1-1.") != std::string::npos) {
      finished = line.find("\"state\":\"FINISHED\"") != std::string::npos &&
                 line.find("\"round\":1") != std::string::npos;
    }
  }
  CHECK(subscribed);
  CHECK(finished);
}

TEST_CASE("role: -role subscribes MULTI_ROLE and launches on the role's offers") {
  World world;
  etl::Flags flags = world.flags();
  flags.role = "batch";
  flags.maxtasks = 2;
  flags.rounds = 1;
  auto& run = world.start(flags);
  world.wait_for(run, "the subscription", [&] { return !run.subscribed_ids().empty(); });
  const std::string id = run.subscribed_ids().front();
  bool multi_role = false;
  for (const auto& framework : world.master->server().master().snapshot().frameworks) {
    if (framework.id == id) multi_role = framework.roles == std::vector<std::string>{"batch"};
  }
  CHECK(multi_role);
  world.wait_exit(run);
  CHECK(run.status == 0);
  CHECK(run.stats().finished == 2);
}

TEST_CASE("a state file serves one etl-scheduler, of one framework name") {
  World world;
  etl::Flags flags = world.flags();
  flags.maxtasks = 1;
  auto& first = world.start(flags);
  world.wait_for(first, "the subscription", [&] { return !first.subscribed_ids().empty(); });

  SECTION("a second etl-scheduler on the same file is refused") {
    etl::Logger logger({}, [](std::string_view) {});
    etl::EtlScheduler second(world.io.get_executor(), flags, logger);
    auto started = second.start();
    REQUIRE_FALSE(started.has_value());
    CHECK(started.error().what() ==
          "'" + flags.state_file + ".lock' is held by another etl-scheduler");
  }
  SECTION("a framework of another name is refused") {
    first.scheduler->stop();
    first.scheduler.reset();
    flags.name = "other";
    etl::Logger logger({}, [](std::string_view) {});
    etl::EtlScheduler second(world.io.get_executor(), flags, logger);
    auto started = second.start();
    REQUIRE_FALSE(started.has_value());
    CHECK(started.error().what().find("belongs to framework '" + first.subscribed_ids().front() +
                                      "' named 'etl-scheduler', not 'other'") != std::string::npos);
  }
}
