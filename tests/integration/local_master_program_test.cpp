// The local-master program itself: its command line, start-up, shutdown on SIGTERM, a relative
// --work-dir across a restart, the fault switch flag, agent attributes. Each test runs the
// real binary on an ephemeral port (read back from its "listening on" line).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_client.hpp"
#include "heatblast/task_state.hpp"
#include "support/process_groups.hpp"
#include "support/program.hpp"
#include "support/temp_dir.hpp"
#include "support/test_framework.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::testing::GroupGuard;
using heatblast::testing::Program;
using heatblast::testing::ProgramOptions;
using heatblast::testing::TempDir;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;
using mesos::v1::TaskStatus;

namespace {

const std::vector<std::string> kCommon = {"--resources",
                                          "cpus:2;mem:1024;disk:1024;ports:[31000-31099]",
                                          "--hostname",
                                          "localhost",
                                          "--heartbeat-interval",
                                          "0.2",
                                          "--allocation-interval",
                                          "0.1"};

// The local-master program's command line: kCommon, then `extra`.
std::vector<std::string> args(std::vector<std::string> extra) {
  std::vector<std::string> out = {HEATBLAST_LOCAL_MASTER_PATH};
  out.insert(out.end(), kCommon.begin(), kCommon.end());
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// Waits for the start-up lines (the last one names the sandboxes) and returns the address of
// "master listening on 127.0.0.1:PORT (leader)".
std::string wait_listening(Program& program) {
  constexpr std::string_view kLine = "master listening on ";
  if (!program.wait_for_output("runs/<container>", 10s)) {
    FAIL("no start-up lines\n" << program.context());
  }
  const std::string out = program.output();
  const auto at = out.find(kLine);
  if (at == std::string::npos) FAIL("no listening line\n" << program.context());
  const auto from = at + kLine.size();
  return out.substr(from, out.find(' ', from) - from);
}

heatblast::http::Response send(boost::asio::io_context& io, const std::string& method,
                               const std::string& url, std::string body = {}) {
  heatblast::http::Client client(io.get_executor());
  heatblast::http::Request request;
  request.method = method;
  request.url = url;
  request.body = std::move(body);
  request.timeout = 5s;
  std::optional<heatblast::Result<heatblast::http::Response>> answer;
  client.async_send(std::move(request),
                    [&](heatblast::Result<heatblast::http::Response> r) { answer = std::move(r); });
  wait_for(
      io, method + " " + url, [&] { return answer.has_value(); }, 6s);
  if (!*answer) FAIL(method << " " << url << " failed: " << answer->error().what());
  return std::move(**answer);
}

// The pid of the supervisor (the task's process group) from its TASK_RUNNING update.
int task_group_of(TestFramework& fw, const std::string& task_id) {
  for (const auto& status : fw.updates(task_id)) {
    if (status.state() == mesos::v1::TASK_RUNNING) {
      return static_cast<int>(status.container_status().executor_pid());
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("local-master --version, and an unknown flag", "[integration]") {
  Program version({HEATBLAST_LOCAL_MASTER_PATH, "--version"});
  REQUIRE(version.wait_exit(10s) == 0);
  CHECK(version.output() == fmt::format("local-master {}\n", HEATBLAST_VERSION));

  Program unknown({HEATBLAST_LOCAL_MASTER_PATH, "--nope", "1"});
  REQUIRE(unknown.wait_exit(10s) == 2);
  CHECK_THAT(unknown.output(), Catch::StartsWith("local-master: unknown flag '--nope'"));
}

TEST_CASE("local-master on a taken port: the bind error first, exit status 1", "[integration]") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::string taken = fmt::format("127.0.0.1:{}", ntohs(address.sin_port));

  TempDir dir("heatblast-taken");
  Program program(args({"--listen", taken, "--work-dir", dir.str() + "/work"}));
  const auto status = program.wait_exit(10s);
  ::close(fd);
  INFO(program.context());
  REQUIRE(status == 1);
  CHECK_THAT(program.output(), Catch::StartsWith("local-master: replica 0 cannot listen on"));
  CHECK_THAT(program.output(), !Catch::Contains("running"));
  CHECK_THAT(program.output(), !Catch::Contains("listening"));
}

TEST_CASE("local-master without --work-dir kills its tasks on SIGTERM and waits for them",
          "[integration]") {
  Program program(args({"--listen", "127.0.0.1:0"}));
  const std::string master = wait_listening(program);
  CHECK_THAT(program.output(), Catch::Contains("task sandboxes: /tmp/local-master/slaves/"));

  boost::asio::io_context io;
  GroupGuard group;
  TestFramework fw(io, {master}, ContentType::protobuf);
  fw.start();
  fw.wait_subscribed(10s);
  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("sleeper", "sleep 30", offer)});
  wait_for(
      io, "'sleeper' to run", [&] { return fw.saw_state("sleeper", mesos::v1::TASK_RUNNING); }, 5s,
      [&] { return fw.history() + program.context(); });
  group.pgid = task_group_of(fw, "sleeper");
  REQUIRE(group.pgid > 1);

  program.signal(SIGTERM);
  REQUIRE(program.wait_exit(10s) == 0);
  INFO(program.context());
  CHECK_THAT(program.output(), Catch::Contains("stopping 1 task(s)"));
  CHECK_THAT(program.output(), Catch::Contains("every task has exited; stopped"));
  heatblast::testing::wait_group_gone(io, group.pgid);
}

TEST_CASE("local-master with --work-dir leaves its tasks running on SIGTERM", "[integration]") {
  TempDir dir("heatblast-sigterm");
  Program program(args({"--listen", "127.0.0.1:0", "--work-dir", dir.str() + "/w"}));
  const std::string master = wait_listening(program);
  CHECK_THAT(program.output(),
             Catch::Contains(fmt::format("task sandboxes: {}/w/slaves/", dir.str())));

  boost::asio::io_context io;
  GroupGuard group;
  TestFramework fw(io, {master}, ContentType::protobuf);
  fw.start();
  fw.wait_subscribed(10s);
  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("sleeper", "sleep 30", offer)});
  wait_for(
      io, "'sleeper' to run", [&] { return fw.saw_state("sleeper", mesos::v1::TASK_RUNNING); }, 5s,
      [&] { return fw.history() + program.context(); });
  group.pgid = task_group_of(fw, "sleeper");
  REQUIRE(group.pgid > 1);

