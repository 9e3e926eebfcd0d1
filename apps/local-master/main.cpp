// local-master: a one-machine, Mesos-compatible master (see `local-master --help`).
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "flags.hpp"
#include "master_server.hpp"
#include "process_runner.hpp"
#include "simulated_runner.hpp"

namespace lm = heatblast::local_master;

namespace {

void log_line(std::string_view message) {
  std::time_t t = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&t));
  std::fprintf(stderr, "%s local-master: %.*s\n", stamp, static_cast<int>(message.size()),
               message.data());
}

int die(const std::string& message, int status = 1) {
  std::fprintf(stderr, "local-master: %s\n", message.c_str());
  return status;
}

std::string machine_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = lm::parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) return die(flags.error().what() + "\n" + lm::usage(), 2);
  if (flags->help) {
    std::fputs(lm::usage().c_str(), stdout);
    return 0;
  }

  lm::MasterServerOptions options;
  const auto colon = flags->listen.rfind(':');
  unsigned port = 0;
  if (colon == std::string::npos ||
      std::from_chars(flags->listen.data() + colon + 1, flags->listen.data() + flags->listen.size(),
                      port)
              .ec != std::errc() ||
      port > 65535) {
    return die(fmt::format("--listen: '{}' is not IP:PORT", flags->listen), 2);
  }
  options.address = flags->listen.substr(0, colon);
  options.port = static_cast<std::uint16_t>(port);
  options.replicas = flags->replicas;

  lm::MasterOptions& master = options.master;
  master.hostname = flags->hostname.empty() ? machine_hostname() : flags->hostname;
  master.ip = options.address;
  master.port = options.port;
  master.heartbeat_interval = *lm::duration_from_seconds(flags->heartbeat_interval);
  master.allocation_interval = *lm::duration_from_seconds(flags->allocation_interval);
  master.work_dir = flags->work_dir;
  if (!flags->quiet) master.log = log_line;

  if (!flags->work_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags->work_dir, ec);
    if (ec)
      return die(fmt::format("--work-dir: cannot create '{}': {}", flags->work_dir, ec.message()));
  }

  lm::AgentSpec agent;
  if (flags->resources) {
    auto resources = heatblast::parse_resources(*flags->resources);
    if (!resources) return die(fmt::format("--resources: {}", resources.error().what()), 2);
    agent.hostname = master.hostname;
    agent.resources = std::move(*resources);
  } else {
    auto local =
        lm::local_agent_spec(master.hostname, flags->work_dir.empty() ? "/tmp" : flags->work_dir);
    if (!local) return die(local.error().what());
    agent = std::move(*local);
  }
  if (flags->agents == 1) {
    master.agents = {agent};
  } else {
    master.agents = lm::simulated_agents(static_cast<std::size_t>(flags->agents), agent.resources);
  }

  std::unique_ptr<lm::TaskRunner> runner;
  lm::ProcessRunner* processes = nullptr;
  if (flags->simulate) {
    lm::SimulatedRunnerOptions sim;
    sim.defaults.duration = lm::duration_from_seconds(flags->simulate_duration);
    runner = std::make_unique<lm::SimulatedRunner>(sim);
  } else {
    lm::ProcessRunnerOptions run;
    run.meta_dir = (flags->work_dir.empty() ? fmt::format("/tmp/local-master-{}", ::getpid())
                                            : flags->work_dir) +
                   "/meta";
    auto owned = std::make_unique<lm::ProcessRunner>(run);
    processes = owned.get();
    runner = std::move(owned);
    options.reap = [processes] { processes->reap(); };
  }

  boost::asio::io_context io;
  lm::MasterServer server(io.get_executor(), options, *runner);
  if (auto started = server.start(); !started) return die(started.error().what());
  const auto ports = server.ports();
  for (std::size_t i = 0; i < ports.size(); ++i) {
    log_line(fmt::format("{} listening on {}:{}{}",
                         ports.size() > 1 ? fmt::format("replica {}", i) : std::string("master"),
                         options.address, ports[i], i == 0 ? " (leader)" : ""));
  }
  log_line(fmt::format("{} agent(s), each with '{}'; tasks {}", master.agents.size(),
                       heatblast::to_string(master.agents.front().resources),
                       flags->simulate ? "simulated" : "run as local processes"));

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int signal) {
    log_line(fmt::format("signal {}: stopping (tasks keep running)", signal));
    server.stop();
    io.stop();
  });
  io.run();
  return 0;
}
