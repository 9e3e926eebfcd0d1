// autoscaler: keeps between --min and --max instances of one command running, and scales them
// by a load figure read every --interval from --metric-url: the whole body as a plain number,
// or, with --metric-name, that gauge of a Prometheus text exposition. Above --scale-up-above it
// adds one instance, below --scale-down-below it kills one; after any change it waits
// --cooldown before the next. The tasks layer does the rest: it launches a new instance on the
// next offer that fits, relaunches one that dies, and keeps offers SUPPRESSed while nothing is
// waiting for one. Ctrl-C tears the framework down.
//   autoscaler --master 127.0.0.1:5050 --cmd 'sleep 3600' --min 1 --max 10
//     --metric-url http://127.0.0.1:9100/metrics --metric-name queue_depth
//     --scale-up-above 100 --scale-down-below 10 --cooldown 30s
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/framework.hpp"
#include "heatblast/http_client.hpp"

namespace hs = heatblast::scheduler;
namespace ht = heatblast::tasks;
using Clock = std::chrono::steady_clock;
using heatblast::errc;
using heatblast::fail;

namespace {

struct Args {
  std::string masters = "127.0.0.1:5050";
  std::string command;
  int min = 1;
  int max = 10;
  std::string metric_url;
  std::string metric_name;  // empty: the body is a plain number
  std::optional<double> up_above;
  std::optional<double> down_below;
  Clock::duration cooldown = std::chrono::seconds(30);
  Clock::duration interval = std::chrono::seconds(5);
  double cpus = 0.1;
  double mem = 32;
};

heatblast::Result<double> to_number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value))
    return fail(errc::invalid_argument, fmt::format("'{}' is not a number", text));
  return value;
}

// An instance count: a whole number from 0 to 1000.
heatblast::Result<int> to_count(const std::string& text) {
  auto value = to_number(text);
  if (!value || *value < 0 || *value > 1000 || *value != std::floor(*value))
    return fail(errc::invalid_argument, fmt::format("'{}' is not a whole number 0..1000", text));
  return static_cast<int>(*value);
}

// "30s", "500ms", "2m" or a plain number of seconds.
heatblast::Result<Clock::duration> to_duration(const std::string& text) {
  std::string number = text;
  double unit = 1;
  for (auto [suffix, scale] : {std::pair{"ms", 0.001}, {"s", 1.0}, {"m", 60.0}}) {
    const std::string s = suffix;
    if (text.size() > s.size() && text.ends_with(s)) {
      number = text.substr(0, text.size() - s.size());
      unit = scale;
      break;
    }
  }
  auto value = to_number(number);
  if (!value || *value < 0)
    return fail(errc::invalid_argument, fmt::format("'{}' is not a duration (30s, 500ms)", text));
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*value * unit));
}

heatblast::Result<Args> parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return fail(errc::invalid_argument, flag + " needs a value");
    const std::string value = argv[++i];
    heatblast::Result<void> ok;
    auto set = [&](auto& out, auto parsed) {
      if (parsed)
        out = static_cast<std::remove_reference_t<decltype(out)>>(*parsed);
      else
        ok = fail(errc::invalid_argument, flag + ": " + parsed.error().message);
    };
    if (flag == "--master")
      args.masters = value;
    else if (flag == "--cmd")
      args.command = value;
    else if (flag == "--metric-url")
      args.metric_url = value;
    else if (flag == "--metric-name")
      args.metric_name = value;
    else if (flag == "--min")
      set(args.min, to_count(value));
    else if (flag == "--max")
      set(args.max, to_count(value));
    else if (flag == "--scale-up-above")
      set(args.up_above, to_number(value));
    else if (flag == "--scale-down-below")
      set(args.down_below, to_number(value));
    else if (flag == "--cooldown")
      set(args.cooldown, to_duration(value));
    else if (flag == "--interval")
      set(args.interval, to_duration(value));
    else if (flag == "--cpus")
      set(args.cpus, to_number(value));
    else if (flag == "--mem")
      set(args.mem, to_number(value));
    else
      return fail(errc::invalid_argument, "unknown flag " + flag);
    if (!ok) return tl::unexpected(ok.error());
  }
  if (args.command.empty()) return fail(errc::invalid_argument, "--cmd is required");
  if (args.metric_url.empty()) return fail(errc::invalid_argument, "--metric-url is required");
  if (!args.up_above || !args.down_below)
    return fail(errc::invalid_argument, "--scale-up-above and --scale-down-below are required");
  if (args.max < args.min) return fail(errc::invalid_argument, "--min is above --max");
  if (*args.down_below > *args.up_above)
    return fail(errc::invalid_argument, "--scale-down-below must not exceed --scale-up-above");
  if (args.interval < std::chrono::milliseconds(10))
    return fail(errc::invalid_argument, "--interval must be at least 10ms");
  return args;
}

