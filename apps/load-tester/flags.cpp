#include "flags.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "target.hpp"

namespace heatblast::load {
namespace {

using Setter = std::function<std::optional<std::string>(Flags&, std::string_view)>;

struct FlagDef {
  std::string_view name;
  std::string_view alias;
  std::string_view value;  // empty: a boolean that takes no value
  std::string_view help;
  Setter set;
};

std::optional<std::string> to_u64(std::string_view text, std::uint64_t& out, std::uint64_t min) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min)
    return fmt::format("'{}' is not a whole number >= {}", text, min);
  out = v;
  return std::nullopt;
}

std::optional<std::string> to_double(std::string_view text, double& out, bool positive) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) ||
      v < 0 || (positive && v == 0))
    return fmt::format("'{}' is not a number {}", text, positive ? "> 0" : ">= 0");
  out = v;
  return std::nullopt;
}

template <auto Member>
Setter u64(std::uint64_t min) {
  return [min](Flags& f, std::string_view v) { return to_u64(v, f.*Member, min); };
}
template <auto Member>
Setter number(bool positive) {
  return [positive](Flags& f, std::string_view v) { return to_double(v, f.*Member, positive); };
}
template <auto Member>
Setter text() {
  return [](Flags& f, std::string_view v) -> std::optional<std::string> {
    if (v.empty()) return std::string("an empty value");
    f.*Member = std::string(v);
    return std::nullopt;
  };
}

const std::vector<FlagDef>& flag_table() {
  static const std::vector<FlagDef> table = {
      {"--master", "--mesos-master", "HOST:PORT,...", "Mesos masters (default 127.0.0.1:5050)",
       text<&Flags::master>()},
      {"--total-queries", "", "N", "queries in the whole run (default 1000)",
       u64<&Flags::total_queries>(1)},
      {"--queries-per-task", "", "N",
       "queries per Mesos task; the last gets the rest (default 100)",
       u64<&Flags::queries_per_task>(1)},
      {"--parallelism", "", "P", "tasks running at once, at most (default 3)",
       u64<&Flags::parallelism>(1)},
      {"--target", "", "URL",
       "the system under load: an http:// or https:// URL, or a postgresql:// URI (required)",
       [](Flags& f, std::string_view v) -> std::optional<std::string> {
         if (target_kind(v) == TargetKind::unknown)
           return fmt::format("'{}' is not an http://, https:// or postgresql:// URL",
                              redact_target(v));
         f.target = std::string(v);
         return std::nullopt;
       }},
      {"--query", "", "TEXT",
       "HTTP: 'METHOD /path [body]' (default 'GET /'); PostgreSQL: SQL (required)",
       [](Flags& f, std::string_view v) -> std::optional<std::string> {
         if (v.empty()) return std::string("an empty value");
         f.query = std::string(v);
         f.query_given = true;
         return std::nullopt;
       }},
      {"--rate", "", "QPS", "queries per second for the whole run; 0: as fast as possible",
       number<&Flags::rate>(false)},
      {"--connections", "", "N", "connections per task (default 1)", u64<&Flags::connections>(1)},
      {"--task-cpus", "", "CPUS", "cpus per task (default 0.5)", number<&Flags::task_cpus>(true)},
      {"--task-mem", "", "MB", "memory per task (default 64)", number<&Flags::task_mem>(true)},
      {"--timeout", "", "SECONDS", "per query (default 10)", number<&Flags::timeout_seconds>(true)},
      {"--max-failed-tasks", "", "N",
       "failed or lost tasks over this abort the run, exit 1 (default 3)",
       u64<&Flags::max_failed_tasks>(0)},
      {"--report", "", "text|json", "report format (default text)",
       [](Flags& f, std::string_view v) -> std::optional<std::string> {
         if (v == "text")
           f.report = ReportFormat::text;
         else if (v == "json")
           f.report = ReportFormat::json;
         else
           return fmt::format("'{}' is not text or json", v);
         return std::nullopt;
       }},
      {"--listen", "", "ADDR:PORT", "where tasks post their figures (default 0.0.0.0:0)",
       text<&Flags::listen>()},
      {"--advertise", "", "HOST[:PORT]", "how tasks reach --listen (default: this host's name)",
       text<&Flags::advertise>()},
      {"--worker", "", "PATH",
       "the load-worker binary served to tasks, which fetch it (default: beside load-tester)",
       text<&Flags::worker>()},
      {"--worker-on-agent", "", "PATH",
       "run this load-worker path on the agents instead (nothing fetched; must be installed)",
       text<&Flags::worker_on_agent>()},
      {"--help", "-h", "", "print this and exit",
       [](Flags& f, std::string_view) {
         f.help = true;
         return std::optional<std::string>();
       }},
  };
  return table;
}

const FlagDef* find_flag(std::string_view name) {
  for (const auto& def : flag_table())
    if (def.name == name || (!def.alias.empty() && def.alias == name)) return &def;
  return nullptr;
}

}  // namespace

Result<Flags> parse_flags(const std::vector<std::string>& args) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    std::optional<std::string_view> value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    const FlagDef* def = find_flag(arg);
    if (!def) {
      return fail(errc::invalid_argument, arg.rfind("-", 0) == 0
                                              ? fmt::format("unknown flag {}", arg)
                                              : fmt::format("unexpected argument '{}'", arg));
    }
    if (def->value.empty()) {
      if (value) return fail(errc::invalid_argument, fmt::format("{} takes no value", arg));
    } else if (!value) {
      if (i + 1 >= args.size())
        return fail(errc::invalid_argument, fmt::format("{} needs a value", arg));
      value = args[++i];
    }
    if (auto why = def->set(flags, value.value_or(""))) {
      return fail(errc::invalid_argument, fmt::format("{}: {}", def->name, *why));
    }
  }
  if (flags.help) return flags;
  if (flags.target.empty()) return fail(errc::invalid_argument, "--target is required");
  if (target_kind(flags.target) == TargetKind::postgresql && !flags.query_given)
    return fail(errc::invalid_argument, "--query (the SQL to run) is required with postgresql://");
  return flags;
}

std::string usage() {
  std::string out = "usage: load-tester --target URL [flags]\n";
  for (const auto& def : flag_table()) {
    const std::string names =
        def.alias.empty() ? std::string(def.name) : fmt::format("{}, {}", def.name, def.alias);
    out += fmt::format("  {:<36} {}\n", fmt::format("{} {}", names, def.value), def.help);
  }
  return out;
}

}  // namespace heatblast::load
