// samza-scheduler against local-master in this process, over real loopback HTTP, with real
// processes: the fake job script (fake_samza_job.py) as the job's command. Every wait is bounded
// (wait_for); none is a fixed sleep. The tests check the master's own view (its snapshot) as
// well as the API's, so that a container launched twice cannot go unnoticed.
#include "samza_scheduler.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_client.hpp"
#include "heatblast/task_state.hpp"
#include "support/local_master_fixture.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace samza = heatblast::samza;
namespace http = heatblast::http;
using heatblast::testing::LocalMaster;
using heatblast::testing::LocalMasterConfig;
using heatblast::testing::TempDir;
using heatblast::testing::wait_for;
using namespace std::chrono_literals;

constexpr auto kLimit = 15s;

// The test's world: one io_context, a local-master, a samza-scheduler, an HTTP client.
class World {
 public:
  explicit World(LocalMasterConfig config = {}) : master(io, std::move(config)) {
    std::filesystem::create_directories(marks());
  }
  ~World() {
    scheduler.reset();
    http_.cancel_all();
  }

  samza::Flags flags() const {
    samza::Flags f;
    f.masters = master.addresses();
    f.listen = "127.0.0.1:0";
    f.listen_address = "127.0.0.1";
    f.listen_port = 0;
    f.state = dir.str() + "/state.db";
    f.user = "tester";
    f.job_info_timeout_seconds = 20;
    f.debug = true;
    return f;
  }

  void start(std::optional<samza::Flags> f = std::nullopt) {
    scheduler.reset();
    logger = std::make_unique<samza::Logger>(true, [this](std::string_view line) {
      lines.emplace_back(line);
      if (std::getenv("SAMZA_TEST_DUMP"))
        std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
    });
    samza::Hooks hooks;
    hooks.client_options = [](heatblast::scheduler::Options& options) {
      options.backoff = {.initial = 50ms, .max = 200ms, .multiplier = 2, .jitter = 0.5};
      options.call_timeout = 5s;
      options.connect_timeout = 2s;
    };
    hooks.manager_options = [](heatblast::tasks::ManagerOptions& options) {
      options.min_revive_interval = 50ms;
    };
    scheduler = std::make_unique<samza::SamzaScheduler>(io.get_executor(), f ? *f : flags(),
                                                        *logger, hooks);
    auto started = scheduler->start();
    if (!started) FAIL("start failed: " << started.error().what());
    port = scheduler->port();
    base_ = fmt::format("http://127.0.0.1:{}", port);
  }

  // As kill -9 leaves things: no TEARDOWN, no goodbye; the state file as last written.
  void crash() { scheduler.reset(); }

  http::Response call(const std::string& method, const std::string& path,
                      const std::string& body = "", http::Headers headers = {}) {
    http::Request request;
    request.method = method;
    request.url = base_ + path;
    request.body = body;
    request.headers = std::move(headers);
    request.timeout = 5s;
    std::optional<heatblast::Result<http::Response>> answer;
    http_.async_send(std::move(request), [&](auto r) { answer = std::move(r); });
    wait_for(
        io, method + " " + path, [&] { return answer.has_value(); }, 6s);
    if (!*answer) FAIL(method << " " << path << " failed: " << answer->error().what());
    return std::move(**answer);
  }

  static rapidjson::Document json(const http::Response& response) {
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    if (doc.HasParseError()) FAIL("not JSON: " << response.body);
    return doc;
  }