// The load in a response body: the body as a number, or the first sample of gauge `name` in
// the Prometheus text format ("name 12", "name{queue=\"a\"} 12 1700000000").
heatblast::Result<double> read_load(const std::string& body, const std::string& name) {
  if (name.empty()) {
    const auto first = body.find_first_not_of(" \t\r\n");
    const auto last = body.find_last_not_of(" \t\r\n");
    return to_number(first == std::string::npos ? "" : body.substr(first, last - first + 1));
  }
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    std::size_t at = name.size();
    if (at < line.size() && line[at] == '{') {
      at = line.find('}', at);
      if (at == std::string::npos) continue;
      ++at;
    }
    if (at >= line.size() || (line[at] != ' ' && line[at] != '\t')) continue;  // a longer name
    std::istringstream rest(line.substr(at));
    std::string value;
    rest >> value;
    return to_number(value);
  }
  return fail(errc::invalid_argument, fmt::format("no metric '{}' in the response", name));
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  auto masters = args.and_then([](const Args& a) { return hs::parse_masters(a.masters); });
  if (!masters) {
    fmt::print(stderr,
               "autoscaler: {}\nusage: autoscaler [--master HOST:PORT,...] --cmd COMMAND "
               "[--min N] [--max N] --metric-url URL [--metric-name GAUGE] "
               "--scale-up-above X --scale-down-below Y [--cooldown 30s] [--interval 5s] "
               "[--cpus C] [--mem MB]\n",
               masters.error().what());
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  boost::asio::io_context io;
  hs::Options options;
  options.masters = *masters;
  const char* user = std::getenv("USER");
  options.framework.set_user(user && *user ? user : "root");
  options.framework.set_name("autoscaler");
  options.framework.set_failover_timeout(60);

  int exit_code = 0;
  std::unique_ptr<ht::Framework> framework;
  hs::Handlers handlers;
  handlers.on_log = [](hs::LogLevel level, std::string_view message) {
    if (level != hs::LogLevel::debug) fmt::print(stderr, "{}\n", message);
  };
  handlers.on_fatal = [&](const heatblast::Error& error) {
    fmt::print(stderr, "autoscaler: {}\n", error.what());
    exit_code = 2;
    io.stop();
  };
  auto on_change = [&](const ht::TaskChange& change) {
    const auto& r = change.record;
    if (r.phase == change.previous_phase && r.state == change.previous_state) return;
    fmt::print("{}: {}{}\n", r.name, to_string(r.phase),
               r.state ? " " + mesos::v1::TaskState_Name(*r.state) : "");
    // A scaled-down instance is forgotten once it ended (remove() must not run in here).
    if (r.phase == ht::Phase::done && r.kill_requested) {
      boost::asio::post(io, [&, name = r.name] { (void)framework->tasks().remove(name); });
    }
  };
  ht::ManagerOptions manager_options;
  manager_options.suppress_when_idle = true;  // no scale-up pending: SUPPRESS, not a decline loop
  framework = std::make_unique<ht::Framework>(io.get_executor(), options, manager_options, handlers,
                                              on_change);

  // The instances wanted now, oldest first; the newest is the one scaled down.
  std::vector<std::string> instances;
  int next_instance = 1;
  auto add_instance = [&]() -> heatblast::Result<void> {
    ht::TaskSpec spec;
    spec.name = fmt::format("instance-{}", next_instance++);
    spec.command.set_value(args->command);
    spec.resources.scalars = {{"cpus", args->cpus}, {"mem", args->mem}};
    spec.restart.policy = ht::RestartPolicy::always;  // an instance that dies comes back
    instances.push_back(spec.name);
    return framework->tasks().add(std::move(spec));
  };
  for (int i = 0; i < args->min; ++i) {
    if (auto added = add_instance(); !added) {
      fmt::print(stderr, "autoscaler: {}\n", added.error().what());
      return 2;
    }
  }

  const Clock::time_point started = Clock::now();
  std::optional<Clock::time_point> last_scale;
  auto seconds_since_start = [&](Clock::time_point t) {
    return std::chrono::duration<double>(t - started).count();
  };
  auto scale = [&](double load) {
    const Clock::time_point now = Clock::now();
    if (last_scale && now - *last_scale < args->cooldown) return;
    const int before = static_cast<int>(instances.size());
    if (load > *args->up_above && before < args->max) {
      if (auto added = add_instance(); !added) {
        fmt::print(stderr, "autoscaler: {}\n", added.error().what());
        return;
      }
    } else if (load < *args->down_below && before > args->min) {
      (void)framework->tasks().kill(instances.back());
      instances.pop_back();
    } else {
      return;
    }
    last_scale = now;
    fmt::print("scale {} to {} instances at {:.6f}s (load {:g})\n",
               static_cast<int>(instances.size()) > before ? "up" : "down", instances.size(),
               seconds_since_start(now), load);
  };

  heatblast::http::Client http(io.get_executor());
  boost::asio::steady_timer ticker(io);
  std::function<void()> poll = [&] {
    heatblast::http::Request request;
    request.method = "GET";
    request.url = args->metric_url;
    request.timeout = std::chrono::seconds(5);
    http.async_send(request, [&](heatblast::Result<heatblast::http::Response> response) {
      heatblast::Result<double> load = fail(errc::protocol_error, "");
      if (!response)
        load = tl::unexpected(response.error());
      else if (response->status != 200)
        load = fail(errc::protocol_error,
                    fmt::format("{} answered {}", args->metric_url, response->status));
      else
        load = read_load(response->body, args->metric_name);
      if (load)
        scale(*load);
      else
        fmt::print(stderr, "autoscaler: no load figure: {}\n", load.error().what());
      ticker.expires_after(args->interval);
      ticker.async_wait([&](boost::system::error_code ec) {
        if (!ec) poll();
      });
    });
  };

  if (auto start = framework->start(); !start) {
    fmt::print(stderr, "autoscaler: {}\n", start.error().what());
    return 2;
  }
  poll();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer give_up(io);
  signals.async_wait([&](auto, int) {
    ticker.cancel();
    http.cancel_all();
    framework->client().teardown([&](heatblast::Result<void>) { io.stop(); });
    give_up.expires_after(std::chrono::seconds(5));  // no master to answer: leave anyway
    give_up.async_wait([&](boost::system::error_code ec) {
      if (!ec) io.stop();
    });
  });
  io.run();
  return exit_code;
}
