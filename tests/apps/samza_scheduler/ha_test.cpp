// Two samza-scheduler programs with --zk against a real ZooKeeper server and local-master in
// this process: one leads, the other forwards its API to it; the leader is killed with SIGKILL
// and the standby takes over the same framework and its running containers.
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
#include "support/tcp_proxy.hpp"
#include "support/temp_dir.hpp"
#include "support/zookeeper_fixture.hpp"

namespace {

namespace http = heatblast::http;
using heatblast::testing::LocalMaster;
using heatblast::testing::Program;
using heatblast::testing::TcpProxy;
using heatblast::testing::TempDir;
using heatblast::testing::wait_for;
using heatblast::testing::ZooKeeperServer;
using namespace std::chrono_literals;

// One instance: its port and the program.
struct Instance {
  Instance(const std::string& zk, const std::string& master, const TempDir& dir,
           const std::string& name)
      : port(heatblast::testing::free_port()),
        base(fmt::format("http://127.0.0.1:{}", port)),
        program({SAMZA_SCHEDULER_PATH, "--master", master, "--zk", zk, "--zk-session-timeout", "2",
                 "--listen", fmt::format("127.0.0.1:{}", port), "--user", "tester",
                 "--revive-interval", "0.1"},
                {.output = dir / (name + ".log")}) {}
  std::uint16_t port;
  std::string base;
  Program program;
};

// Sends requests one at a time and keeps the latest answer, so that a wait predicate can look
// at it without blocking; a request that failed (the instance not listening yet) is sent
// again.
class Asker {
 public:
  explicit Asker(boost::asio::io_context& io) : http_(io.get_executor()) {}
  ~Asker() { http_.cancel_all(); }

  // The answer to `method url body` once one came, asking (again) when none is in flight.
  std::optional<http::Response> ask(const std::string& method, const std::string& url,
                                    const std::string& body = {}) {
    if (answer_ && key_ == method + url + body) return answer_;
    if (in_flight_ && key_ == method + url + body) return std::nullopt;
    key_ = method + url + body;
    answer_.reset();
    in_flight_ = true;
    http::Request request;
    request.method = method;
    request.url = url;
    request.body = body;
    if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
    request.timeout = 5s;
    const std::string key = key_;
    http_.async_send(std::move(request), [this, key](heatblast::Result<http::Response> r) {
      if (key != key_) return;
      in_flight_ = false;
      if (r) answer_ = std::move(*r);
    });
    return std::nullopt;
  }
  // Forgets the latest answer: the next ask() sends again.
  void again() {
    if (!in_flight_) answer_.reset();
  }

 private:
  http::Client http_;
  std::string key_;
  bool in_flight_ = false;
  std::optional<http::Response> answer_;
};

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  return doc;
}

std::string field(const rapidjson::Document& doc, const char* name) {
  if (!doc.IsObject() || !doc.HasMember(name) || !doc[name].IsString()) return {};
  return doc[name].GetString();
}

// GETs `path` from `base` until `check` accepts the JSON of a 200 answer.
template <class Check>
rapidjson::Document await_json(boost::asio::io_context& io, Asker& asker, const std::string& url,
                               std::string_view what, Check&& check,
                               const std::function<std::string()>& context) {
  rapidjson::Document doc;
  wait_for(
      io, what,
      [&] {
        auto answer = asker.ask("GET", url);
        if (!answer) return false;
        asker.again();
        if (answer->status != 200) return false;
        doc = parse(answer->body);
        return !doc.HasParseError() && check(doc);
      },
      20s, context);
  return doc;
}

std::set<std::string> container_ids(const rapidjson::Document& job) {
  std::set<std::string> ids;
  if (!job.IsObject() || !job.HasMember("containerTasks")) return ids;
  for (const auto& c : job["containerTasks"].GetArray())
    if (c.HasMember("taskId") && c["taskId"].IsString() && c["taskId"].GetStringLength() > 0)
      ids.insert(c["taskId"].GetString());
  return ids;
}

}  // namespace

