// drf-demo: Dominant Resource Fairness, as Mesos workshops show it. The framework wants as many
// long-running tasks of one size as it can get: it launches ONE task on each offer that fits and
// hands the rest of the offer straight back (refuse_seconds 0), so that the master's next
// allocation cycle, not this framework, decides who gets the remainder. An offer too small for a
// task is declined for a few seconds. Once a second it prints its running tasks and its dominant
// share: the larger of its fraction of the cluster's cpus and of its memory, the totals read from
// the master's /state. Start two or three at once with different task shapes and watch their
// shares meet. Ctrl-C tears the framework down (its tasks are killed).
//   local-master --resources 'cpus:4;mem:8192' &
//   drf-demo --name 'Framework A' --task-cpus 1 --task-mem 512 &
//   drf-demo --name 'Framework B' --task-cpus 0.25 --task-mem 2048
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/http_client.hpp"
#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/task_state.hpp"

namespace hs = heatblast::scheduler;
using mesos::v1::scheduler::Event;

namespace {

struct Args {
  std::string masters = "127.0.0.1:5050";
  std::string name = "drf-demo";
  double cpus = 0.5;
  double mem = 512;
  std::string command = "sleep 3600";
  double decline_seconds = 5;  // Mesos's default filter
};

heatblast::Result<Args> parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc)
      return heatblast::fail(heatblast::errc::invalid_argument, flag + " needs a value");
    const std::string value = argv[++i];
    auto number = [&](double& out) -> heatblast::Result<void> {
      char* end = nullptr;
      out = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(out >= 0))
        return heatblast::fail(heatblast::errc::invalid_argument,
                               fmt::format("{}: '{}' is not a number >= 0", flag, value));
      return {};
    };
    heatblast::Result<void> ok;
    if (flag == "--master")
      args.masters = value;
    else if (flag == "--name")
      args.name = value;
    else if (flag == "--cmd")
      args.command = value;
    else if (flag == "--task-cpus")
      ok = number(args.cpus);
    else if (flag == "--task-mem")
      ok = number(args.mem);
    else if (flag == "--decline-seconds")
      ok = number(args.decline_seconds);
    else
      return heatblast::fail(heatblast::errc::invalid_argument, "unknown flag " + flag);
    if (!ok) return tl::unexpected(ok.error());
  }
  if (args.cpus <= 0 && args.mem <= 0)
    return heatblast::fail(heatblast::errc::invalid_argument, "a task needs cpus or mem");
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  auto masters = args.and_then([](const Args& a) { return hs::parse_masters(a.masters); });
  if (!masters) {
    fmt::print(stderr,
               "drf-demo: {}\nusage: drf-demo [--master HOST:PORT,...] [--name NAME] "
               "[--task-cpus C] [--task-mem MB] [--cmd COMMAND] [--decline-seconds S]\n",
               masters.error().what());
    return 2;
  }

  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // line by line, also into a pipe
  boost::asio::io_context io;
  hs::Options options;
  options.masters = *masters;
  const char* user = std::getenv("USER");
  options.framework.set_user(user && *user ? user : "root");
  options.framework.set_name(args->name);
  options.framework.set_failover_timeout(60);  // a demo should not linger after a crash

  heatblast::ResourceNeed need;
  if (args->cpus > 0) need.scalars["cpus"] = args->cpus;
  if (args->mem > 0) need.scalars["mem"] = args->mem;
  std::set<std::string> running;  // task ids with a RUNNING status and no terminal one since
  int launched = 0;
  int exit_code = 0;
  std::unique_ptr<hs::Client> client;
  hs::Handlers handlers;
  handlers.on_log = [](hs::LogLevel level, std::string_view message) {
    if (level != hs::LogLevel::debug) fmt::print(stderr, "{}\n", message);
  };
  handlers.on_fatal = [&](const heatblast::Error& error) {
    fmt::print(stderr, "drf-demo: {}\n", error.what());
    exit_code = 2;
    io.stop();
  };
  handlers.on_event = [&](const Event& event) {
    if (event.type() == Event::SUBSCRIBED) {
      fmt::print("[{}] subscribed as {}\n", args->name, event.subscribed().framework_id().value());
    } else if (event.type() == Event::OFFERS) {
      for (const auto& offer : event.offers().offers()) {
        auto offered = heatblast::offer_resources(offer);
        auto resources = offered.and_then(
            [&](const heatblast::Resources& have) { return heatblast::allocate(need, have); });
        const std::string what = offered
                                     ? fmt::format("offer of {:g} cpus, {:g} MB",
                                                   offered->scalar("cpus"), offered->scalar("mem"))
                                     : "an invalid offer";
        mesos::v1::Filters filters;
        if (!resources) {
          fmt::print("[{}] {}: too small, declined for {:g}s\n", args->name, what,
                     args->decline_seconds);
          filters.set_refuse_seconds(args->decline_seconds);
          client->decline({offer.id()}, filters);
          continue;
        }
        mesos::v1::TaskInfo task;
        task.set_name(fmt::format("{} task {}", args->name, ++launched));
        task.mutable_task_id()->set_value(fmt::format("drf-{}-{}", ::getpid(), launched));
        *task.mutable_agent_id() = offer.agent_id();
        for (auto& r : *resources)
          *task.add_resources() = std::move(r);
        task.mutable_command()->set_value(args->command);
        // The unused rest goes back unfiltered: the allocator offers it next cycle to whoever
        // then has the lowest dominant share (maybe us again, maybe another framework).
        fmt::print("[{}] {}: launching task {}, the rest goes back\n", args->name, what, launched);
        filters.set_refuse_seconds(0);
        client->launch({offer.id()}, {task}, filters);
      }
    } else if (event.type() == Event::UPDATE) {
      const auto& status = event.update().status();
      if (status.state() == mesos::v1::TASK_RUNNING) running.insert(status.task_id().value());
      if (heatblast::is_terminal(status.state())) running.erase(status.task_id().value());
    }
  };

  // Once a second: the cluster's totals from /state, and our share of them.
  heatblast::http::Client http(io.get_executor());
  boost::asio::steady_timer ticker(io);
  std::function<void()> report = [&] {
    heatblast::http::Request request;
    request.method = "GET";
    request.url = "http://" + client->current_master() + "/state";
    request.timeout = std::chrono::seconds(2);
    http.async_send(request, [&](heatblast::Result<heatblast::http::Response> response) {
      double total_cpus = 0, total_mem = 0;
      rapidjson::Document state;
      if (response && response->status == 200) state.Parse(response->body.c_str());
      if (state.IsObject() && state.HasMember("slaves") && state["slaves"].IsArray()) {
        for (const auto& agent : state["slaves"].GetArray()) {
          if (!agent.IsObject() || !agent.HasMember("resources")) continue;
          const auto& r = agent["resources"];
          if (r.HasMember("cpus") && r["cpus"].IsNumber()) total_cpus += r["cpus"].GetDouble();
          if (r.HasMember("mem") && r["mem"].IsNumber()) total_mem += r["mem"].GetDouble();
        }
      }
      const double cpus = static_cast<double>(running.size()) * args->cpus;
      const double mem = static_cast<double>(running.size()) * args->mem;
      const double cpu_share = total_cpus > 0 ? cpus / total_cpus : 0;
      const double mem_share = total_mem > 0 ? mem / total_mem : 0;
      fmt::print(
          "[{}] {} tasks running ({:g} cpus, {:g} MB of {:g} cpus, {:g} MB): dominant "
          "share {:.2f} ({})\n",
          args->name, running.size(), cpus, mem, total_cpus, total_mem,
          std::max(cpu_share, mem_share), cpu_share >= mem_share ? "cpus" : "mem");
      ticker.expires_after(std::chrono::seconds(1));
      ticker.async_wait([&](boost::system::error_code ec) {
        if (!ec) report();
      });
    });
  };

  client = std::make_unique<hs::Client>(io.get_executor(), options, handlers);
  if (auto started = client->start(); !started) {
    fmt::print(stderr, "drf-demo: {}\n", started.error().what());
    return 2;
  }
  report();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer give_up(io);
  signals.async_wait([&](auto, int) {
    fmt::print("[{}] tearing down\n", args->name);
    ticker.cancel();
    http.cancel_all();
    // TEARDOWN: the master kills our tasks and forgets the framework.
    client->teardown([&](heatblast::Result<void>) { io.stop(); });
    give_up.expires_after(std::chrono::seconds(5));  // no master to answer: leave anyway
    give_up.async_wait([&](boost::system::error_code ec) {
      if (!ec) io.stop();
    });
  });
  io.run();
  return exit_code;
}
