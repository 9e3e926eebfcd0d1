// ProcessRunner with real tiny commands, and the Master driving it. The only waits are polls of
// `reap()` against a deadline.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/resources.hpp"
#include "master.hpp"
#include "process_runner.hpp"
#include "simulated_runner.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace heatblast::local_master;
using heatblast::testing::TempDir;
using mesos::v1::TaskStatus;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

LaunchSpec spec_for(const std::string& root, const std::string& id, const std::string& shell) {
  LaunchSpec spec;
  spec.container_id = "c-" + id;
  spec.framework_id.set_value("fw");
  spec.agent_id.set_value("agent");
  spec.executor_id.set_value(id);
  spec.task.set_name(id);
  spec.task.mutable_task_id()->set_value(id);
  spec.task.mutable_agent_id()->set_value("agent");
  spec.task.mutable_command()->set_value(shell);
  spec.sandbox = root + "/sandboxes/" + id;
  return spec;
}

// The supervisor program built beside the tests; `forked`: supervisors are forks of the test
// process instead (the runner's way when that program is missing).
ProcessRunnerOptions runner_options(const std::string& meta_dir, bool forked = false) {
  return {.meta_dir = meta_dir,
          .docker = "",
          .supervisor = forked ? std::string("/nonexistent/local-master-supervisor")
                               : std::string(HEATBLAST_SUPERVISOR_PATH)};
}

TimePoint wall_now() {
  return std::chrono::system_clock::now();
}

// The runner's events as a queue that a test takes from in its own order. poll() hands over
// every event that is ready in one batch (a short command's `running` and `exited` often come
// together), so events that were not asked for are kept for the next wait, never dropped.
class RunnerEvents {
 public:
  explicit RunnerEvents(TaskRunner& runner) : runner_(runner) {}

