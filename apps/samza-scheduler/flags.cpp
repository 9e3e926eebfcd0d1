#include "flags.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>

#include <fmt/format.h>

#include "heatblast/scheduler.hpp"
#include "host_port.hpp"

namespace heatblast::samza {
namespace {

enum class Type { string, number, size, boolean };

struct FlagDef {
  std::string_view name;
  Type type;
  std::string_view default_text;
  std::string_view help;
  // Stores the value; errc::invalid_argument with the reason (the caller adds the flag name).
  std::function<Result<void>(Flags&, std::string_view)> set;
};

Result<double> to_number(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return fail(errc::invalid_argument, "not a number");
  }
  return value;
}

auto string_setter(std::string Flags::*member) {
  return [member](Flags& flags, std::string_view value) -> Result<void> {
    flags.*member = std::string(value);
    return {};
  };
}

auto seconds_setter(double Flags::*member, double minimum) {
  return [member, minimum](Flags& flags, std::string_view text) -> Result<void> {
    auto value = to_number(text);
    if (!value) return tl::unexpected(value.error());
    if (*value < minimum) return fail(errc::invalid_argument, fmt::format("below {}", minimum));
    flags.*member = *value;
    return {};
  };
}

const std::vector<FlagDef>& table() {
  static const std::vector<FlagDef> flags = {
      {"master", Type::string, "127.0.0.1:5050",
       "Mesos masters, comma-separated (host:port or URL)",
       [](Flags& f, std::string_view v) -> Result<void> {
         auto masters = scheduler::parse_masters(v);
         if (!masters) return tl::unexpected(masters.error());
         f.master = std::string(v);
         f.masters = std::move(*masters);
         return {};
       }},
      {"listen", Type::string, "0.0.0.0:8181", "address:port of the REST API and status page",
       [](Flags& f, std::string_view v) -> Result<void> {
         auto parsed = apps::parse_listen(v);
         if (!parsed) return tl::unexpected(parsed.error());
         f.listen = std::string(v);
         f.listen_address = parsed->address;
         f.listen_port = parsed->port;
         return {};
       }},
      {"advertise", Type::string, "",
       "host:port tasks use to reach the API (default: --listen, "
       "or this host's name when listening on every address)",
       [](Flags& f, std::string_view v) -> Result<void> {
         const auto colon = v.rfind(':');
         if (colon == std::string_view::npos || colon == 0) {
           return fail(errc::invalid_argument, "expected host:port");
         }
         unsigned port = 0;
         auto [end, ec] = std::from_chars(v.data() + colon + 1, v.data() + v.size(), port);
         if (ec != std::errc() || end != v.data() + v.size() || port == 0 || port > 65535) {
           return fail(errc::invalid_argument, "bad port");
         }
         f.advertise = std::string(v);
         return {};
       }},
      {"state", Type::string, "samza-scheduler.db", "SQLite file with the framework id and jobs",
       string_setter(&Flags::state)},
      {"zk", Type::string, "",
       "zk://[user:pass@]host:port[,...]/path: run as one of several instances that elect a "
       "leader in ZooKeeper and keep their state there (instead of --state)",
       [](Flags& f, std::string_view v) -> Result<void> {
         auto url = zookeeper::parse_url(v);
         if (!url) return tl::unexpected(url.error());
         if (url->path == "/") return fail(errc::invalid_argument, "give a path below /");
         f.zk = std::string(v);
         return {};
       }},
      {"zk-session-timeout", Type::number, "10",
       "seconds of ZooKeeper session timeout: how long a standby waits for a leader that "
       "vanished",
       seconds_setter(&Flags::zk_session_timeout_seconds, 1)},
      {"name", Type::string, "samza-scheduler", "framework name", string_setter(&Flags::name)},
      {"user", Type::string, "(current user)", "user the tasks run as",
       string_setter(&Flags::user)},
      {"role", Type::string, "", "framework role (empty: the default role)",
       string_setter(&Flags::role)},
      {"principal", Type::string, "", "principal for the master's HTTP authentication",
       string_setter(&Flags::principal)},
      {"secret-file", Type::string, "", "file holding the principal's secret",
       string_setter(&Flags::secret_file)},
      {"failover-timeout", Type::number, "604800",
       "seconds the master keeps the framework's tasks while the scheduler is away",
       seconds_setter(&Flags::failover_timeout_seconds, 0)},
      {"api-token-file", Type::string, "",
       "file holding the bearer token every mutating API call needs (empty: open API)",
       string_setter(&Flags::api_token_file)},
      {"job-info-timeout", Type::number, "300",
       "seconds a job-info task may take to post the job's model",
       seconds_setter(&Flags::job_info_timeout_seconds, 0.1)},
      {"revive-interval", Type::number, "5",
       "seconds between two REVIVE calls at most (new work waits at most this long for offers)",
       seconds_setter(&Flags::revive_interval_seconds, 0)},
      {"max-body", Type::size, "1048576", "largest request body accepted, in bytes (413 above)",
       [](Flags& f, std::string_view v) -> Result<void> {
         auto value = to_number(v);
         if (!value) return tl::unexpected(value.error());
         if (*value < 1024 || *value > (1 << 30)) {
           return fail(errc::invalid_argument, "must be 1024..1073741824");
         }
         f.max_body_bytes = static_cast<std::size_t>(*value);
         return {};
       }},
      {"debug", Type::boolean, "false", "log protocol detail",
       [](Flags& f, std::string_view) -> Result<void> {
         f.debug = true;
         return {};
       }},
      {"help", Type::boolean, "false", "print this help and exit",
       [](Flags& f, std::string_view) -> Result<void> {
         f.help = true;
         return {};
       }},
  };
  return flags;
}

const FlagDef* find_flag(std::string_view name) {
  for (const auto& flag : table()) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

}  // namespace

Result<Flags> parse_flags(const std::vector<std::string>& args, std::string_view default_user) {
  Flags flags;
  flags.user = std::string(default_user);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--") {
      if (i + 1 < args.size()) {
        return fail(errc::invalid_argument, fmt::format("unexpected argument '{}'", args[i + 1]));
      }
      break;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      return fail(errc::invalid_argument, fmt::format("unexpected argument '{}'", arg));
    }
    arg.remove_prefix(2);
    std::optional<std::string_view> value;
    if (const auto equals = arg.find('='); equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    }
    const FlagDef* flag = find_flag(arg);
    if (!flag) return fail(errc::invalid_argument, fmt::format("unknown flag '--{}'", arg));
    if (flag->type == Type::boolean) {
      if (value) {
        return fail(errc::invalid_argument, fmt::format("flag '--{}' takes no value", arg));
      }
    } else if (!value) {
      if (i + 1 >= args.size()) {
        return fail(errc::invalid_argument, fmt::format("flag '--{}' needs a value", arg));
      }
      value = args[++i];
    }
    if (auto set = flag->set(flags, value.value_or("")); !set) {
      return fail(errc::invalid_argument, fmt::format("invalid value '{}' for flag '--{}': {}",
                                                      value.value_or(""), arg, set.error().what()));
    }
  }
  if (flags.user.empty()) return fail(errc::invalid_argument, "no user: give --user");
  if (!flags.secret_file.empty() && flags.principal.empty()) {
    return fail(errc::invalid_argument, "'--secret-file' needs '--principal'");
  }
  return flags;
}

std::string usage(std::string_view program) {
  std::string out = fmt::format("Usage: {} [flags]\n\nFlags:\n", program);
  for (const auto& flag : table()) {
    const std::string_view type = flag.type == Type::boolean  ? ""
                                  : flag.type == Type::string ? " string"
                                                              : " number";
    out += fmt::format("  --{}{}\n      {}", flag.name, type, flag.help);
    if (!flag.default_text.empty() && flag.type != Type::boolean) {
      out += fmt::format(" (default {})", flag.default_text);
    }
    out += "\n";
  }
  return out;
}

}  // namespace heatblast::samza
