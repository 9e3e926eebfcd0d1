// The samza-scheduler program itself, as a child process against local-master in this process:
// killed with SIGKILL while its job runs, then started again on the same state file.
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
#include "support/ports.hpp"
#include "support/program.hpp"
#include "support/temp_dir.hpp"

namespace {

namespace http = heatblast::http;
using heatblast::testing::LocalMaster;
using heatblast::testing::Program;
using heatblast::testing::TempDir;
using heatblast::testing::wait_for;
using namespace std::chrono_literals;

// Asks GET `url` again whenever the last answer is in, so that a wait predicate can look at the
// latest one without blocking.
class Poller {
 public:
  Poller(boost::asio::io_context& io, std::string url) : http_(io.get_executor()), url_(url) {}
  ~Poller() { http_.cancel_all(); }

  // The latest 200 answer's JSON, asking again if nothing is in flight.
  const rapidjson::Document* latest() {
    if (!in_flight_) {
      in_flight_ = true;
      http::Request request;
      request.method = "GET";
      request.url = url_;
      request.timeout = 2s;
      http_.async_send(std::move(request), [this](heatblast::Result<http::Response> response) {
        in_flight_ = false;
        if (response && response->status == 200) {
          doc_.Parse(response->body.c_str());
          valid_ = !doc_.HasParseError();
        }
      });
    }
    return valid_ ? &doc_ : nullptr;
  }

 private:
  http::Client http_;
  std::string url_;
  bool in_flight_ = false;
  bool valid_ = false;
  rapidjson::Document doc_;
};

}  // namespace

TEST_CASE("the program, killed with SIGKILL and started again, adopts its containers") {
  boost::asio::io_context io;
  TempDir dir{"heatblast-samza-daemon"};
  LocalMaster master(io);
  const std::uint16_t port = heatblast::testing::free_port();
  std::vector<std::string> args = {SAMZA_SCHEDULER_PATH,
                                   "--master",
                                   master.address(0),
                                   "--listen",
                                   fmt::format("127.0.0.1:{}", port),
                                   "--state",
                                   dir.str() + "/state.db",
                                   "--user",
                                   "tester",
                                   "--revive-interval",
                                   "0.1"};
  Program daemon(args, {.output = dir / "daemon.log"});

  const std::string base = fmt::format("http://127.0.0.1:{}", port);
  http::Client http(io.get_executor());
  std::optional<heatblast::Result<http::Response>> created;
  auto submit = [&] {
    http::Request request;
    request.method = "POST";
    request.url = base + "/jobs";
    request.timeout = 2s;
    request.body = fmt::format(
        R"({{"jobName": "survivor", "command": "{}", "containerCpus": 0.1, "containerMem": 32}})",
        FAKE_SAMZA_JOB);
    http.async_send(std::move(request), [&](auto r) { created = std::move(r); });
  };
  // The daemon may not listen yet: submit again until it answers.
  bool in_flight = false;
  wait_for(
      io, "the daemon to take the job",
      [&] {
        if (created && *created) return true;
        if (created) {
          created.reset();
          in_flight = false;
        }
        if (!in_flight) {
          in_flight = true;
          submit();
        }
        return false;
      },
      20s, [&] { return daemon.context(); });
  REQUIRE((*created)->status == 201);

  Poller job(io, base + "/jobs/survivor");
  auto running_ids = [&]() -> std::set<std::string> {
    const auto* doc = job.latest();
    if (!doc || std::string((*doc)["state"].GetString()) != "RUNNING") return {};
    std::set<std::string> ids;
    for (const auto& c : (*doc)["containerTasks"].GetArray())
      ids.insert(c["taskId"].GetString());
    return ids;
  };
  std::set<std::string> before;
  wait_for(
      io, "3 containers running",
      [&] {
        before = running_ids();
        return before.size() == 3;
      },
      20s, [&] { return daemon.context() + master.log_tail(); });
  const auto framework_id = master.master().snapshot().frameworks.at(0).id;

  daemon.kill();
  daemon.start();
  Poller framework(io, base + "/framework");
  wait_for(
      io, "the restarted daemon to subscribe",
      [&] {
        const auto* doc = framework.latest();
        return doc && std::string((*doc)["state"].GetString()) == "subscribed";
      },
      20s, [&] { return daemon.context(); });
  CHECK(std::string((*framework.latest())["frameworkId"].GetString()) == framework_id);

  std::set<std::string> after;
  wait_for(
      io, "the 3 containers adopted",
      [&] {
        after = running_ids();
        return after.size() == 3;
      },
      20s, [&] { return daemon.context(); });
  CHECK(after == before);
  // The master runs exactly those 3: nothing launched twice.
  std::set<std::string> live;
  for (const auto& f : master.master().snapshot().frameworks) {
    CHECK(f.id == framework_id);
    for (const auto& task : f.tasks)
      if (task.task_id.starts_with("survivor.container-") && !heatblast::is_terminal(task.state))
        live.insert(task.task_id);
  }
  CHECK(live == before);
}