TEST_CASE("ha: two instances with --zk, the standby forwards, SIGKILL to the leader hands over") {
  boost::asio::io_context io;
  TempDir dir{"heatblast-samza-ha"};
  LocalMaster master(io);
  const std::string zk = ZooKeeperServer::shared().url("/heatblast/samza");
  Instance a(zk, master.address(0), dir, "a");
  Asker asker(io);
  auto context = [&] { return a.program.context() + master.log_tail(); };

  // A alone: it leads and subscribes.
  await_json(
      io, asker, a.base + "/framework", "instance A to lead and subscribe",
      [](const auto& doc) {
        return field(doc, "instance") == "leader" && field(doc, "state") == "subscribed";
      },
      context);
  Instance b(zk, master.address(0), dir, "b");
  auto both = [&] { return a.program.context() + b.program.context() + master.log_tail(); };
  const auto standby = await_json(
      io, asker, b.base + "/framework", "instance B to be a standby behind A",
      [&](const auto& doc) {
        return field(doc, "instance") == "standby" &&
               field(doc, "leader") == fmt::format("127.0.0.1:{}", a.port);
      },
      both);
  CHECK(field(standby, "state") == "standby");
  wait_for(
      io, "B's metrics",
      [&] {
        auto metrics = asker.ask("GET", b.base + "/metrics");
        if (!metrics) return false;
        CHECK(metrics->body.find("\nsamza_scheduler_leader 0\n") != std::string::npos);
        return true;
      },
      10s, both);
  // The status page says so too, and shows no job list of its own (the jobs are the leader's).
  std::string standby_page;
  wait_for(
      io, "B's status page",
      [&] {
        auto page = asker.ask("GET", b.base + "/");
        if (!page) return false;
        asker.again();
        standby_page = page->body;
        return page->body.find(fmt::format("leader is <a href=\"http://127.0.0.1:{}/\">",
                                           a.port)) != std::string::npos;
      },
      10s, both);
  CHECK_THAT(standby_page, Catch::Contains("Jobs run on the leader"));
  CHECK_THAT(standby_page, !Catch::Contains("No jobs yet"));
  CHECK_THAT(standby_page, !Catch::Contains("not registered"));

  // The job, through the leader's API.
  const std::string job = fmt::format(
      R"({{"jobName": "survivor", "command": "{}", "containerCpus": 0.1, "containerMem": 32}})",
      FAKE_SAMZA_JOB);
  wait_for(
      io, "A to take the job",
      [&] {
        auto created = asker.ask("POST", a.base + "/jobs", job);
        if (!created) return false;
        INFO(created->body);
        REQUIRE(created->status == 201);
        return true;
      },
      10s, both);
  // Through the standby: forwarded whole (method, body) and the leader's answer relayed.
  wait_for(
      io, "B to forward a second submission (409 from the leader)",
      [&] {
        auto again = asker.ask("POST", b.base + "/jobs", job);
        if (!again) return false;
        INFO(again->status << " " << again->body);
        REQUIRE(again->status == 409);
        CHECK(again->body.find("exists already") != std::string::npos);
        return true;
      },
      10s, both);

  std::set<std::string> before;
  await_json(
      io, asker, b.base + "/jobs/survivor", "3 containers running, seen through B",
      [&](const auto& doc) {
        before = container_ids(doc);
        return field(doc, "state") == "RUNNING" && before.size() == 3;
      },
      both);
  const auto framework_id = master.master().snapshot().frameworks.at(0).id;

  // The leader dies without a word: its ZooKeeper session ends after its 2 s timeout, and B
  // leads, resubscribes as the same framework and adopts the containers.
  a.program.kill();
  // Until A's session ends B still takes A for the leader; forwarding fails, and B sends the
  // client to A itself. (Should B lead already, which a very slow machine could make happen,
  // it answers as the leader does; it logged its election before it could.)
  wait_for(
      io, "B to answer with the leader gone",
      [&] {
        auto answer = asker.ask("GET", b.base + "/jobs/survivor");
        if (!answer) return false;
        INFO(answer->status << " " << answer->body << "\n" << b.program.context());
        if (answer->status == 307) {
          CHECK(answer->header("Location").value_or("") ==
                fmt::format("http://127.0.0.1:{}/jobs/survivor", a.port));
        } else {
          CHECK(b.program.output().find("elected leader") != std::string::npos);
          CHECK((answer->status == 200 || answer->status == 503));
        }
        return true;
      },
      10s, both);
  const auto took_over = await_json(
      io, asker, b.base + "/framework", "B to lead and subscribe",
      [](const auto& doc) {
        return field(doc, "instance") == "leader" && field(doc, "state") == "subscribed";
      },
      both);
  CHECK(field(took_over, "frameworkId") == framework_id);
  std::set<std::string> after;
  await_json(
      io, asker, b.base + "/jobs/survivor", "the 3 containers adopted by B",
      [&](const auto& doc) {
        after = container_ids(doc);
        return field(doc, "state") == "RUNNING" && after.size() == 3;
      },
      both);
  CHECK(after == before);

  // A again: a standby now, behind B; the API answers through it as well.
  a.program.start();
  await_json(
      io, asker, a.base + "/framework", "A back as a standby behind B",
      [&](const auto& doc) {
        return field(doc, "instance") == "standby" &&
               field(doc, "leader") == fmt::format("127.0.0.1:{}", b.port);
      },
      both);
  const auto via_a = await_json(
      io, asker, a.base + "/jobs/survivor", "the job through A", [](const auto&) { return true; },
      both);
  CHECK(container_ids(via_a) == before);

  // The master ran exactly those 3 containers, one framework: nothing launched twice.
  std::set<std::string> launched;
  std::size_t runs = 0;
  const auto snapshot = master.master().snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  for (const auto& f : snapshot.frameworks) {
    CHECK(f.id == framework_id);
    for (const auto* list : {&f.tasks, &f.completed_tasks}) {
      for (const auto& task : *list) {
        if (!task.task_id.starts_with("survivor.container-")) continue;
        ++runs;
        launched.insert(task.task_id);
        CHECK(!heatblast::is_terminal(task.state));
      }
    }
  }
  CHECK(launched == before);
  CHECK(runs == 3);
}

