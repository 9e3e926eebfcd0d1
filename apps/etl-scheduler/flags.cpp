#include "flags.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

#include <fmt/format.h>

#include "heatblast/scheduler.hpp"

namespace heatblast::etl {
namespace {

// Why a value was refused, in the words Go's flag package uses after "invalid value ...: ".
using Reason = std::optional<std::string>;
constexpr std::string_view kParseError = "parse error";
constexpr std::string_view kRangeError = "value out of range";

// strconv.ParseInt(text, 0, 64): an optional sign, then decimal, 0x/0X hex, 0o/0O or a leading
// 0 for octal, 0b/0B binary; underscores only between digits of a prefixed number.
tl::expected<std::int64_t, std::string_view> parse_go_int(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return tl::unexpected(kParseError);
  if (s == "0") return 0;
  int base = 10;
  bool prefixed = false;  // Go allows underscores only after a base prefix
  if (s.size() >= 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    s.remove_prefix(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
    prefixed = true;
  }
  std::string digits;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      if (!prefixed || i + 1 >= s.size() || s[i + 1] == '_') return tl::unexpected(kParseError);
      continue;
    }
    digits.push_back(s[i]);
  }
  if (digits.empty()) return tl::unexpected(kParseError);
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (end != digits.data() + digits.size()) return tl::unexpected(kParseError);
  if (ec == std::errc::result_out_of_range) return tl::unexpected(kRangeError);
  if (ec != std::errc()) return tl::unexpected(kParseError);
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (magnitude > limit + (negative ? 1 : 0)) return tl::unexpected(kRangeError);
  if (negative)
    return magnitude == limit + 1 ? std::numeric_limits<std::int64_t>::min()
                                  : -static_cast<std::int64_t>(magnitude);
  return static_cast<std::int64_t>(magnitude);
}

// strconv.ParseFloat(text, 64), for the forms people type: decimal and exponent notation with
// an optional sign, "inf"/"infinity"/"nan" in any case.
tl::expected<double, std::string_view> parse_go_float(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.front() == '+' || s.front() == '-') return tl::unexpected(kParseError);
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (end != s.data() + s.size()) return tl::unexpected(kParseError);
  if (ec == std::errc::result_out_of_range) return tl::unexpected(kRangeError);
  if (ec != std::errc()) return tl::unexpected(kParseError);
  return negative ? -value : value;
}

// strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return std::nullopt;
}

// Go's %q for the strings our defaults hold.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  return out + "\"";
}

// Seconds: a number (fractions allowed) in [min, 1e9]; `min_exclusive` rejects `min` itself.
Reason seconds(std::string_view value, double& out, double min, bool min_exclusive) {
  auto parsed = parse_go_float(value);
  if (!parsed) return std::string(parsed.error());
  if (!std::isfinite(*parsed) || *parsed > 1e9) return std::string(kRangeError);
  if (*parsed < min || (min_exclusive && *parsed == min)) {
    return min_exclusive ? fmt::format("must be greater than {}", min)
                         : fmt::format("must be at least {}", min);
  }
  out = *parsed;
  return std::nullopt;
}

template <class Int>
Reason integer(std::string_view value, Int& out, std::int64_t min) {
  auto parsed = parse_go_int(value);
  if (!parsed) return std::string(parsed.error());
  if (*parsed > std::numeric_limits<Int>::max() || *parsed < std::numeric_limits<Int>::min()) {
    return std::string(kRangeError);
  }
  if (*parsed < min) return fmt::format("must be at least {}", min);
  out = static_cast<Int>(*parsed);
  return std::nullopt;
}

struct FlagDef {
  std::string_view name;
  std::string_view type;  // what Go shows after the name: "string", "int", "float"; "" for bool
  std::string_view description;
  // The default as Go prints it ("" when it is the zero value, which Go leaves out).
  std::function<std::string(const Flags&)> shown_default;
  // Stores `value`; returns why it is refused.
  std::function<Reason(Flags&, std::string_view value)> set;
  bool boolean = false;
};

std::string shown_number(double value) {
  return value == 0 ? std::string() : fmt::format("{}", value);
}

