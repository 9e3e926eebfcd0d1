// load-tester against local-master in this process (real loopback HTTP, real load-worker
// processes), with an HTTP target served by the test that counts what it receives. Everything
// runs on the test's io_context; every wait has a deadline and no sleep.
#include "load_tester.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <map>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "heatblast/http_server.hpp"
#include "support/local_master_fixture.hpp"

namespace load = heatblast::load;
namespace http = heatblast::http;
using heatblast::testing::LocalMaster;
using heatblast::testing::run_until;
using namespace std::chrono_literals;

namespace {

bool running_state(mesos::v1::TaskState state) {
  return state == mesos::v1::TASK_STAGING || state == mesos::v1::TASK_STARTING ||
         state == mesos::v1::TASK_RUNNING || state == mesos::v1::TASK_KILLING;
}

// A run: local-master, the counting target and the load-tester on one io_context.
struct Run {
  explicit Run(bool fail_every_other = false)
      : target(io.get_executor(), http::ServerOptions{},
               [this, fail_every_other](const http::ServerRequest&, http::Responder w) {
                 const auto n = ++received;
                 w.respond(fail_every_other && n % 2 == 0 ? 503 : 200, {}, "ok");
               }) {
    REQUIRE(target.start());
  }

  load::Flags flags() const {
    load::Flags f;
    f.master = master.addresses().front();
    f.target = fmt::format("http://127.0.0.1:{}/", target.port());
    f.total_queries = 1000;
    f.queries_per_task = 100;
    f.parallelism = 3;
    f.task_cpus = 0.1;
    f.task_mem = 16;
    f.listen = "127.0.0.1:0";
    return f;
  }

  // Runs the load-tester to its end, sampling the tasks running at the master after every
  // handler; `during` runs at each step too.
  void run(load::Flags f, std::function<void(load::LoadTester&)> during = {}) {
    load::LoadTesterHooks hooks;
    hooks.on_exit = [this](int s) { status = s; };
    hooks.on_log = [this](std::string_view line) { log += std::string(line) + "\n"; };
    tester =
        std::make_unique<load::LoadTester>(io.get_executor(), f, HEATBLAST_LOAD_WORKER_PATH, hooks);
    REQUIRE(tester->start());
    const bool ended = run_until(
        io,
        [&] {
          std::size_t running = 0;
          for (const auto& framework : master.master().snapshot().frameworks)
            for (const auto& task : framework.tasks)
              running += running_state(task.state);
          peak_at_master = std::max(peak_at_master, running);
          if (during) during(*tester);
          return status.has_value();
        },
        60s);
    INFO(log << master.log_tail());
    REQUIRE(ended);
  }

  boost::asio::io_context io;
  LocalMaster master{io};
  std::atomic<std::uint64_t> received{0};
  http::Server target;
  std::unique_ptr<load::LoadTester> tester;
  std::optional<int> status;
  std::size_t peak_at_master = 0;
  std::string log;
};

}  // namespace

TEST_CASE("load-tester: 1000 queries, 100 per task, parallelism 3") {
  Run run;
  auto flags = run.flags();
  flags.report = load::ReportFormat::json;
  // The tasks as the master launched them (the framework, torn down at the end, takes them
  // out of the master's state).
  std::map<std::string, heatblast::local_master::TaskSnapshot> launched;
  run.run(flags, [&](load::LoadTester&) {
    for (const auto& framework : run.master.master().snapshot().frameworks)
      for (const auto& task : framework.tasks)
        launched[task.task_id] = task;
  });
  INFO(run.log);
  CHECK(*run.status == 0);
  CHECK(run.received == 1000);
  CHECK(run.peak_at_master <= 3);
  CHECK(run.peak_at_master >= 2);  // the run did go parallel
  CHECK(run.tester->peak_in_flight() <= 3);
  const auto totals = run.tester->totals();
  CHECK(totals.queries == 1000);
  CHECK(totals.errors == 0);
  CHECK(totals.latency.count() == 1000);
  CHECK(run.tester->task_results().size() == 10);
  for (const auto& [name, task] : run.tester->task_results()) {
    CHECK(task.outcome == mesos::v1::TASK_FINISHED);
    CHECK(task.figures.queries == 100);
    CHECK(task.final_report);
  }
  // Each task fetched the load-worker the load-tester serves, and ran it from its sandbox.
  REQUIRE(launched.size() == 10);
  for (const auto& [id, task] : launched) {
    INFO(id);
    const auto& command = task.info.command();
    REQUIRE(command.uris_size() == 1);
    CHECK_THAT(command.uris(0).value(),
               Catch::StartsWith("http://127.0.0.1:") && Catch::EndsWith("/load-worker"));
    CHECK(command.uris(0).executable());
    CHECK(command.value() == "./load-worker");
    CHECK(::access((task.sandbox + "/load-worker").c_str(), X_OK) == 0);
  }
  const auto report = run.tester->report();
  CHECK(report.rfind("{\"queries\":1000,\"errors\":0,", 0) == 0);
  CHECK(run.tester->progress_line().rfind("1000/1000 queries, 0 tasks running, 0 errors, ", 0) ==
        0);
}

