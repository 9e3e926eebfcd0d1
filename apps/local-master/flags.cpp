#include "flags.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace heatblast::local_master {
namespace {

template <class T>
Result<T> number(std::string_view name, std::string_view value) {
  T out{};
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return fail(errc::invalid_argument, fmt::format("--{}: '{}' is not a number", name, value));
  }
  return out;
}

}  // namespace

std::string usage() {
  return "usage: local-master [flags]\n"
         "A one-machine, Mesos-compatible master: serves the v1 scheduler API and runs tasks as\n"
         "local processes (or simulates them).\n"
         "\n"
         "  --listen=IP:PORT              address of the (first) master (default 127.0.0.1:5050)\n"
         "  --resources='cpus:4;mem:8192;disk:20000;ports:[31000-32000]'\n"
         "                                each agent's resources (default: this machine's)\n"
         "  --agents=N                    number of agents (default 1)\n"
         "  --work-dir=DIR                checkpoint and task sandboxes; a restarted master\n"
         "                                recovers frameworks and re-adopts running tasks\n"
         "  --simulate                    do not run tasks; each follows a scripted lifecycle\n"
         "  --simulate-duration=SECONDS   how long a simulated task runs (default 10)\n"
         "  --replicas=N                  N masters on consecutive ports; one leads, the\n"
         "                                others answer 307 (default 1)\n"
         "  --heartbeat-interval=SECONDS  between HEARTBEAT events (default 15)\n"
         "  --allocation-interval=SECONDS between offer rounds (default 1)\n"
         "  --hostname=NAME               the name the master and its agent report\n"
         "  --quiet                       log warnings only\n"
         "  --help                        this help\n"
         "\n"
         "Endpoints: POST /api/v1/scheduler, GET /state, GET /health, GET /redirect,\n"
         "POST /admin/fault (body lines: stall=1|0, unavailable=SECONDS, delay=MILLISECONDS,\n"
         "close=clean|mid-record, bad-record=1, leader=N, stop-replica=N).\n";
}

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with("--")) {
      return fail(errc::invalid_argument, fmt::format("unexpected argument '{}'", arg));
    }
    arg.remove_prefix(2);
    std::string_view name = arg.substr(0, arg.find('='));
    std::optional<std::string_view> inline_value;
    if (arg.find('=') != std::string_view::npos) inline_value = arg.substr(arg.find('=') + 1);

    const bool boolean =
        name == "simulate" || name == "quiet" || name == "help" || name == "no-simulate";
    if (boolean) {
      if (inline_value && *inline_value != "true" && *inline_value != "false") {
        return fail(errc::invalid_argument, fmt::format("--{} takes no value", name));
      }
      const bool on = !inline_value || *inline_value == "true";
      if (name == "simulate") flags.simulate = on;
      if (name == "no-simulate") flags.simulate = !on;
      if (name == "quiet") flags.quiet = on;
      if (name == "help") flags.help = on;
      continue;
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return fail(errc::invalid_argument, fmt::format("--{} needs a value", name));
    }

    auto positive_seconds = [&](double& out) -> Result<void> {
      auto n = number<double>(name, value);
      if (!n) return tl::unexpected(n.error());
      if (!std::isfinite(*n) || *n <= 0) {
        return fail(errc::invalid_argument, fmt::format("--{}: must be above 0", name));
      }
      out = *n;
      return {};
    };
    auto count = [&](int& out, int max) -> Result<void> {
      auto n = number<int>(name, value);
      if (!n) return tl::unexpected(n.error());
      if (*n < 1 || *n > max) {
        return fail(errc::invalid_argument, fmt::format("--{}: must be 1 to {}", name, max));
      }
      out = *n;
      return {};
    };

    Result<void> ok;
    if (name == "listen") {
      flags.listen = std::string(value);
    } else if (name == "resources") {
      flags.resources = std::string(value);
    } else if (name == "agents") {
      ok = count(flags.agents, 100000);
    } else if (name == "work-dir" || name == "work_dir") {
      flags.work_dir = std::string(value);
    } else if (name == "simulate-duration") {
      ok = positive_seconds(flags.simulate_duration);
    } else if (name == "replicas") {
      ok = count(flags.replicas, 16);
    } else if (name == "heartbeat-interval" || name == "heartbeat_interval") {
      ok = positive_seconds(flags.heartbeat_interval);
    } else if (name == "allocation-interval" || name == "allocation_interval") {
      ok = positive_seconds(flags.allocation_interval);
    } else if (name == "hostname") {
      flags.hostname = std::string(value);
    } else {
      return fail(errc::invalid_argument, fmt::format("unknown flag '--{}'", name));
    }
    if (!ok) return tl::unexpected(ok.error());
  }
  return flags;
}

}  // namespace heatblast::local_master