  // A job running the fake script, with `env` for it.
  std::string job_body(const std::string& name, const std::string& env = "") const {
    return fmt::format(
        R"({{"jobName": "{}", "command": "{}", "containerCpus": 0.1, "containerMem": 32,
            "env": {{"FAKE_MARK_DIR": "{}"{}}},
            "restartPolicy": {{"backoffSeconds": 0.1, "maxBackoffSeconds": 0.5}}}})",
        name, FAKE_SAMZA_JOB, marks(), env.empty() ? "" : ", " + env);
  }

  std::optional<samza::JobView> job(const std::string& name) const { return scheduler->job(name); }

  void wait_state(const std::string& name, const std::string& state,
                  std::chrono::milliseconds limit = kLimit) {
    wait_for(
        io, fmt::format("job '{}' to be {}", name, state),
        [&] {
          auto view = job(name);
          return view && view->state == state;
        },
        limit, [&] { return context(name); });
  }

  void wait_running(const std::string& name, std::size_t containers) {
    wait_for(
        io, fmt::format("job '{}' to run {} containers", name, containers),
        [&] {
          auto view = job(name);
          return view && view->state == "RUNNING" && view->running == containers;
        },
        kLimit, [&] { return context(name); });
  }

  // The master's live (non-terminal) tasks of `job`, by task id.
  std::set<std::string> live_tasks(const std::string& job) {
    std::set<std::string> out;
    for (const auto& framework : master.master().snapshot().frameworks) {
      for (const auto& task : framework.tasks) {
        if (task.task_id.starts_with(job + ".") && !heatblast::is_terminal(task.state)) {
          out.insert(task.task_id);
        }
      }
    }
    return out;
  }

  std::string context(const std::string& name) {
    std::string out;
    if (auto view = job(name)) {
      out += fmt::format("job {}: {} ({}), {}/{} running, job-info {}\n", view->name, view->state,
                         view->reason, view->running, view->wanted, view->job_info_state);
      for (const auto& c : view->containers)
        out += fmt::format("  container {}: {} {} {} restarts {} {}\n", c.id, c.task_id, c.state,
                           c.phase, c.restarts, c.message);
    } else {
      out += "no such job\n";
    }
    out += "scheduler log (last lines):\n";
    for (std::size_t i = lines.size() > 25 ? lines.size() - 25 : 0; i < lines.size(); ++i)
      out += "  " + lines[i] + "\n";
    return out + master.log_tail();
  }

  std::string marks() const { return dir.str() + "/marks"; }

  // What the container with `task_id` wrote after finding itself in the model.
  std::string mark(const std::string& task_id) const {
    std::ifstream in(marks() + "/" + task_id);
    std::string text;
    std::getline(in, text);
    return text;
  }

  boost::asio::io_context io;
  TempDir dir{"heatblast-samza"};
  LocalMaster master;
  std::vector<std::string> lines;
  std::unique_ptr<samza::Logger> logger;
  std::unique_ptr<samza::SamzaScheduler> scheduler;
  std::uint16_t port = 0;

 private:
  http::Client http_{io.get_executor()};
  std::string base_;
};

std::vector<std::string> task_ids(const samza::JobView& view) {
  std::vector<std::string> out;
  for (const auto& c : view.containers)
    out.push_back(c.task_id);
  return out;
}

}  // namespace

TEST_CASE("a job runs: job-info posts 3 containers, each finds itself in the model") {
  World world;
  world.start();
  auto created = world.call("POST", "/jobs", world.job_body("wiki-stats"));
  REQUIRE(created.status == 201);
  CHECK(created.header("Location") == "/jobs/wiki-stats");
  world.wait_running("wiki-stats", 3);

  auto view = *world.job("wiki-stats");
  const auto ids = task_ids(view);
  CHECK(world.live_tasks("wiki-stats") == std::set<std::string>(ids.begin(), ids.end()));
  for (const auto& c : view.containers) {
    CHECK(c.task_id.starts_with("wiki-stats.container-" + c.id + "."));
    // The container read the coordinator URL and found its id among 3.
    wait_for(
        world.io, "container " + c.id + " to check the model",
        [&] { return !world.mark(c.task_id).empty(); }, kLimit);
    CHECK(world.mark(c.task_id) == c.id + " 3");
  }

  auto detail = World::json(world.call("GET", "/jobs/wiki-stats"));
  CHECK(std::string(detail["state"].GetString()) == "RUNNING");
  REQUIRE(detail["containerTasks"].Size() == 3);
  for (const auto& c : detail["containerTasks"].GetArray()) {
    CHECK(std::string(c["state"].GetString()) == "TASK_RUNNING");
    CHECK(std::string(c["host"].GetString()) == "localhost");
    CHECK(std::string(c["agentId"].GetString()) != "");
  }
  auto list = World::json(world.call("GET", "/jobs"));
  REQUIRE(list["jobs"].Size() == 1);
  CHECK(list["jobs"][0]["containers"]["running"].GetInt() == 3);

  auto model = World::json(world.call("GET", "/jobs/wiki-stats/coordinator"));
  CHECK(model["containers"].MemberCount() == 3);
  CHECK(model["max-change-log-stream-partitions"].GetInt() == 3);

  // The status page shows the job and its containers.
  auto page = world.call("GET", "/");
  CHECK(page.status == 200);
  CHECK(page.header("Content-Type")->starts_with("text/html"));
  CHECK_THAT(page.body, Catch::Contains("wiki-stats"));
  for (const auto& id : ids)
    CHECK_THAT(page.body, Catch::Contains(id));
  CHECK_THAT(page.body, Catch::Contains("RUNNING"));
  CHECK_THAT(page.body, !Catch::Contains("src=\"http") && !Catch::Contains("href=\"http"));

  auto metrics = world.call("GET", "/metrics");
  CHECK_THAT(metrics.body, Catch::Contains("samza_scheduler_jobs{state=\"RUNNING\"} 1"));
  CHECK_THAT(metrics.body,
             Catch::Contains("samza_scheduler_containers_running{job=\"wiki-stats\"} 3"));
  CHECK_THAT(metrics.body, Catch::Contains("samza_scheduler_subscribed 1"));

  auto framework = World::json(world.call("GET", "/framework"));
  CHECK(std::string(framework["state"].GetString()) == "subscribed");
  CHECK(std::string(framework["frameworkId"].GetString()) != "");
}

