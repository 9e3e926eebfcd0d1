#include "flags.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>

#include <fmt/format.h>

#include "attributes.hpp"
#include "heatblast/zookeeper.hpp"
#include "host_port.hpp"
#include "machine.hpp"

#ifndef HEATBLAST_VERSION
#error "HEATBLAST_VERSION must be defined by the build"
#endif

namespace heatblast::local_master {
namespace {

tl::unexpected<Error> invalid(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

template <class T>
Result<T> number(std::string_view name, std::string_view value) {
  T out{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return invalid(fmt::format("--{}: '{}' is not a number", name, value));
  }
  return out;
}

struct FlagDef {
  std::string_view name;
  std::string_view value;  // what usage() shows after '='; empty for a boolean
  std::string_view help;   // lines after the first are indented under it
  // Stores `value` (a boolean gets "true" or "false"); errors name the flag.
  std::function<Result<void>(Flags&, std::string_view value)> set;
  bool boolean() const { return value.empty(); }
};

auto text(std::string Flags::*field) {
  return [field](Flags& flags, std::string_view value) -> Result<void> {
    flags.*field = std::string(value);
    return {};
  };
}

auto boolean(bool Flags::*field) {
  return [field](Flags& flags, std::string_view value) -> Result<void> {
    flags.*field = value == "true";
    return {};
  };
}

auto count(std::string_view name, int Flags::*field, int max) {
  return [name, field, max](Flags& flags, std::string_view value) -> Result<void> {
    auto n = number<int>(name, value);
    if (!n) return tl::unexpected(n.error());
    if (*n < 1 || *n > max) return invalid(fmt::format("--{}: must be 1 to {}", name, max));
    flags.*field = *n;
    return {};
  };
}

auto positive_seconds(std::string_view name, double Flags::*field) {
  return [name, field](Flags& flags, std::string_view value) -> Result<void> {
    auto n = number<double>(name, value);
    if (!n) return tl::unexpected(n.error());
    if (!std::isfinite(*n) || *n <= 0) return invalid(fmt::format("--{}: must be above 0", name));
    flags.*field = *n;
    return {};
  };
}

// Values are checked here, when the flag is read, so that a mistake is reported with its flag
// before anything runs.
auto checked_attributes() {
  return [](Flags& flags, std::string_view value) -> Result<void> {
    auto parsed = parse_attributes(value);
    if (!parsed) return invalid("--attributes: " + parsed.error().message);
    flags.attributes = std::string(value);
    return {};
  };
}

// "N=ATTRIBUTES".
struct AgentAttributes {
  int agent = 0;
  std::vector<mesos::v1::Attribute> attributes;
};
Result<AgentAttributes> agent_attributes(std::string_view text) {
  const auto eq = text.find('=');
  auto index = number<int>("agent-attributes", text.substr(0, eq));
  if (eq == std::string_view::npos || !index || *index < 0) {
    return invalid(
        fmt::format("--agent-attributes: '{}' is not N=ATTRIBUTES (N: the agent's "
                    "index, from 0)",
                    text));
  }
  auto parsed = parse_attributes(text.substr(eq + 1));
  if (!parsed) return invalid("--agent-attributes: " + parsed.error().message);
  return AgentAttributes{*index, std::move(*parsed)};
}

const std::vector<FlagDef>& flag_table() {
  static const std::vector<FlagDef> table = {
      {"listen", "IP:PORT", "address of the (first) master (default 127.0.0.1:5050)",
       [](Flags& flags, std::string_view value) -> Result<void> {
         auto parsed = apps::parse_listen(value);
         if (!parsed) return invalid("--listen: " + parsed.error().message);
         flags.listen = std::string(value);
         return {};
       }},
      {"resources", "'cpus:4;mem:8192;disk:20000;ports:[31000-32000]'",
       "each agent's resources (default: this machine's)",
       [](Flags& flags, std::string_view value) -> Result<void> {
         auto parsed = parse_resources(value);
         if (!parsed) return invalid("--resources: " + parsed.error().message);
         flags.resources = std::string(value);
         return {};
       }},
      {"agents", "N", "number of agents (default 1)", count("agents", &Flags::agents, 100000)},
      {"attributes", "'rack:r1;zone:a'",
       "every agent's attributes, as a Mesos agent takes them:\n"
       "numbers are scalars, [1-4] ranges, the rest text",
       checked_attributes()},
      {"agent-attributes", "N='rack:r2'",
       "attributes of agent N (from 0, as in its id ...-SN), over\n"
       "--attributes; repeat the flag for more agents",
       [](Flags& flags, std::string_view value) -> Result<void> {
         auto parsed = agent_attributes(value);
         if (!parsed) return tl::unexpected(parsed.error());
         flags.agent_attributes.emplace_back(value);
         return {};
       }},
      {"work-dir", "DIR",
       "checkpoint and task sandboxes; a restarted master recovers\n"
       "frameworks and re-adopts running tasks, which keep running\n"
       "while it is stopped",
       text(&Flags::work_dir)},
      {"simulate", "", "do not run tasks; each follows a scripted lifecycle",
       boolean(&Flags::simulate)},
      {"simulate-duration", "SECONDS", "how long a simulated task runs (default 10)",
       positive_seconds("simulate-duration", &Flags::simulate_duration)},
      {"replicas", "N",
       "N masters on consecutive ports; one leads, the others\n"
       "answer 307 (default 1)",
       count("replicas", &Flags::replicas, 16)},
      {"zk", "zk://HOST:PORT/PATH",
       "elect the leading replica in ZooKeeper as Mesos masters do:\n"
       "each registers a json.info_ node under PATH; frameworks\n"
       "find the leader with --master zk://HOST:PORT/PATH",
       [](Flags& flags, std::string_view value) -> Result<void> {
         auto parsed = zookeeper::parse_url(value);
         if (!parsed) return invalid("--zk: " + parsed.error().message);
         flags.zk = std::string(value);
         return {};
       }},
      {"heartbeat-interval", "SECONDS", "between HEARTBEAT events (default 15)",
       positive_seconds("heartbeat-interval", &Flags::heartbeat_interval)},
      {"allocation-interval", "SECONDS", "between offer rounds (default 1)",
       positive_seconds("allocation-interval", &Flags::allocation_interval)},
      {"offer-timeout", "SECONDS",
       "rescind offers left unanswered this long (Mesos --offer_timeout; default: never)",
       positive_seconds("offer-timeout", &Flags::offer_timeout)},
      {"hostname", "NAME", "the name the master and its agent report", text(&Flags::hostname)},
      {"frameworks-home", "DIR",
       "where relative paths in tasks' CommandInfo.uris are looked up (default: none, they "
       "fail)",
       text(&Flags::frameworks_home)},
      {"enable-fault-injection", "", "serve POST /admin/fault (for tests; 404 without this flag)",
       boolean(&Flags::enable_fault_injection)},
      {"quiet", "", "log warnings only", boolean(&Flags::quiet)},
      {"version", "", "print the version and exit", boolean(&Flags::version)},
      {"help", "", "this help", boolean(&Flags::help)},
  };
  return table;
}

const FlagDef* find_flag(std::string_view name) {
  for (const auto& def : flag_table()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

// The agents: the same resources each, --attributes on all, --agent-attributes on one.
Result<std::vector<AgentSpec>> agents_from(const Flags& flags, const std::string& hostname,
                                           const std::string& disk_path) {
  AgentSpec agent;
  if (flags.resources) {
    auto resources = parse_resources(*flags.resources);
    if (!resources) return invalid("--resources: " + resources.error().message);
    agent.hostname = hostname;
    agent.resources = std::move(*resources);
  } else {
    auto local = local_agent_spec(hostname, disk_path);
    if (!local) return tl::unexpected(local.error());
    agent = std::move(*local);
  }
  std::vector<AgentSpec> agents =
      flags.agents == 1 ? std::vector<AgentSpec>{agent}
                        : simulated_agents(static_cast<std::size_t>(flags.agents), agent.resources);
  auto common = parse_attributes(flags.attributes);
  if (!common) return invalid("--attributes: " + common.error().message);
  for (auto& each : agents)
    each.attributes = *common;
  for (const auto& text : flags.agent_attributes) {
    auto own = agent_attributes(text);
    if (!own) return tl::unexpected(own.error());
    if (static_cast<std::size_t>(own->agent) >= agents.size()) {
      return invalid(fmt::format("--agent-attributes: there is no agent {} (--agents={})",
                                 own->agent, flags.agents));
    }
    auto& target = agents[static_cast<std::size_t>(own->agent)];
    target.attributes = merge_attributes(std::move(target.attributes), own->attributes);
  }
  return agents;
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  auto full = std::filesystem::absolute(path, ec);
  return ec ? path : full.lexically_normal().string();
}

}  // namespace

std::string version_text() {
  return fmt::format("local-master {}", HEATBLAST_VERSION);
}

std::string usage() {
  std::string out =
      "usage: local-master [flags]\n"
      "A one-machine, Mesos-compatible master: serves the v1 scheduler API and runs tasks as\n"
      "local processes (or simulates them).\n"
      "\n";
  constexpr std::size_t kColumn = 32;
  for (const auto& def : flag_table()) {
    std::string line = fmt::format("  --{}", def.name);
    if (!def.boolean()) line += fmt::format("={}", def.value);
    line += line.size() < kColumn ? std::string(kColumn - line.size(), ' ')
                                  : "\n" + std::string(kColumn, ' ');
    std::string_view help = def.help;
    for (auto newline = help.find('\n'); newline != std::string_view::npos;
         newline = help.find('\n')) {
      line += std::string(help.substr(0, newline + 1)) + std::string(kColumn, ' ');
      help.remove_prefix(newline + 1);
    }
    out += line + std::string(help) + "\n";
  }
  out +=
      "\n"
      "Endpoints: POST /api/v1/scheduler, GET /state, GET /health, GET /redirect; with\n"
      "--enable-fault-injection, POST /admin/fault (body lines: stall=1|0,\n"
      "unavailable=SECONDS, delay=MILLISECONDS, close=clean|mid-record, bad-record=1, leader=N,\n"
      "stop-replica=N).\n"
      "local-master has no authentication: anyone who reaches its port can run commands as its\n"
      "user. Keep --listen on a loopback address unless the network is yours alone.\n";
  return out;
}

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--") || arg.size() == 2) {
      return invalid(fmt::format("unexpected argument '{}'", arg));
    }
    arg.remove_prefix(2);
    // Mesos spells its flags with '_' (--work_dir); both spellings are accepted.
    std::string name(arg.substr(0, arg.find('=')));
    std::replace(name.begin(), name.end(), '_', '-');
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) value = arg.substr(eq + 1);