TEST_CASE("load-tester: the remainder goes to the last task, failed queries are counted") {
  Run run(/*fail_every_other=*/true);
  auto flags = run.flags();
  flags.total_queries = 250;
  flags.queries_per_task = 100;
  flags.parallelism = 2;
  run.run(flags);
  CHECK(*run.status == 1);  // the run was not clean: half the queries failed
  CHECK(run.received == 250);
  const auto totals = run.tester->totals();
  CHECK(totals.queries == 250);
  CHECK(totals.errors == 125);
  CHECK(run.tester->task_results().at("load-3").figures.queries == 50);
  const auto report = run.tester->report();
  CHECK(report.find("queries: 250 sent, 125 failed\n") == 0);
  CHECK(report.find("latency histogram") != std::string::npos);
}

TEST_CASE("load-tester: a worker killed mid-run is counted and its share re-queued") {
  Run run;
  auto flags = run.flags();
  flags.total_queries = 400;
  flags.queries_per_task = 200;
  flags.parallelism = 1;
  flags.rate = 200;  // each task takes about a second, and a grant covers 50 queries
  bool killed = false;
  run.run(flags, [&](load::LoadTester& tester) {
    if (killed) return;
    const auto& first = tester.task_results().at("load-1");
    if (first.figures.queries == 0) return;  // wait for a progress report
    for (const auto& framework : run.master.master().snapshot().frameworks)
      for (const auto& task : framework.tasks)
        if (task.name == "load-1" && task.pid && running_state(task.state)) {
          ::kill(-*task.pid, SIGKILL);  // the task's process group
          killed = true;
        }
  });
  REQUIRE(killed);
  CHECK(*run.status == 1);
  CHECK(run.tester->failed_tasks() == 1);
  const auto& first = run.tester->task_results().at("load-1");
  CHECK(first.outcome != mesos::v1::TASK_FINISHED);
  // The killed worker's share: what it reported done, what it was granted but had not reported
  // (in doubt), and the rest, re-queued.
  CHECK(first.in_doubt == first.granted - first.figures.queries);
  CHECK(first.in_doubt > 0);  // granted ahead of its last report: some always are
  CHECK(run.tester->in_doubt_queries() == first.in_doubt);
  CHECK(first.figures.queries + first.in_doubt + run.tester->requeued_queries() == 200);
  // Killed at its first report of queries done: granted at most two grants of 50 then, so a
  // part of its share was never granted and went to a new task.
  CHECK(first.granted <= 100);
  CHECK(run.tester->requeued_queries() >= 100);
  CHECK(run.tester->task_results().size() == 3);
  // A worker sends only granted queries: the target gets at most the total, and everything but
  // what is in doubt for certain.
  const auto totals = run.tester->totals();
  CHECK(totals.queries + run.tester->in_doubt_queries() == 400);
  CHECK(run.received <= 400);
  CHECK(run.received >= totals.queries);
  const auto report = run.tester->report();
  CHECK(report.find(fmt::format("re-queued: {}; in doubt: {}", run.tester->requeued_queries(),
                                run.tester->in_doubt_queries())) != std::string::npos);
  CHECK(run.tester->progress_line().find(
            fmt::format(", {} in doubt", run.tester->in_doubt_queries())) != std::string::npos);
}

TEST_CASE("load-tester: more failed tasks than --max-failed-tasks abort the run, exit 1") {
  Run run;
  auto flags = run.flags();
  flags.total_queries = 300;
  flags.queries_per_task = 100;
  flags.parallelism = 1;
  flags.max_failed_tasks = 1;
  // A worker that cannot run: every task fails (run from the agent's path, nothing fetched).
  flags.worker_on_agent = "/nonexistent/load-worker";
  load::LoadTesterHooks hooks;
  hooks.on_exit = [&](int s) { run.status = s; };
  run.tester = std::make_unique<load::LoadTester>(run.io.get_executor(), flags, "", hooks);
  REQUIRE(run.tester->start());
  REQUIRE(run_until(
      run.io, [&] { return run.status.has_value(); }, 30s));
  CHECK(*run.status == 1);
  CHECK(run.tester->failed_tasks() == 2);
  CHECK(run.received == 0);
  // The first failure was re-queued (load-4); the second aborted the run: nothing more added.
  CHECK(run.tester->task_results().size() == 4);
}

TEST_CASE("load-tester: a load-worker binary that cannot be read stops the start") {
  Run run;
  auto flags = run.flags();
  load::LoadTester tester(run.io.get_executor(), flags, "/nonexistent/load-worker", {});
  auto started = tester.start();
  REQUIRE_FALSE(started);
  CHECK(started.error().what().find("cannot read the load-worker binary "
                                    "'/nonexistent/load-worker'") != std::string::npos);
}