TEST_CASE("a killed container is relaunched with a new task id, the job is DEGRADED meanwhile") {
  World world;
  world.start();
  REQUIRE(world.call("POST", "/jobs", world.job_body("clicks")).status == 201);
  world.wait_running("clicks", 3);
  const auto before = *world.job("clicks");
  const std::string victim = before.containers[1].task_id;
  std::optional<int> pid;
  for (const auto& framework : world.master.master().snapshot().frameworks)
    for (const auto& task : framework.tasks)
      if (task.task_id == victim) pid = task.pid;
  REQUIRE(pid);
  ::kill(-*pid, SIGKILL);  // the whole process group: the container is gone

  bool saw_degraded = false;
  wait_for(
      world.io, "container 1 to run again under a new task id",
      [&] {
        auto view = world.job("clicks");
        saw_degraded = saw_degraded || view->state == "DEGRADED";
        return view->state == "RUNNING" && view->containers[1].task_id != victim &&
               view->running == 3;
      },
      kLimit, [&] { return world.context("clicks"); });
  const auto after = *world.job("clicks");
  CHECK(saw_degraded);
  CHECK(after.containers[1].restarts == 1);
  CHECK(after.containers[1].task_id.starts_with("clicks.container-1."));
  CHECK(after.containers[0].task_id == before.containers[0].task_id);
  CHECK_THAT(after.reason, Catch::Contains("container 1"));
  CHECK(world.live_tasks("clicks").size() == 3);
}

TEST_CASE("kill -9 and restart: same framework id, containers adopted, none duplicated") {
  World world;
  world.start();
  REQUIRE(world.call("POST", "/jobs", world.job_body("orders")).status == 201);
  world.wait_running("orders", 3);
  const auto before = task_ids(*world.job("orders"));
  for (const auto& id : before) {
    wait_for(
        world.io, "container '" + id + "' to check the model",
        [&] { return !world.mark(id).empty(); }, kLimit);
  }
  const std::string framework_id = world.scheduler->client()->framework_id()->value();
  // A job submitted just before the crash is not lost either.
  REQUIRE(world.call("POST", "/jobs", world.job_body("late")).status == 201);

  world.crash();
  auto flags = world.flags();
  flags.listen_port = world.port;  // the address the tasks were given
  world.start(flags);
  wait_for(
      world.io, "the restarted scheduler to subscribe",
      [&] { return world.scheduler->client()->state() == heatblast::scheduler::State::subscribed; },
      kLimit);
  CHECK(world.scheduler->client()->framework_id()->value() == framework_id);
  world.wait_running("orders", 3);
  CHECK(task_ids(*world.job("orders")) == before);
  CHECK(world.live_tasks("orders") == std::set<std::string>(before.begin(), before.end()));
  world.wait_running("late", 3);
  CHECK(world.live_tasks("late").size() == 3);
  CHECK(world.master.master().snapshot().frameworks.size() == 1);
}