const std::vector<FlagDef>& flag_table() {
  static const std::vector<FlagDef> table = [] {
    std::vector<FlagDef> t;
    auto text = [](std::string Flags::*field) {
      return [field](const Flags& f) {
        return (f.*field).empty() ? std::string() : go_quote(f.*field);
      };
    };
    auto any_text = [](std::string Flags::*field) {
      return [field](Flags& f, std::string_view v) -> Reason {
        f.*field = std::string(v);
        return std::nullopt;
      };
    };
    auto boolean = [](bool Flags::*field) {
      return [field](Flags& f, std::string_view v) -> Reason {
        auto parsed = parse_go_bool(v);
        if (!parsed) return std::string(kParseError);
        f.*field = *parsed;
        return std::nullopt;
      };
    };
    auto no_default = [](const Flags&) { return std::string(); };

    // The Go tool's flags, with its descriptions.
    t.push_back({"cmd", "string", "Command to execute", text(&Flags::cmd), any_text(&Flags::cmd)});
    t.push_back({"cpu", "float", "Cpu Resources for one task",
                 [](const Flags& f) { return shown_number(f.cpu); },
                 [](Flags& f, std::string_view v) -> Reason {
                   auto parsed = parse_go_float(v);
                   if (!parsed) return std::string(parsed.error());
                   if (!std::isfinite(*parsed)) return std::string(kRangeError);
                   if (*parsed <= 0) return std::string("must be greater than 0");
                   f.cpu = *parsed;
                   return std::nullopt;
                 }});
    t.push_back({"debug", "", "Print debug logs", no_default, boolean(&Flags::debug), true});
    t.push_back({"img", "string", "Docker image to run the command in (empty: no container)",
                 text(&Flags::img), any_text(&Flags::img)});
    t.push_back({"master", "string", "Master address <ip:port>; several as a comma-separated list",
                 text(&Flags::master), [](Flags& f, std::string_view v) -> Reason {
                   auto parsed = scheduler::parse_masters(v);
                   if (!parsed) return parsed.error().what();
                   f.master = std::string(v);
                   f.masters = std::move(*parsed);
                   return std::nullopt;
                 }});
    t.push_back({"maxtasks", "int", "Maximal concurrent tasks",
                 [](const Flags& f) { return shown_number(f.maxtasks); },
                 [](Flags& f, std::string_view v) { return integer(v, f.maxtasks, 1); }});
    t.push_back({"mem", "int", "Memory for one task in MB",
                 [](const Flags& f) { return shown_number(static_cast<double>(f.mem)); },
                 [](Flags& f, std::string_view v) { return integer(v, f.mem, 1); }});
    t.push_back({"user", "string", "Framework user", text(&Flags::user), any_text(&Flags::user)});
    t.push_back({"wait", "int", "Wait in seconds before launching new tasks",
                 [](const Flags& f) { return shown_number(f.wait_seconds); },
                 [](Flags& f, std::string_view v) { return seconds(v, f.wait_seconds, 0, true); }});

    // Ours.
    t.push_back({"name", "string", "Framework name", text(&Flags::name),
                 [](Flags& f, std::string_view v) -> Reason {
                   if (v.empty()) return std::string("must not be empty");
                   f.name = std::string(v);
                   return std::nullopt;
                 }});
    t.push_back({"role", "string", "Role to subscribe with and take resources of (empty: \"*\")",
                 text(&Flags::role), any_text(&Flags::role)});
    t.push_back({"principal", "string", "Principal for HTTP basic authentication with the master",
                 text(&Flags::principal), any_text(&Flags::principal)});
    t.push_back({"secret-file", "string", "File holding the principal's secret",
                 text(&Flags::secret_file), any_text(&Flags::secret_file)});
    t.push_back({"failover-timeout", "float",
                 "Seconds the master keeps the framework and its tasks while etl-scheduler is away",
                 [](const Flags& f) { return shown_number(f.failover_timeout_seconds); },
                 [](Flags& f, std::string_view v) {
                   return seconds(v, f.failover_timeout_seconds, 0, false);
                 }});
    t.push_back({"rounds", "int",
                 "Stop after this many rounds (one fill-up to -maxtasks each); 0: run forever",
                 [](const Flags& f) { return shown_number(f.rounds); },
                 [](Flags& f, std::string_view v) { return integer(v, f.rounds, 0); }});
    t.push_back(
        {"timeout", "float", "Kill a task that runs longer than this many seconds; 0: never",
         [](const Flags& f) { return shown_number(f.timeout_seconds); },
         [](Flags& f, std::string_view v) { return seconds(v, f.timeout_seconds, 0, false); }});
    t.push_back(
        {"json", "", "Log one JSON object per line", no_default, boolean(&Flags::json), true});
    t.push_back(
        {"on-stop", "string", "On SIGINT/SIGTERM, \"wait\" for the running tasks or \"kill\" them",
         [](const Flags& f) { return go_quote(f.on_stop == OnStop::wait ? "wait" : "kill"); },
         [](Flags& f, std::string_view v) -> Reason {
           if (v == "wait") {
             f.on_stop = OnStop::wait;
           } else if (v == "kill") {
             f.on_stop = OnStop::kill;
           } else {
             return std::string("must be \"wait\" or \"kill\"");
           }
           return std::nullopt;
         }});
    t.push_back({"listen", "string",
                 "Address of the HTTP health endpoint (/ and /health); empty: none",
                 text(&Flags::listen), [](Flags& f, std::string_view v) -> Reason {
                   if (!v.empty()) {
                     if (auto parsed = parse_listen(v); !parsed) return parsed.error().what();
                   }
                   f.listen = std::string(v);
                   return std::nullopt;
                 }});
    t.push_back({"constraint", "string",
                 "Run tasks only on offers whose attribute NAME (or \"hostname\") is VALUE, given "
                 "as NAME=VALUE; repeat for several",
                 no_default, [](Flags& f, std::string_view v) -> Reason {
                   const auto equals = v.find('=');
                   if (equals == std::string_view::npos || equals == 0) {
                     return std::string("must be NAME=VALUE");
                   }
                   std::string name(v.substr(0, equals));
                   std::string value(v.substr(equals + 1));
                   if (auto [at, added] = f.constraints.emplace(name, value);
                       !added && at->second != value) {
                     return fmt::format("'{}' is constrained to \"{}\" already", name, at->second);
                   }
                   return std::nullopt;
                 }});
    t.push_back(
        {"state-file", "string",
         "SQLite file that keeps the framework id and the tasks across restarts; empty: none",
         text(&Flags::state_file), any_text(&Flags::state_file)});

    std::sort(t.begin(), t.end(),
              [](const FlagDef& a, const FlagDef& b) { return a.name < b.name; });
    return t;
  }();
  return table;
}