TEST_CASE("ha: a leader cut off from ZooKeeper stops its Mesos client at once, then stands by") {
  boost::asio::io_context io;
  TempDir dir{"heatblast-samza-ha-cut"};
  LocalMaster master(io);
  auto& zk = ZooKeeperServer::shared();
  // A reaches ZooKeeper through a proxy the test can cut; B directly.
  TcpProxy proxy(io, static_cast<std::uint16_t>(zk.port()));
  const std::string path = "/heatblast/cut";
  Instance a(fmt::format("zk://127.0.0.1:{}{}", proxy.port(), path), master.address(0), dir, "a");
  Asker asker(io);
  auto context = [&] { return a.program.context() + master.log_tail(); };
  await_json(
      io, asker, a.base + "/framework", "instance A to lead and subscribe",
      [](const auto& doc) {
        return field(doc, "instance") == "leader" && field(doc, "state") == "subscribed";
      },
      context);
  Instance b(zk.url(path), master.address(0), dir, "b");
  auto both = [&] { return a.program.context() + b.program.context() + master.log_tail(); };
  await_json(
      io, asker, b.base + "/framework", "instance B to be a standby behind A",
      [&](const auto& doc) { return field(doc, "leader") == fmt::format("127.0.0.1:{}", a.port); },
      both);
  const std::string job = fmt::format(
      R"({{"jobName": "cut", "command": "{}", "containerCpus": 0.1, "containerMem": 32}})",
      FAKE_SAMZA_JOB);
  wait_for(
      io, "A to take the job",
      [&] {
        auto created = asker.ask("POST", a.base + "/jobs", job);
        if (!created) return false;
        INFO(created->body);
        REQUIRE(created->status == 201);
        return true;
      },
      10s, both);
  std::set<std::string> before;
  await_json(
      io, asker, a.base + "/jobs/cut", "3 containers running",
      [&](const auto& doc) {
        before = container_ids(doc);
        return field(doc, "state") == "RUNNING" && before.size() == 3;
      },
      both);
  const auto framework_id = master.master().snapshot().frameworks.at(0).id;

  // Cut off, A cannot know whether its session lives on: it stops leading and drops its
  // Mesos connection before the session can expire and B lead.
  proxy.cut();
  wait_for(
      io, "A to let go of the framework",
      [&] {
        const auto snapshot = master.master().snapshot();
        return snapshot.frameworks.size() == 1 && !snapshot.frameworks[0].connected;
      },
      10s, both);
  CHECK(b.program.output().find("elected leader") == std::string::npos);
  await_json(
      io, asker, a.base + "/framework", "A to say it is a standby",
      [](const auto& doc) { return field(doc, "instance") == "standby"; }, both);
  // A's session expires on the server: B leads, as the same framework, with A's containers.
  const auto took_over = await_json(
      io, asker, b.base + "/framework", "B to lead and subscribe",
      [](const auto& doc) {
        return field(doc, "instance") == "leader" && field(doc, "state") == "subscribed";
      },
      both);
  CHECK(field(took_over, "frameworkId") == framework_id);
  std::set<std::string> after;
  await_json(
      io, asker, b.base + "/jobs/cut", "the 3 containers adopted by B",
      [&](const auto& doc) {
        after = container_ids(doc);
        return field(doc, "state") == "RUNNING" && after.size() == 3;
      },
      both);
  CHECK(after == before);
  // A back in touch: a new session, a standby behind B, and B keeps the framework.
  proxy.resume();
  await_json(
      io, asker, a.base + "/framework", "A a standby behind B",
      [&](const auto& doc) {
        return field(doc, "instance") == "standby" &&
               field(doc, "leader") == fmt::format("127.0.0.1:{}", b.port);
      },
      both);
  const auto snapshot = master.master().snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  CHECK(snapshot.frameworks[0].connected);
  std::set<std::string> launched;
  for (const auto* list : {&snapshot.frameworks[0].tasks, &snapshot.frameworks[0].completed_tasks})
    for (const auto& task : *list)
      if (task.task_id.starts_with("cut.container-")) launched.insert(task.task_id);
  CHECK(launched == before);
}