TEST_CASE("a job-info task running when the scheduler died is adopted, and its model taken") {
  World world;
  world.start();
  const std::string gate = world.dir.str() + "/gate";
  REQUIRE(
      world
          .call("POST", "/jobs",
                world.job_body("patient",
                               fmt::format(R"("FAKE_JOB_INFO": "gate", "FAKE_GATE": "{}")", gate)))
          .status == 201);
  wait_for(
      world.io, "the job-info task to run",
      [&] { return world.job("patient")->job_info_state == "TASK_RUNNING"; }, kLimit,
      [&] { return world.context("patient"); });
  const auto info = world.live_tasks("patient");
  REQUIRE(info.size() == 1);

  world.crash();
  auto flags = world.flags();
  flags.listen_port = world.port;
  world.start(flags);
  std::ofstream(gate) << "go\n";  // now the job-info task posts, to the restarted scheduler
  world.wait_running("patient", 3);
  wait_for(
      world.io, "the 3 containers at the master",
      [&] { return world.live_tasks("patient").size() == 3; }, kLimit,
      [&] { return world.context("patient"); });
  // The job-info task was adopted, not run again: the master only ever saw the one.
  std::size_t job_info_launches = 0;
  const std::string tail = world.master.log_tail(500);
  for (std::size_t at = tail.find("launching task 'patient.job-info."); at != std::string::npos;
       at = tail.find("launching task 'patient.job-info.", at + 1)) {
    ++job_info_launches;
  }
  CHECK(job_info_launches == 1);
  CHECK(tail.find("launching task '" + *info.begin() + "'") != std::string::npos);
}

TEST_CASE("restarted on another address, relaunched containers are told the new one") {
  World world;
  world.start();
  REQUIRE(world.call("POST", "/jobs", world.job_body("moved")).status == 201);
  world.wait_running("moved", 3);
  world.crash();
  world.start();  // a new ephemeral port: the old coordinator URL is dead
  wait_for(
      world.io, "the restarted scheduler to subscribe",
      [&] { return world.scheduler->client()->state() == heatblast::scheduler::State::subscribed; },
      kLimit);
  world.wait_running("moved", 3);
  const std::string victim = world.job("moved")->containers[0].task_id;
  std::optional<int> pid;
  for (const auto& framework : world.master.master().snapshot().frameworks)
    for (const auto& task : framework.tasks)
      if (task.task_id == victim) pid = task.pid;
  REQUIRE(pid);
  ::kill(-*pid, SIGKILL);
  std::string relaunched;
  wait_for(
      world.io, "container 0 relaunched and reading its model from the new address",
      [&] {
        relaunched = world.job("moved")->containers[0].task_id;
        return relaunched != victim && world.mark(relaunched) == "0 3";
      },
      kLimit, [&] { return world.context("moved"); });
}

TEST_CASE("a framework the master removed while the scheduler was away is registered anew") {
  World world;
  auto flags = world.flags();
  flags.failover_timeout_seconds = 0.5;
  world.start(flags);
  REQUIRE(world.call("POST", "/jobs", world.job_body("phoenix")).status == 201);
  world.wait_running("phoenix", 3);
  const std::string old_id = world.scheduler->client()->framework_id()->value();
  world.crash();
  wait_for(
      world.io, "the master to remove the framework", [&] { return world.master.removed(old_id); },
      kLimit);
  CHECK(world.live_tasks("phoenix").empty());  // the master killed them with the framework

  flags.listen_port = world.port;
  world.start(flags);
  // (Until the master answers, the scheduler's view is what it stored: wait for the master's.)
  wait_for(
      world.io, "a new framework running the job's 3 containers",
      [&] {
        auto id = world.scheduler->client()->framework_id();
        auto view = world.job("phoenix");
        return id && id->value() != old_id && world.live_tasks("phoenix").size() == 3 &&
               view->state == "RUNNING";
      },
      kLimit, [&] { return world.context("phoenix"); });
  CHECK(world.master.master().snapshot().frameworks.size() == 1);
}