const FlagDef* find_flag(std::string_view name) {
  for (const auto& def : flag_table()) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

Flags defaults_for(const FlagDefaults& defaults) {
  Flags flags;
  flags.user = defaults.user;
  return flags;
}

}  // namespace

Result<Flags> parse_flags(const std::vector<std::string>& args, const FlagDefaults& defaults) {
  Flags flags = defaults_for(defaults);
  auto error = [](std::string message) { return fail(errc::invalid_argument, std::move(message)); };
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') break;  // the first non-flag argument
    std::size_t minuses = 1;
    if (arg[1] == '-') {
      minuses = 2;
      if (arg.size() == 2) {  // "--" ends the flags
        ++i;
        break;
      }
    }
    std::string_view name = arg.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      return error(fmt::format("bad flag syntax: {}", arg));
    }
    std::optional<std::string_view> value;
    if (const auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagDef* def = find_flag(name);
    if (!def) {
      if (name == "h" || name == "help") {
        flags.help = true;
        return flags;
      }
      return error(fmt::format("flag provided but not defined: -{}", name));
    }
    if (def->boolean) {
      if (!value) {
        def->set(flags, "true");
        continue;
      }
      if (auto reason = def->set(flags, *value)) {
        return error(
            fmt::format("invalid boolean value {} for -{}: {}", go_quote(*value), name, *reason));
      }
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) return error(fmt::format("flag needs an argument: -{}", name));
      value = args[++i];
    }
    if (auto reason = def->set(flags, *value)) {
      return error(
          fmt::format("invalid value {} for flag -{}: {}", go_quote(*value), name, *reason));
    }
  }
  if (i < args.size()) {
    return error(fmt::format("unexpected argument {} (flags only; quote a command with blanks)",
                             go_quote(args[i])));
  }
  if (flags.user.empty()) flags.user = defaults.user;
  if (flags.user.empty()) return error("cannot tell the current user: give -user");
  if (!flags.secret_file.empty() && flags.principal.empty()) {
    return error("-secret-file needs -principal");
  }
  return flags;
}

std::string usage(std::string_view program, const FlagDefaults& defaults) {
  const Flags flags = defaults_for(defaults);
  std::string out = fmt::format("Usage of {}:\n", program);
  for (const auto& def : flag_table()) {
    std::string line = fmt::format("  -{}", def.name);
    if (!def.type.empty()) line += fmt::format(" {}", def.type);
    // Go puts the description of a one-letter flag on the same line; ours are all longer.
    line += line.size() <= 4 ? "\t" : "\n    \t";
    line += def.description;
    if (const std::string shown = def.shown_default(flags); !shown.empty()) {
      line += fmt::format(" (default {})", shown);
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace heatblast::etl
