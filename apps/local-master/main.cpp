// local-master: a one-machine, Mesos-compatible master (see `local-master --help`). The flags
// become Options in flags.cpp; this file only wires them to the server and the signals.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "attributes.hpp"
#include "flags.hpp"
#include "master_server.hpp"
#include "process_runner.hpp"
#include "simulated_runner.hpp"

namespace lm = heatblast::local_master;
using namespace std::chrono_literals;

namespace {

void log_line(std::string_view message) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s local-master: %.*s\n", stamp, static_cast<int>(message.size()),
               message.data());
}

void warn_line(std::string_view message) {
  log_line(fmt::format("warning: {}", message));
}

int die(const std::string& message, int status = 1) {
  std::fprintf(stderr, "local-master: %s\n", message.c_str());
  return status;
}

// Without a work dir nothing can adopt the tasks later: SIGTERM them, SIGKILL what is left
// after a grace period, and stop once every supervisor has been reaped (or give up).
class TaskStopper {
 public:
  TaskStopper(boost::asio::io_context& io, lm::ProcessRunner& processes)
      : io_(io), processes_(processes), timer_(io) {}

  void start() {
    started_ = std::chrono::steady_clock::now();
    log_line(fmt::format("stopping {} task(s) (no --work-dir: nothing could adopt them)",
                         processes_.live_tasks()));
    processes_.signal_all(lm::TaskSignal::terminate, std::chrono::system_clock::now());
    check();
  }

 private:
  static constexpr auto kGrace = 3s;  // the command executor's default kill grace period
  static constexpr auto kGiveUp = 6s;

  void check() {
    processes_.reap();
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    if (processes_.live_tasks() == 0) {
      log_line("every task has exited; stopped");
      io_.stop();
      return;
    }
    if (elapsed >= kGiveUp) {
      log_line(fmt::format("{} task(s) did not exit after SIGKILL; stopped without them",
                           processes_.live_tasks()));
      io_.stop();
      return;
    }
    if (elapsed >= kGrace && !killed_) {
      killed_ = true;
      log_line(fmt::format("{} task(s) still running after {} s: SIGKILL", processes_.live_tasks(),
                           kGrace.count()));
      processes_.signal_all(lm::TaskSignal::kill, std::chrono::system_clock::now());
    }
    // Reaped on a short timer: the server's SIGCHLD handler is gone with the server.
    timer_.expires_after(20ms);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) check();
    });
  }

  boost::asio::io_context& io_;
  lm::ProcessRunner& processes_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_{};
  bool killed_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  auto flags = lm::parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) {
    return die(flags.error().what() + " (see 'local-master --help')", 2);
  }
  if (flags->help) {
    std::fputs(lm::usage().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::puts(lm::version_text().c_str());
    return 0;
  }
  auto options = lm::options_from(*flags);
  if (!options) {
    return die(options.error().what(),
               options.error().code == heatblast::errc::invalid_argument ? 2 : 1);
  }
  lm::MasterServerOptions& server_options = options->server;
  const std::string& work_dir = server_options.master.work_dir;
  if (!options->quiet) server_options.master.log = log_line;
  server_options.master.warn = warn_line;
  for (const auto& warning : options->warnings)
    warn_line(warning);

  if (!work_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(work_dir, ec);
    if (ec) return die(fmt::format("--work-dir: cannot create '{}': {}", work_dir, ec.message()));
  }

  // Before the runner: the runner waits for exec reports on it, so it must go first.
  boost::asio::io_context io;
  std::unique_ptr<lm::TaskRunner> runner;
  lm::ProcessRunner* processes = nullptr;
  if (options->simulate) {
    runner = std::make_unique<lm::SimulatedRunner>(options->simulated);
  } else {
    auto owned = std::make_unique<lm::ProcessRunner>(options->processes);
    processes = owned.get();
    runner = std::move(owned);
    server_options.reap = [processes] { processes->reap(); };
  }

  if (processes != nullptr) {
    processes->set_executor(io.get_executor());
    if (processes->supervisor_program().empty()) {
      warn_line(
          "no local-master-supervisor program beside local-master: each task's "
          "supervisor is a fork of local-master (slower launches)");
    }
  }
  lm::MasterServer server(io.get_executor(), server_options, *runner);
  // A fetch (CommandInfo.uris) ends on a thread of its own: the server then polls at once.
  if (processes != nullptr) processes->set_wake([&server] { server.wake(); });
  if (auto started = server.start(); !started) {
    if (processes != nullptr) processes->set_wake({});
    return die(started.error().what());
  }
  const auto ports = server.ports();
  for (std::size_t i = 0; i < ports.size(); ++i) {
    log_line(fmt::format("{} listening on {}:{}{}",
                         ports.size() > 1 ? fmt::format("replica {}", i) : std::string("master"),
                         server_options.address, ports[i], i == 0 ? " (leader)" : ""));
  }
  const auto& agents = server_options.master.agents;
  log_line(fmt::format("{} agent(s), each with '{}'; tasks {}", agents.size(),
                       heatblast::to_string(agents.front().resources),
                       options->simulate ? "simulated" : "run as local processes"));
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (agents[i].attributes.empty()) continue;
    log_line(fmt::format("agent {} ('{}') attributes: '{}'", i, agents[i].hostname,
                         lm::to_string(agents[i].attributes)));
  }
  log_line(fmt::format(
      "task sandboxes: {}/slaves/<agent>/frameworks/<framework>/executors/"
      "<executor>/runs/<container>{}",
      options->sandbox_root, work_dir.empty() ? "" : fmt::format("; checkpoint: {}", work_dir)));

  std::optional<TaskStopper> stopper;
  if (processes != nullptr) stopper.emplace(io, *processes);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    server.stop();
    if (processes == nullptr) {
      log_line(fmt::format("signal {}: stopped (simulated tasks end with it)", signal));
      io.stop();
    } else if (!work_dir.empty()) {
      log_line(fmt::format(
          "signal {}: stopped; {} task(s) keep running, as a Mesos agent's do; a restart with "
          "--work-dir={} adopts them",
          signal, processes->live_tasks(), work_dir));
      io.stop();
    } else {
      log_line(fmt::format("signal {}: stopping", signal));
      stopper->start();
    }
  });
  io.run();
  if (processes != nullptr) processes->set_wake({});  // the server goes first
  return 0;
}