  // The first event of `kind` for `container`, polling (every 5 ms) for at most 10 s.
  RunnerEvent wait_for(const std::string& container, RunnerEvent::Kind kind) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (true) {
      auto match = std::find_if(backlog_.begin(), backlog_.end(), [&](const RunnerEvent& event) {
        return event.container_id == container && event.kind == kind;
      });
      if (match != backlog_.end()) {
        RunnerEvent event = std::move(*match);
        backlog_.erase(match);
        return event;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      if (!poll()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("no event of kind " << static_cast<int>(kind) << " for " << container << " within 10 s ("
                             << backlog_.size() << " other events kept)");
    return {};
  }

  // Polls once; true when new events arrived. They stay queued.
  bool poll() {
    auto fresh = runner_.poll(std::chrono::system_clock::now());
    backlog_.insert(backlog_.end(), fresh.begin(), fresh.end());
    return !fresh.empty();
  }

  const std::vector<RunnerEvent>& pending() const { return backlog_; }

 private:
  TaskRunner& runner_;
  std::vector<RunnerEvent> backlog_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The file descriptors this process holds.
std::size_t open_fds() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("RunnerEvents keeps the events of a batch that a wait did not ask for") {
  // A task that started and ended long ago: one poll returns its `running` and `exited`
  // together, as a ProcessRunner does for a command that ends before the first poll.
  SimulatedRunner runner;
  LaunchSpec spec = spec_for("/srv", "quick", "true");
  auto* label = spec.task.mutable_labels()->add_labels();
  label->set_key("sim.duration");
  label->set_value("0");
  runner.launch(spec, TimePoint(std::chrono::hours(1)));
  RunnerEvents events(runner);
  CHECK(events.wait_for(spec.container_id, RunnerEvent::Kind::running).kind ==
        RunnerEvent::Kind::running);
  CHECK(events.pending().size() == 1);
  auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
  CHECK(exited.termination.kind == Termination::Kind::exited);
  CHECK(events.pending().empty());
}

TEST_CASE("build_command_line: shell, argv, environment, docker") {
  LaunchSpec spec = spec_for("/srv", "t1", "echo hi");
  auto* variable = spec.task.mutable_command()->mutable_environment()->add_variables();
  variable->set_name("GREETING");
  variable->set_value("hello");
  auto shell = build_command_line(spec, "");
  REQUIRE(shell);
  CHECK(shell->path == "/bin/sh");
  CHECK(shell->argv == std::vector<std::string>{"sh", "-c", "echo hi"});
  auto has = [&](const std::string& entry) {
    return std::find(shell->environment.begin(), shell->environment.end(), entry) !=
           shell->environment.end();
  };
  CHECK(has("GREETING=hello"));
  CHECK(has("MESOS_SANDBOX=/srv/sandboxes/t1"));
  CHECK(has("MESOS_TASK_ID=t1"));
  CHECK(has("MESOS_FRAMEWORK_ID=fw"));

  spec.task.mutable_command()->set_shell(false);
  spec.task.mutable_command()->set_value("sleep");
  spec.task.mutable_command()->add_arguments("sleep");
  spec.task.mutable_command()->add_arguments("5");
  auto direct = build_command_line(spec, "");
  REQUIRE(direct);
  CHECK(direct->argv == std::vector<std::string>{"sleep", "5"});
  CHECK(std::filesystem::path(direct->path).filename() == "sleep");
  CHECK(direct->path.find('/') != std::string::npos);  // found on PATH

  spec.task.mutable_container()->set_type(mesos::v1::ContainerInfo::DOCKER);
  spec.task.mutable_container()->mutable_docker()->set_image("alpine:3");
  spec.task.mutable_command()->set_shell(true);
  spec.task.mutable_command()->set_value("echo hi");
  auto docker = build_command_line(spec, "/usr/bin/docker");
  REQUIRE(docker);
  CHECK(docker->path == "/usr/bin/docker");
  REQUIRE(docker->argv.size() > 6);
  CHECK(docker->argv[1] == "run");
  const std::vector<std::string> tail(docker->argv.end() - 5, docker->argv.end());
  CHECK(tail == std::vector<std::string>{"--entrypoint", "/bin/sh", "alpine:3", "-c", "echo hi"});
  CHECK(std::find(docker->argv.begin(), docker->argv.end(), "MESOS_SANDBOX=/mnt/mesos/sandbox") !=
        docker->argv.end());

  LaunchSpec empty = spec_for("/srv", "t2", "");
  empty.task.mutable_command()->clear_value();
  CHECK_FALSE(build_command_line(empty, ""));
}

TEST_CASE("ProcessRunner runs commands in a sandbox and reports how they end") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  const bool forked = GENERATE(false, true);
  ProcessRunner runner(runner_options(dir + "/meta", forked));
  CHECK(runner.supervisor_program().empty() == forked);
  RunnerEvents events(runner);
  CHECK_FALSE(runner.docker_available());

  SECTION("true: running, then exit status 0; stdout in the sandbox") {
    auto spec = spec_for(dir, "ok", "echo \"hello $MESOS_TASK_ID\"; true");
    runner.launch(spec, wall_now());
    auto running = events.wait_for(spec.container_id, RunnerEvent::Kind::running);
    REQUIRE(running.pid);
    CHECK(running.pgid == running.pid);
    auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::exited);
    CHECK(exited.termination.code == 0);
    CHECK(read_file(spec.sandbox + "/stdout") == "hello ok\n");
    CHECK(std::filesystem::exists(spec.sandbox + "/stderr"));
    CHECK(runner.live_tasks() == 0);
  }
  SECTION("exit 3") {
    auto spec = spec_for(dir, "three", "exit 3");
    runner.launch(spec, wall_now());
    auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::exited);
    CHECK(exited.termination.code == 3);
  }
  SECTION("sleep 30, SIGTERM") {
    auto spec = spec_for(dir, "sleeper", "exec sleep 30");
    runner.launch(spec, wall_now());
    events.wait_for(spec.container_id, RunnerEvent::Kind::running);
    runner.signal(spec.container_id, TaskSignal::terminate, wall_now());
    auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::signaled);
    CHECK(exited.termination.code == SIGTERM);
  }
  SECTION("a command that ignores SIGTERM needs SIGKILL") {
    auto spec = spec_for(dir, "stubborn", "trap '' TERM; echo ready; sleep 30; sleep 30");
    runner.launch(spec, wall_now());
    events.wait_for(spec.container_id, RunnerEvent::Kind::running);
    // SIGTERM only once the shell has installed its trap.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read_file(spec.sandbox + "/stdout") != "ready\n") {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    runner.signal(spec.container_id, TaskSignal::terminate, wall_now());
    for (int i = 0; i < 20; ++i) {
      events.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (const auto& event : events.pending())
      CHECK(event.kind != RunnerEvent::Kind::exited);
    runner.signal(spec.container_id, TaskSignal::kill, wall_now());
    auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::signaled);
    CHECK(exited.termination.code == SIGKILL);
  }
  SECTION("what the command leaves in its group ends with it, as a Mesos container does") {
    // The shell ends at once; the background sleep would outlive it (and local-master).
    auto spec = spec_for(dir, "leaver", "sleep 30 & echo $! > straggler; exit 0");
    runner.launch(spec, wall_now());
    auto running = events.wait_for(spec.container_id, RunnerEvent::Kind::running);
    REQUIRE(running.pgid);
    auto exited = events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::exited);
    CHECK(exited.termination.code == 0);
    const pid_t straggler = std::stoi(read_file(spec.sandbox + "/straggler"));
    REQUIRE(straggler > 1);
    // Killed with the group when the supervisor was reaped; ours to wait for only as a zombie
    // of init, so poll until it is gone.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (::kill(straggler, 0) == 0 && ::getpgid(straggler) == *running.pgid) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  SECTION("an executable that does not exist: launch_failed") {
    auto spec = spec_for(dir, "missing", "/no/such/program");
    spec.task.mutable_command()->set_shell(false);
    runner.launch(spec, wall_now());
    auto failed = events.wait_for(spec.container_id, RunnerEvent::Kind::launch_failed);
    CHECK_THAT(failed.message, Catch::Contains("Failed to execute '/no/such/program'"));
    CHECK(runner.live_tasks() == 0);
  }
}