  program.signal(SIGTERM);
  REQUIRE(program.wait_exit(10s) == 0);
  INFO(program.context());
  CHECK_THAT(program.output(),
             Catch::Contains(fmt::format("1 task(s) keep running, as a Mesos agent's do; a "
                                         "restart with --work-dir={}/w adopts them",
                                         dir.str())));
  CHECK(::kill(-group.pgid, 0) == 0);
}

TEST_CASE("a relative --work-dir: a task that ends while local-master is down is FINISHED",
          "[integration]") {
  // The supervisor writes the task's exit status after changing into the sandbox; with the
  // work dir as given ("run/lm") the status file went nowhere, the restarted master found no
  // status, reported TASK_FAILED, and a restart policy ran the task a second time.
  TempDir dir("heatblast-relative");
  const std::vector<std::string> flags = args({"--listen", "127.0.0.1:0", "--work-dir", "run/lm"});
  std::optional<Program> program;
  program.emplace(flags, ProgramOptions{.cwd = dir.str()});
  std::string master = wait_listening(*program);
  CHECK_THAT(program->output(),
             Catch::Contains(fmt::format("task sandboxes: {}/run/lm/slaves/", dir.str())));

  boost::asio::io_context io;
  GroupGuard group;
  auto context = [&] { return program->context(); };
  std::optional<TestFramework> fw;
  fw.emplace(
      io, std::vector<std::string>{master}, ContentType::protobuf,
      [](heatblast::scheduler::Options& options) { options.framework.set_failover_timeout(60); });
  fw->start();
  fw->wait_subscribed(10s);
  const std::string framework_id = fw->framework_ids().front();
  const auto offer = fw->take_offer();
  // Ends when the test says so, once the master below is gone.
  const std::string go = dir.str() + "/go";
  fw->launch(offer,
             {fw->command_task("short", fmt::format("while [ ! -e '{}' ]; do sleep 0.02; done", go),
                               offer)});
  wait_for(
      io, "'short' to run", [&] { return fw->saw_state("short", mesos::v1::TASK_RUNNING); }, 5s,
      context);
  group.pgid = task_group_of(*fw, "short");
  program->signal(SIGKILL);
  REQUIRE(program->wait_exit(5s) == 128 + SIGKILL);
  // The task ends while no master runs (the client, retrying, keeps `io` busy).
  std::ofstream{go} << "go\n";
  heatblast::testing::wait_group_gone(io, group.pgid, 5s);
  fw.reset();

  program.emplace(flags, ProgramOptions{.cwd = dir.str()});
  master = wait_listening(*program);
  fw.emplace(io, std::vector<std::string>{master}, ContentType::protobuf,
             [&](heatblast::scheduler::Options& options) {
               options.framework.mutable_id()->set_value(framework_id);
               options.framework.set_failover_timeout(60);
             });
  fw->start();
  fw->wait_subscribed(10s);
  wait_for(
      io, "the end of 'short' from the restarted master",
      [&] {
        for (const auto& status : fw->updates("short")) {
          if (heatblast::is_terminal(status.state())) return true;
        }
        return false;
      },
      10s, [&] { return fw->history() + context(); });
  for (const auto& status : fw->updates("short")) {
    if (heatblast::is_terminal(status.state())) {
      INFO(status.message());
      CHECK(status.state() == mesos::v1::TASK_FINISHED);
    }
  }
}