    const FlagDef* def = find_flag(name);
    bool negated = false;
    if (def == nullptr && name.starts_with("no-")) {
      def = find_flag(std::string_view(name).substr(3));
      negated = def != nullptr && def->boolean();
      if (!negated) def = nullptr;
    }
    if (def == nullptr) return invalid(fmt::format("unknown flag '--{}'", name));

    if (def->boolean()) {
      if (value && (negated || (*value != "true" && *value != "false"))) {
        return invalid(fmt::format("--{} takes no value", name));
      }
      const bool on = !value || *value == "true";
      auto set = def->set(flags, on != negated ? "true" : "false");
      if (!set) return tl::unexpected(set.error());
      if (flags.help || flags.version) return flags;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return invalid(fmt::format("--{} needs a value", name));
      value = args[++i];
    }
    auto set = def->set(flags, *value);
    if (!set) return tl::unexpected(set.error());
  }
  return flags;
}

Result<Options> options_from(const Flags& flags) {
  Options options;
  auto listen = apps::parse_listen(flags.listen);
  if (!listen) return invalid("--listen: " + listen.error().message);
  MasterServerOptions& server = options.server;
  server.address = listen->address;
  server.port = listen->port;
  server.replicas = flags.replicas;
  server.zk = flags.zk;
  server.enable_fault_injection = flags.enable_fault_injection;
  if (!apps::is_loopback(server.address)) {
    options.warnings.push_back(
        fmt::format("listening on {} (not a loopback address): local-master has no "
                    "authentication; anyone who reaches its port can run commands as this user",
                    server.address));
  }

  const std::string work_dir = flags.work_dir.empty() ? std::string() : absolute(flags.work_dir);
  MasterOptions& master = server.master;
  master.hostname =
      flags.hostname.empty() ? apps::machine_hostname().value_or("localhost") : flags.hostname;
  master.ip = server.address;
  master.port = server.port;
  master.heartbeat_interval = *duration_from_seconds(flags.heartbeat_interval);
  master.allocation_interval = *duration_from_seconds(flags.allocation_interval);
  if (flags.offer_timeout > 0) master.offer_timeout = *duration_from_seconds(flags.offer_timeout);
  master.work_dir = work_dir;
  // The Master's own default, spelt out so that the program can say where sandboxes go.
  master.sandbox_root = work_dir.empty() ? "/tmp/local-master" : work_dir;
  options.sandbox_root = master.sandbox_root;

  auto agents = agents_from(flags, master.hostname, work_dir.empty() ? "/tmp" : work_dir);
  if (!agents) return tl::unexpected(agents.error());
  master.agents = std::move(*agents);

  options.simulate = flags.simulate;
  options.simulated.defaults.duration = duration_from_seconds(flags.simulate_duration);
  options.processes.meta_dir =
      (work_dir.empty() ? fmt::format("/tmp/local-master-{}", ::getpid()) : work_dir) + "/meta";
  if (!flags.frameworks_home.empty()) {
    options.processes.fetcher.frameworks_home = absolute(flags.frameworks_home);
  }
  options.quiet = flags.quiet;
  return options;
}

}  // namespace heatblast::local_master