TEST_CASE("ProcessRunner: a launch does not wait for the exec, reports come through the executor") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  boost::asio::io_context io;
  // The reactor's own descriptors (epoll, eventfd, timerfd) come with its first user.
  boost::asio::steady_timer reactor_user(io);
  const std::size_t fds_before = open_fds();
  {
    ProcessRunner runner(runner_options(dir + "/meta"));
    runner.set_executor(io.get_executor());
    // The only polls are those the wake asks for, as in local-master (no reap timer here).
    std::vector<RunnerEvent> events;
    int wakes = 0;
    runner.set_wake([&] {
      ++wakes;
      boost::asio::post(io, [&] {
        auto fresh = runner.poll(wall_now());
        events.insert(events.end(), fresh.begin(), fresh.end());
      });
    });
    const auto count = [&](const std::string& container, RunnerEvent::Kind kind) {
      return std::count_if(events.begin(), events.end(), [&](const RunnerEvent& event) {
        return event.container_id == container && event.kind == kind;
      });
    };
    const auto run_until = [&](const std::function<bool()>& done) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(5));
      }
      return done();
    };

    constexpr int kTasks = 40;
    std::vector<LaunchSpec> specs;
    for (int i = 0; i < kTasks; ++i) {
      specs.push_back(spec_for(dir, fmt::format("par{}", i), "exec sleep 30"));
      runner.launch(specs.back(), wall_now());
    }
    auto missing = spec_for(dir, "missing", "/no/such/program");
    missing.task.mutable_command()->set_shell(false);
    runner.launch(missing, wall_now());
    // Nothing is known before a poll: every launch is still pending, none was waited for.
    CHECK(runner.live_tasks() == kTasks + 1);

    SECTION("all of them reach running, each in its own process group; the failure says why") {
      REQUIRE(run_until([&] {
        return std::all_of(specs.begin(), specs.end(),
                           [&](const LaunchSpec& spec) {
                             return count(spec.container_id, RunnerEvent::Kind::running) == 1;
                           }) &&
               count(missing.container_id, RunnerEvent::Kind::launch_failed) == 1;
      }));
      CHECK(wakes >= 1);
      std::set<int> groups;
      for (const auto& event : events) {
        if (event.kind != RunnerEvent::Kind::running) continue;
        REQUIRE(event.pid);
        CHECK(event.pgid == event.pid);
        CHECK(::getpgid(*event.pid) == *event.pid);
        groups.insert(*event.pgid);
      }
      CHECK(groups.size() == kTasks);
      for (const auto& event : events) {
        if (event.kind != RunnerEvent::Kind::launch_failed) continue;
        CHECK(event.container_id == missing.container_id);
        CHECK(event.message == "Failed to execute '/no/such/program': No such file or directory");
      }
      CHECK(runner.live_tasks() == kTasks);
      runner.signal_all(TaskSignal::kill, wall_now());
      // Exits have no wake of their own (local-master reaps on SIGCHLD and a timer).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (runner.live_tasks() > 0 && std::chrono::steady_clock::now() < deadline) {
        auto fresh = runner.poll(wall_now());
        events.insert(events.end(), fresh.begin(), fresh.end());
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      for (const auto& spec : specs) {
        CHECK(count(spec.container_id, RunnerEvent::Kind::exited) == 1);
      }
      CHECK(runner.live_tasks() == 0);
    }
    SECTION("killed while the reports are pending: running, then killed; the failure stays one") {
      runner.signal_all(TaskSignal::terminate, wall_now());
      runner.signal(specs[0].container_id, TaskSignal::kill, wall_now());
      runner.signal(specs[1].container_id, TaskSignal::kill, wall_now());
      runner.signal(specs[1].container_id, TaskSignal::terminate, wall_now());  // no downgrade
      REQUIRE(run_until([&] {
        auto fresh = runner.poll(wall_now());
        events.insert(events.end(), fresh.begin(), fresh.end());
        return runner.live_tasks() == 0;
      }));
      for (const auto& spec : specs) {
        // In the order the master expects: the command ran, then it was killed.
        std::vector<RunnerEvent::Kind> kinds;
        std::optional<Termination> end;
        for (const auto& event : events) {
          if (event.container_id != spec.container_id) continue;
          kinds.push_back(event.kind);
          if (event.kind == RunnerEvent::Kind::exited) end = event.termination;
        }
        CHECK(kinds == std::vector<RunnerEvent::Kind>{RunnerEvent::Kind::running,
                                                      RunnerEvent::Kind::exited});
        REQUIRE(end);
        CHECK(end->kind == Termination::Kind::signaled);
        const bool killed = spec.container_id == specs[0].container_id ||
                            spec.container_id == specs[1].container_id;
        CHECK(end->code == (killed ? SIGKILL : SIGTERM));
      }
      CHECK(count(missing.container_id, RunnerEvent::Kind::launch_failed) == 1);
      CHECK(events.size() == 2 * kTasks + 1);
    }
    // Whatever a section left running (the last one: all of them) is ended for the fd count.
    runner.signal_all(TaskSignal::kill, wall_now());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (runner.live_tasks() > 0 && std::chrono::steady_clock::now() < deadline) {
      runner.poll(wall_now());
      io.run_for(std::chrono::milliseconds(5));
    }
    CHECK(runner.live_tasks() == 0);
  }
  // The pipes, the sandbox files and the executor's registrations are all closed again.
  io.run_for(std::chrono::milliseconds(10));
  CHECK(open_fds() == fds_before);
}

