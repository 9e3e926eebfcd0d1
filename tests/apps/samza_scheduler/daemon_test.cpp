// The samza-scheduler program itself, as a child process against local-master in this process:
// killed with SIGKILL while its job runs, then started again on the same state file.
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_client.hpp"
#include "heatblast/task_state.hpp"
#include "integration/local_master_fixture.hpp"

namespace {

namespace http = heatblast::http;
using heatblast::testing::LocalMaster;
using heatblast::testing::TempDir;
using heatblast::testing::wait_for;
using namespace std::chrono_literals;

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) FAIL("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    FAIL("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// samza-scheduler as a child process, its output in a file. The destructor SIGKILLs and reaps it.
class Daemon {
 public:
  Daemon(std::vector<std::string> args, std::string log_path)
      : args_(std::move(args)), log_path_(std::move(log_path)) {}
  ~Daemon() { kill9(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start() {
    std::vector<char*> argv;
    for (auto& arg : args_)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (error != 0) FAIL("cannot start '" << argv[0] << "': " << std::strerror(error));
    pid_ = pid;
  }

  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return "samza-scheduler's output:\n" + text.str();
  }

 private:
  std::vector<std::string> args_;
  std::string log_path_;
  pid_t pid_ = -1;
};

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
  const std::uint16_t port = free_port();
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
  Daemon daemon(args, dir.str() + "/daemon.log");
  daemon.start();

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
      20s, [&] { return daemon.log(); });
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
      20s, [&] { return daemon.log() + master.log_tail(); });
  const auto framework_id = master.master().snapshot().frameworks.at(0).id;

  daemon.kill9();
  daemon.start();
  Poller framework(io, base + "/framework");
  wait_for(
      io, "the restarted daemon to subscribe",
      [&] {
        const auto* doc = framework.latest();
        return doc && std::string((*doc)["state"].GetString()) == "subscribed";
      },
      20s, [&] { return daemon.log(); });
  CHECK(std::string((*framework.latest())["frameworkId"].GetString()) == framework_id);

  std::set<std::string> after;
  wait_for(
      io, "the 3 containers adopted",
      [&] {
        after = running_ids();
        return after.size() == 3;
      },
      20s, [&] { return daemon.log(); });
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