TEST_CASE("POST /admin/fault answers 404 unless --enable-fault-injection", "[integration]") {
  boost::asio::io_context io;
  {
    Program program(args({"--listen", "127.0.0.1:0", "--simulate"}));
    const std::string master = wait_listening(program);
    const auto refused = send(io, "POST", fmt::format("http://{}/admin/fault", master), "stall=1");
    CHECK(refused.status == 404);
  }
  Program program(args({"--listen", "127.0.0.1:0", "--simulate", "--enable-fault-injection"}));
  const std::string master = wait_listening(program);
  const auto applied = send(io, "POST", fmt::format("http://{}/admin/fault", master), "stall=0");
  INFO(applied.body);
  CHECK(applied.status == 200);
}

TEST_CASE("local-master --quiet: refused requests are not logged, refused connections are",
          "[integration]") {
  boost::asio::io_context io;
  Program program(args({"--listen", "127.0.0.1:0", "--simulate", "--quiet"}));
  const std::string master = wait_listening(program);
  CHECK(send(io, "POST", fmt::format("http://{}/admin/fault", master), "stall=1").status == 404);

  // One connection past the 512 local-master allows.
  const auto colon = master.rfind(':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  std::from_chars(master.data() + colon + 1, master.data() + master.size(), port);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  std::vector<int> sockets;
  for (int i = 0; i < 513; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockets.push_back(fd);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  const bool warned = program.wait_for_output("connection(s) refused with 429", 10s);
  for (int fd : sockets)
    ::close(fd);
  INFO(program.context());
  CHECK(warned);
  CHECK_THAT(program.output(), Catch::Contains("warning: http server"));
  CHECK_THAT(program.output(), !Catch::Contains("/admin/fault"));
}

TEST_CASE("agent attributes from the flags, in /state and in offers", "[integration]") {
  Program program(args({"--listen", "127.0.0.1:0", "--simulate", "--agents", "2", "--attributes",
                        "rack:r1;level:2", "--agent-attributes", "1=rack:r2;slots:[1-4]"}));
  const std::string master = wait_listening(program);
  CHECK_THAT(program.output(), Catch::Contains("attributes: 'rack:r2;level:2;slots:[1-4]'"));
  boost::asio::io_context io;

  const auto state = send(io, "GET", fmt::format("http://{}/state", master));
  INFO(state.body);
  CHECK_THAT(state.body, Catch::Contains(R"("attributes":{"rack":"r1","level":2.0})"));
  CHECK_THAT(state.body,
             Catch::Contains(R"("attributes":{"rack":"r2","level":2.0,"slots":"[1-4]"})"));

  TestFramework fw(io, {master}, ContentType::json);
  fw.start();
  fw.wait_subscribed(10s);
  std::map<std::string, std::string> rack_by_host;
  for (int i = 0; i < 2; ++i) {
    const auto offer = fw.take_offer();
    for (const auto& attribute : offer.attributes()) {
      if (attribute.name() == "rack") rack_by_host[offer.hostname()] = attribute.text().value();
    }
  }
  CHECK(rack_by_host == std::map<std::string, std::string>{{"agent-1", "r1"}, {"agent-2", "r2"}});
}
