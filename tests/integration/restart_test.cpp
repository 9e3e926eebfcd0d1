// The scheduler client against the local-master program: killed with SIGKILL while a task runs,
// started again on the same port and work dir, the framework resumes and the task is still
// running.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "integration/local_master_fixture.hpp"

extern char** environ;

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::scheduler::Call;
using heatblast::scheduler::State;
using heatblast::testing::TempDir;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;
using mesos::v1::TaskStatus;

namespace {

// A port that was free a moment ago (bound to 0, read back, released).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) FAIL("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    FAIL("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// The local-master program as a child process, logging to a file. The destructor SIGKILLs and
// reaps it if it still runs, so no assertion can leave it behind.
class LocalMasterProcess {
 public:
  LocalMasterProcess(std::string work_dir, std::uint16_t port, std::string log_path)
      : work_dir_(std::move(work_dir)), port_(port), log_path_(std::move(log_path)) {}
  ~LocalMasterProcess() { kill_and_reap(SIGKILL); }
  LocalMasterProcess(const LocalMasterProcess&) = delete;
  LocalMasterProcess& operator=(const LocalMasterProcess&) = delete;

  void start() {
    std::vector<std::string> args = {HEATBLAST_LOCAL_MASTER_PATH,
                                     "--listen",
                                     fmt::format("127.0.0.1:{}", port_),
                                     "--work-dir",
                                     work_dir_,
                                     "--heartbeat-interval",
                                     "0.2",
                                     "--allocation-interval",
                                     "0.1",
                                     "--resources",
                                     "cpus:2;mem:1024;disk:1024;ports:[31000-31099]",
                                     "--hostname",
                                     "localhost"};
    std::vector<char*> argv;
    for (auto& arg : args)
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

  // kill(SIGKILL) and reap: the master dies at once, its tasks live on.
  void kill9() { kill_and_reap(SIGKILL); }

  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }

  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return "local-master's output:\n" + text.str();
  }

 private:
  void kill_and_reap(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

  std::string work_dir_;
  std::uint16_t port_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// SIGKILLs a task's process group when the test ends, however it ends.
struct ProcessGroupGuard {
  int pgid = 0;
  ~ProcessGroupGuard() {
    if (pgid > 1) ::kill(-pgid, SIGKILL);
  }
};

}  // namespace

TEST_CASE("restart: local-master killed and restarted on its work dir, the task still runs",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  TempDir dir("heatblast-restart");
  ProcessGroupGuard task_group;
  LocalMasterProcess master(dir.str() + "/work", free_port(), dir.str() + "/local-master.log");
  master.start();

  boost::asio::io_context io;
  TestFramework fw(io, {master.address()}, type);
  auto context = [&] { return fw.history() + "\n" + master.log(); };
  fw.start();
  wait_for(
      io, "the client to subscribe at the local-master program", [&] { return fw.subscribed(); },
      10s, context);
  const std::string id = fw.framework_ids().front();

  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("sleeper", "sleep 30", offer)});
  wait_for(
      io, "'sleeper' to run", [&] { return fw.saw_state("sleeper", mesos::v1::TASK_RUNNING); }, 5s,
      context);
  TaskStatus running;
  for (const auto& status : fw.updates("sleeper")) {
    if (status.state() == mesos::v1::TASK_RUNNING) running = status;
  }
  // The supervisor leads the task's process group (local-master's ProcessRunner).
  task_group.pgid = static_cast<int>(running.container_status().executor_pid());
  REQUIRE(task_group.pgid > 1);
  REQUIRE(::kill(-task_group.pgid, 0) == 0);
  Call::Reconcile::Task known;
  *known.mutable_task_id() = running.task_id();
  *known.mutable_agent_id() = running.agent_id();
  fw.known_tasks = {known};

  const std::size_t from = fw.events().size();
  master.kill9();
  wait_for(
      io, "the client to notice the master is gone",
      [&] { return fw.client().state() != State::subscribed; }, 5s, context);
  CHECK(::kill(-task_group.pgid, 0) == 0);  // the task outlives its master

  master.start();
  fw.wait_subscriptions(2, 10s);
  INFO(context());
  CHECK(fw.framework_ids() == std::vector<std::string>{id, id});
  wait_for(
      io, "a reconciliation answer for 'sleeper' from the restarted master",
      [&] {
        for (const auto& status : fw.updates("sleeper", from)) {
          if (status.reason() == TaskStatus::REASON_RECONCILIATION) return true;
        }
        return false;
      },
      5s, context);
  for (const auto& status : fw.updates("sleeper", from)) {
    if (status.reason() == TaskStatus::REASON_RECONCILIATION) {
      CHECK(status.state() == mesos::v1::TASK_RUNNING);
    }
  }
  CHECK(::kill(-task_group.pgid, 0) == 0);

  // Clean up through the API: the restarted master kills the task it adopted. Its supervisor
  // is no child of the new master, which learns of its end by polling (every 250 ms) and must
  // not wait for PID 1 to reap the zombie (seconds in some containers): 1.5 s is plenty.
  fw.client().kill(running.task_id(), running.agent_id());
  wait_for(
      io, "'sleeper' to be killed by the restarted master",
      [&] { return fw.saw_state("sleeper", mesos::v1::TASK_KILLED, from); }, 1500ms, context);
  heatblast::testing::wait_group_gone(io, task_group.pgid);
}