TEST_CASE("ProcessRunner: a runner destroyed with exec reports pending closes their pipes") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  boost::asio::io_context io;
  // The reactor's own descriptors (epoll, eventfd, timerfd) come with its first user.
  boost::asio::steady_timer reactor_user(io);
  const std::size_t fds_before = open_fds();
  std::vector<std::string> sandboxes;
  {
    ProcessRunner runner(runner_options(dir + "/meta"));
    runner.set_executor(io.get_executor());
    for (int i = 0; i < 5; ++i) {
      auto spec = spec_for(dir, fmt::format("left{}", i), "echo ran > ran");
      runner.launch(spec, wall_now());
      sandboxes.push_back(spec.sandbox);
    }
    CHECK(runner.live_tasks() == 5);
  }
  io.run_for(std::chrono::milliseconds(10));  // the cancelled waits end without the runner
  CHECK(open_fds() == fds_before);
  // The tasks themselves were left alone, as local-master leaves its tasks: they ran.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const auto& sandbox : sandboxes) {
    while (read_file(sandbox + "/ran") != "ran\n" && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(read_file(sandbox + "/ran") == "ran\n");
  }
  // Their supervisors were our children: reap them so that no zombie outlives the test.
  int reaped = 0;
  while (reaped < 5 && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(-1, nullptr, WNOHANG) > 0) {
      ++reaped;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  CHECK(reaped == 5);
}