TEST_CASE("restart and PUT replace the containers one at a time") {
  World world;
  world.start();
  REQUIRE(world.call("POST", "/jobs", world.job_body("rolling")).status == 201);
  world.wait_running("rolling", 3);
  auto replaced_one_at_a_time = [&](const std::vector<std::string>& old_ids) {
    std::size_t fewest_running = 3;
    std::size_t most_live = 0;
    wait_for(
        world.io, "every container replaced",
        [&] {
          auto view = world.job("rolling");
          fewest_running = std::min(fewest_running, view->running);
          std::size_t live = 0;
          for (const auto& id : world.live_tasks("rolling"))
            live += id.find(".container-") != std::string::npos;
          most_live = std::max(most_live, live);
          if (view->state != "RUNNING" || view->running != 3) return false;
          for (std::size_t i = 0; i < 3; ++i)
            if (view->containers[i].task_id == old_ids[i]) return false;
          return true;
        },
        kLimit, [&] { return world.context("rolling"); });
    // Never more than one container down at a time.
    CHECK(fewest_running >= 2);
    CHECK(most_live <= 3);
    CHECK(world.live_tasks("rolling").size() == 3);
  };

  const auto first = task_ids(*world.job("rolling"));
  REQUIRE(world.call("POST", "/jobs/rolling/restart").status == 202);
  replaced_one_at_a_time(first);
  CHECK(world.job("rolling")->generation == 2);

  const auto second = task_ids(*world.job("rolling"));
  auto put = world.call("PUT", "/jobs/rolling", R"({"javaOpts": "-Xmx64m"})");
  REQUIRE(put.status == 200);
  replaced_one_at_a_time(second);
  auto detail = World::json(world.call("GET", "/jobs/rolling"));
  CHECK(std::string(detail["spec"]["javaOpts"].GetString()) == "-Xmx64m");
  CHECK(world.job("rolling")->generation == 3);
}

TEST_CASE("DELETE kills every container, then the job is gone") {
  World world;
  world.start();
  REQUIRE(world.call("POST", "/jobs", world.job_body("doomed")).status == 201);
  world.wait_running("doomed", 3);
  const auto ids = task_ids(*world.job("doomed"));
  REQUIRE(world.call("DELETE", "/jobs/doomed").status == 202);
  wait_for(
      world.io, "the job to be forgotten", [&] { return !world.job("doomed"); }, kLimit,
      [&] { return world.context("doomed"); });
  // Every container's last word from the master was TASK_KILLED.
  for (const auto& id : ids) {
    const std::string killed = fmt::format("task '{}' is TASK_KILLED", id);
    CHECK(std::any_of(world.lines.begin(), world.lines.end(), [&](const std::string& line) {
      return line.find(killed) != std::string::npos;
    }));
  }
  CHECK(world.live_tasks("doomed").empty());
  CHECK(world.call("GET", "/jobs/doomed").status == 404);
  CHECK(world.scheduler->task_manager()->records().empty());
}

TEST_CASE("Heatblast's two-step payloads work as its job images sent them") {
  World world;
  world.start();
  // Step one: Heatblast's README body (a command stands in for the image here).
  auto created = world.call(
      "POST", "/jobs",
      fmt::format(R"({{"jobName": "ExampleSamzaTask", "command": "{}", "containerCpus": 0.1,
                      "containerMem": 32, "env": {{"FAKE_JOB_INFO": "heatblast"}}}})",
                  FAKE_SAMZA_JOB));
  REQUIRE(created.status == 201);
  // Step two: the job-info task posts its SamzaJobConfig to /run-job.
  world.wait_running("ExampleSamzaTask", 3);
  auto model = World::json(world.call("GET", "/jobs/ExampleSamzaTask/coordinator"));
  CHECK(model["containers"]["2"]["tasks"]["Partition 2"]["changelog-partition"].GetInt() == 2);
}

TEST_CASE("a job-info task that exits non-zero fails the job with the reason") {
  World world;
  world.start();
  REQUIRE(
      world.call("POST", "/jobs", world.job_body("broken", R"("FAKE_JOB_INFO": "fail")")).status ==
      201);
  world.wait_state("broken", "FAILED");
  CHECK_THAT(world.job("broken")->reason, Catch::Contains("TASK_FAILED"));
  CHECK_THAT(world.job("broken")->reason, Catch::Contains("exited with status 3"));
  CHECK(world.live_tasks("broken").empty());
}