TEST_CASE("ProcessRunner adopts a process another runner started") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  auto spec = spec_for(dir, "adopted", "exec sleep 30");
  int pid = 0;
  {
    ProcessRunner first(runner_options(dir + "/meta"));
    RunnerEvents first_events(first);
    first.launch(spec, wall_now());
    pid = *first_events.wait_for(spec.container_id, RunnerEvent::Kind::running).pid;
  }
  ProcessRunner second(runner_options(dir + "/meta"));
  RunnerEvents second_events(second);
  SECTION("alive: watched, then killed") {
    second.adopt({spec.container_id, spec.sandbox, pid, pid}, wall_now());
    CHECK(second.poll(wall_now()).empty());
    CHECK(second.live_tasks() == 1);
    second.signal(spec.container_id, TaskSignal::terminate, wall_now());
    auto exited = second_events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    // The supervisor recorded the command's status before it exited.
    CHECK(exited.termination.kind == Termination::Kind::signaled);
    CHECK(exited.termination.code == SIGTERM);
  }
  SECTION("another process group: gone") {
    second.adopt({spec.container_id, spec.sandbox, pid, pid + 1}, wall_now());
    auto exited = second_events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::unknown);
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
  SECTION("no recorded pid: gone") {
    second.adopt({spec.container_id, spec.sandbox, 0, 0}, wall_now());
    auto exited = second_events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    CHECK(exited.termination.kind == Termination::Kind::unknown);
    ::kill(-pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

namespace {

class CollectingSink final : public SubscriberSink {
 public:
  explicit CollectingSink(std::shared_ptr<std::vector<Event>> events)
      : events_(std::move(events)) {}
  void send(const Event& event) override { events_->push_back(event); }
  void close() override {}

 private:
  std::shared_ptr<std::vector<Event>> events_;
};

// A framework on a Master over a real ProcessRunner; time is real (processes do not wait for
// an injected clock), and every wait is a poll with a deadline.
struct LiveHarness {
  std::string root;
  ProcessRunner runner;
  std::unique_ptr<Master> master;
  std::shared_ptr<std::vector<Event>> events = std::make_shared<std::vector<Event>>();
  std::string framework_id;
  std::string stream_id;
  mesos::v1::Offer offer;

  explicit LiveHarness(const std::string& dir) : root(dir), runner(runner_options(dir + "/meta")) {
    MasterOptions options;
    auto agent = heatblast::parse_resources("cpus:2;mem:512;disk:100");
    REQUIRE(agent);
    options.agents = {AgentSpec{"localhost", *agent, {}}};
    options.work_dir = dir + "/work";
    options.sandbox_root = dir + "/sandboxes";
    options.seed = 7;
    master = std::make_unique<Master>(std::move(options), runner);
    REQUIRE(master->start(wall_now()));
  }

  void subscribe(const std::string& id = "") {
    Call call;
    call.set_type(Call::SUBSCRIBE);
    auto* info = call.mutable_subscribe()->mutable_framework_info();
    info->set_user("tester");
    info->set_name("live");
    info->set_failover_timeout(600);
    if (!id.empty()) {
      info->mutable_id()->set_value(id);
      call.mutable_framework_id()->set_value(id);
    }
    auto answer = master->handle_subscribe(call, std::make_unique<CollectingSink>(events),
                                           std::nullopt, wall_now());
    REQUIRE(answer.status == 200);
    stream_id = *answer.stream_id;
    for (const auto& event : *events) {
      if (event.type() == Event::SUBSCRIBED) {
        framework_id = event.subscribed().framework_id().value();
      }
    }
    REQUIRE_FALSE(framework_id.empty());
    master->advance(wall_now());
    for (const auto& event : *events) {
      if (event.type() == Event::OFFERS) offer = event.offers().offers(0);
    }
  }

  HttpAnswer call(Call call) {
    call.mutable_framework_id()->set_value(framework_id);
    return master->handle_call(call, std::string_view(stream_id), wall_now());
  }

  void launch(const std::string& task_id, const std::string& shell) {
    REQUIRE(offer.has_id());
    Call call;
    call.set_type(Call::ACCEPT);
    *call.mutable_accept()->add_offer_ids() = offer.id();
    auto* task = call.mutable_accept()->add_operations();
    task->set_type(mesos::v1::Offer::Operation::LAUNCH);
    auto* info = task->mutable_launch()->add_task_infos();
    info->set_name(task_id);
    info->mutable_task_id()->set_value(task_id);
    *info->mutable_agent_id() = offer.agent_id();
    *info->mutable_resources() = heatblast::parse_resources("cpus:0.5;mem:32")->to_proto();
    info->mutable_command()->set_value(shell);
    REQUIRE(this->call(call).status == 202);
  }

  // Advances (acknowledging every update) until `state` arrives for `task_id`, or 10 s pass.
  TaskStatus wait_for_state(const std::string& task_id, mesos::v1::TaskState state) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      master->advance(wall_now());
      for (; seen < events->size(); ++seen) {
        const Event event = (*events)[seen];
        if (event.type() != Event::UPDATE) continue;
        const auto& status = event.update().status();
        if (status.has_uuid()) {
          Call ack;
          ack.set_type(Call::ACKNOWLEDGE);
          *ack.mutable_acknowledge()->mutable_agent_id() = status.agent_id();
          *ack.mutable_acknowledge()->mutable_task_id() = status.task_id();
          ack.mutable_acknowledge()->set_uuid(status.uuid());
          REQUIRE(call(ack).status == 202);
        }
        if (status.task_id().value() == task_id && status.state() == state) return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL("task " << task_id << " never reached " << mesos::v1::TaskState_Name(state));
    return {};
  }
};

}  // namespace

TEST_CASE("Master over ProcessRunner: 'exit 3' ends TASK_FAILED, 'true' TASK_FINISHED") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  LiveHarness live(dir);
  live.subscribe();
  SECTION("exit 3") {
    live.launch("three", "exit 3");
    auto failed = live.wait_for_state("three", mesos::v1::TASK_FAILED);
    CHECK_THAT(failed.message(), Catch::Contains("exited with status 3"));
    CHECK(failed.source() == TaskStatus::SOURCE_EXECUTOR);
  }
  SECTION("true") {
    live.launch("ok", "true");
    live.wait_for_state("ok", mesos::v1::TASK_RUNNING);
    auto finished = live.wait_for_state("ok", mesos::v1::TASK_FINISHED);
    CHECK(finished.message() == "Command exited with status 0");
  }
}

TEST_CASE("Master over ProcessRunner: a kill before the exec report: RUNNING, then KILLED") {
  TempDir temp("local-master-runner");
  LiveHarness live(temp.str());
  live.subscribe();
  // The launch returns before the command's exec is known: the kill finds it pending.
  live.launch("early", "exec sleep 30");
  Call kill;
  kill.set_type(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("early");
  REQUIRE(live.call(kill).status == 202);
  auto killed = live.wait_for_state("early", mesos::v1::TASK_KILLED);
  CHECK(killed.message() == "Command terminated with signal Terminated");
  std::vector<mesos::v1::TaskState> states;
  for (const auto& event : *live.events) {
    if (event.type() != Event::UPDATE) continue;
    const auto state = event.update().status().state();
    if (states.empty() || states.back() != state) states.push_back(state);
  }
  CHECK(states == std::vector<mesos::v1::TaskState>{
                      mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING, mesos::v1::TASK_KILLED});
}

TEST_CASE("Master over ProcessRunner: a restarted master re-adopts a running task") {
  TempDir temp("local-master-runner");
  const std::string dir = temp.str();
  std::string framework_id;
  int pid = 0;
  {
    LiveHarness live(dir);
    live.subscribe();
    framework_id = live.framework_id;
    live.launch("sleeper", "exec sleep 30");
    live.wait_for_state("sleeper", mesos::v1::TASK_RUNNING);
    pid = *live.master->snapshot().frameworks[0].tasks[0].pid;
  }
  REQUIRE(::kill(pid, 0) == 0);  // outlived its master

  LiveHarness again(dir);
  again.subscribe(framework_id);
  const auto snapshot = again.master->snapshot();
  REQUIRE(snapshot.frameworks.size() == 1);
  REQUIRE(snapshot.frameworks[0].tasks.size() == 1);
  CHECK(snapshot.frameworks[0].tasks[0].pid == pid);
  CHECK(snapshot.frameworks[0].tasks[0].state == mesos::v1::TASK_RUNNING);
  Call kill;
  kill.set_type(Call::KILL);
  kill.mutable_kill()->mutable_task_id()->set_value("sleeper");
  REQUIRE(again.call(kill).status == 202);
  auto killed = again.wait_for_state("sleeper", mesos::v1::TASK_KILLED);
  CHECK(killed.message() == "Command terminated with signal Terminated");
}

TEST_CASE("ProcessRunner: paths used after the supervisor changes into the sandbox") {
  TempDir temp("local-master-runner");
  const std::string scratch = temp.str();
  SECTION("a relative meta dir: the exit status is still written where it is read") {
    const std::string relative =
        std::filesystem::relative(scratch, std::filesystem::current_path()).string() + "/meta";
    REQUIRE(std::filesystem::path(relative).is_relative());
    ProcessRunner runner(runner_options(relative));
    const auto spec = spec_for(scratch, "rel", "exit 4");
    RunnerEvents events(runner);
    runner.launch(spec, wall_now());
    events.wait_for(spec.container_id, RunnerEvent::Kind::exited);
    // Read back by an adopting runner after a restart: it must be where the runner looks.
    CHECK(read_file(scratch + "/meta/c-rel/status") == std::to_string(4 << 8));
  }
  SECTION("a relative PATH entry is looked up in the sandbox, where the command runs") {
    auto spec = spec_for(scratch, "path", "tool");
    spec.task.mutable_command()->set_shell(false);
    auto* variable = spec.task.mutable_command()->mutable_environment()->add_variables();
    variable->set_name("PATH");
    variable->set_value("bin:/usr/bin:/bin");
    // Not in the sandbox: not found there, so execve gets the bare name and fails.
    auto absent = build_command_line(spec, "");
    REQUIRE(absent);
    CHECK(absent->path == "tool");

    std::filesystem::create_directories(spec.sandbox + "/bin");
    {
      std::ofstream tool(spec.sandbox + "/bin/tool");
      tool << "#!/bin/sh\n";
    }
    std::filesystem::permissions(spec.sandbox + "/bin/tool", std::filesystem::perms::owner_exec,
                                 std::filesystem::perm_options::add);
    auto found = build_command_line(spec, "");
    REQUIRE(found);
    CHECK(found->path == "bin/tool");  // resolved by execve after the chdir into the sandbox
  }
}