TEST_CASE("a job-info task that never posts fails the job after --job-info-timeout") {
  World world;
  auto flags = world.flags();
  flags.job_info_timeout_seconds = 1.5;
  world.start(flags);
  REQUIRE(
      world.call("POST", "/jobs", world.job_body("silent", R"("FAKE_JOB_INFO": "hang")")).status ==
      201);
  world.wait_state("silent", "FAILED");
  CHECK_THAT(world.job("silent")->reason, Catch::Contains("no model within 1.5 s"));
  wait_for(
      world.io, "the job-info task to be gone", [&] { return world.live_tasks("silent").empty(); },
      kLimit);
}

TEST_CASE("a Docker job on an agent without Docker fails with the launch reason") {
  World world;
  world.start();
  REQUIRE(world
              .call("POST", "/jobs",
                    R"({"jobName": "dockerized", "dockerImage": "example/samza-job:1",
                         "containerCpus": 0.1, "containerMem": 32})")
              .status == 201);
  world.wait_state("dockerized", "FAILED");
  CHECK_THAT(world.job("dockerized")->reason, Catch::Contains("docker is not available"));
  CHECK_THAT(world.job("dockerized")->reason, Catch::Contains("REASON_CONTAINER_LAUNCH_FAILED"));
}

TEST_CASE("bad input answers its status code") {
  World world;
  const std::string token_file = world.dir.str() + "/token";
  std::ofstream(token_file) << "s3cret\n";
  auto flags = world.flags();
  flags.api_token_file = token_file;
  flags.max_body_bytes = 4096;
  world.start(flags);
  const http::Headers auth = {{"Authorization", "Bearer s3cret"}};

  // 401 without the token, and with a wrong one, on every mutating endpoint.
  CHECK(world.call("POST", "/jobs", world.job_body("j")).status == 401);
  CHECK(
      world.call("POST", "/jobs", world.job_body("j"), {{"Authorization", "Bearer nope"}}).status ==
      401);
  CHECK(world.call("PUT", "/jobs/j", "{}").status == 401);
  CHECK(world.call("DELETE", "/jobs/j").status == 401);
  CHECK(world.call("POST", "/jobs/j/restart").status == 401);
  CHECK(world.call("GET", "/jobs").status == 200);  // reading stays open

  auto check_400 = [&](const std::string& body, const std::string& field) {
    auto response = world.call("POST", "/jobs", body, auth);
    CHECK(response.status == 400);
    CHECK_THAT(response.body, Catch::Contains(field));
    CHECK_THAT(response.body, Catch::Contains("\"error\""));
  };
  check_400("{not json", "not valid JSON");
  check_400(R"({"dockerImage": "x"})", "jobName");
  check_400(R"({"jobName": "a b", "dockerImage": "x"})", "jobName");
  check_400(R"({"jobName": "a", "dockerImage": 7})", "dockerImage");
  check_400(R"({"jobName": "a", "dockerImage": "x", "containerMem": "lots"})", "containerMem");

  CHECK(world.call("POST", "/jobs", std::string(8192, ' '), auth).status == 413);

  REQUIRE(
      world.call("POST", "/jobs", world.job_body("j", R"("FAKE_JOB_INFO": "hang")"), auth).status ==
      201);
  CHECK(world.call("POST", "/jobs", world.job_body("j"), auth).status == 409);
  CHECK(world.call("GET", "/jobs/nope").status == 404);
  CHECK(world.call("DELETE", "/jobs/nope", "", auth).status == 404);
  CHECK(world.call("GET", "/nowhere").status == 404);
  auto wrong_method = world.call("PATCH", "/jobs/j", "{}", auth);
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("Allow") == "GET, PUT, DELETE");
  CHECK(world.call("DELETE", "/jobs", "", auth).status == 405);
  CHECK(world.call("POST", "/metrics", "", auth).status == 405);
  CHECK(world.call("PUT", "/jobs/j", R"({"containerCpus": -1})", auth).status == 400);
  CHECK(world.call("GET", "/jobs/j/coordinator").status == 503);  // no model yet

  // The job-info URL takes the job's own token, not the API's.
  const std::string model =
      R"({"config": {}, "containers": {"0": {"tasks": {"T": {"system-stream-partitions": [], "changelog-partition": 0}}}}})";
  CHECK(world.call("POST", "/jobs/j/job-info?token=wrong", model).status == 403);
  CHECK(world.call("POST", "/jobs/j/job-info", model, auth).status == 403);
  CHECK(world.job("j")->state == "COMPUTING_MODEL");
}
