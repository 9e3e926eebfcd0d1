// batch-runner: runs the commands of a file (one per line; blank lines and '#' comments
// skipped) as Mesos tasks, at most --parallel at a time, each retried up to --retries times when
// it fails. Exits 0 when every command finished, 1 when some failed for good, 2 on a usage
// error or when no master could be reached. It keeps going through a master's restart (or a
// leader change): the library resubscribes and reconciles; nothing here handles it.
//   local-master --work-dir /tmp/lm &  batch-runner --master 127.0.0.1:5050 jobs.txt
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "heatblast/framework.hpp"

namespace hs = heatblast::scheduler;
namespace ht = heatblast::tasks;

namespace {

struct Args {
  std::string masters = "127.0.0.1:5050";
  std::string file;
  std::size_t parallel = 2;
  int retries = 2;
  double cpus = 0.1;
  double mem = 32;
  int give_up_seconds = 300;
};

// Flags are "--name value"; errors are values, returned with heatblast::fail.
heatblast::Result<Args> parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0) {
      args.file = flag;
      continue;
    }
    if (i + 1 >= argc)
      return heatblast::fail(heatblast::errc::invalid_argument, flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--master")
      args.masters = value;
    else if (flag == "--parallel")
      args.parallel = std::strtoul(value.c_str(), nullptr, 10);
    else if (flag == "--retries")
      args.retries = std::atoi(value.c_str());
    else if (flag == "--cpus")
      args.cpus = std::atof(value.c_str());
    else if (flag == "--mem")
      args.mem = std::atof(value.c_str());
    else if (flag == "--give-up-after")
      args.give_up_seconds = std::atoi(value.c_str());
    else
      return heatblast::fail(heatblast::errc::invalid_argument, "unknown flag " + flag);
  }
  if (args.file.empty())
    return heatblast::fail(heatblast::errc::invalid_argument, "no command file given");
  return args;
}

heatblast::Result<std::vector<std::string>> read_commands(const std::string& path) {
  std::ifstream in(path);
  if (!in) return heatblast::fail(heatblast::errc::io_error, "cannot read '" + path + "'");
  std::vector<std::string> commands;
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    commands.push_back(line);
  }
  return commands;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  auto commands = args.and_then([](const Args& a) { return read_commands(a.file); });
  auto masters = args.and_then([](const Args& a) { return hs::parse_masters(a.masters); });
  for (const auto* error :
       {commands ? nullptr : &commands.error(), masters ? nullptr : &masters.error()}) {
    if (!error) continue;
    std::fprintf(stderr,
                 "batch-runner: %s\nusage: batch-runner [--master HOST:PORT,...] "
                 "[--parallel N] [--retries N] [--cpus C] [--mem MB] "
                 "[--give-up-after SECONDS] FILE\n",
                 error->what().c_str());
    return 2;
  }

  boost::asio::io_context io;
  hs::Options options;
  options.masters = *masters;
  const char* user = std::getenv("USER");
  options.framework.set_user(user && *user ? user : "root");
  options.framework.set_name("batch-runner");
  // failover_timeout: how long the master keeps our tasks running after we vanish. Long enough
  // to ride out our own restart or a network blip; short, because a batch nobody resumes
  // should not hold the cluster. Our own restart does not resume (no store here), so an hour
  // only bounds how long orphans of a crashed run live. A master restart does not count: the
  // master recovers the framework from its checkpoint and we resubscribe within a second.
  options.framework.set_failover_timeout(3600);
  // A wrong --master should not retry silently forever.
  options.give_up_after = std::chrono::seconds(args->give_up_seconds);

  ht::ManagerOptions manager_options;
  manager_options.max_in_flight = args->parallel;

  int exit_code = 0;
  std::unique_ptr<ht::Framework> framework;
  hs::Handlers handlers;
  handlers.on_log = [](hs::LogLevel level, std::string_view message) {
    if (level != hs::LogLevel::debug) fmt::print(stderr, "{}\n", message);
  };
  handlers.on_fatal = [&](const heatblast::Error& error) {
    fmt::print(stderr, "batch-runner: giving up: {}\n", error.what());
    exit_code = 2;
    io.stop();
  };
  auto on_change = [&](const ht::TaskChange& change) {
    const auto& r = change.record;
    if (r.phase == change.previous_phase && r.state == change.previous_state) return;
    fmt::print("{}: {}{}\n", r.name, to_string(r.phase),
               r.state ? " " + mesos::v1::TaskState_Name(*r.state) : "");
    if (!framework->tasks().all_done()) return;
    // The whole batch ended: report, remove the framework, and leave.
    boost::asio::post(io, [&] {
      int failed = 0;
      for (const auto& record : framework->tasks().records())
        failed += record.last_outcome != mesos::v1::TASK_FINISHED;
      fmt::print("done: {} finished, {} failed\n",
                 framework->tasks().count(ht::Phase::done) - failed, failed);
      exit_code = failed == 0 ? 0 : 1;
      framework->client().teardown([&](heatblast::Result<void>) { io.stop(); });
    });
  };
  framework = std::make_unique<ht::Framework>(io.get_executor(), options, manager_options, handlers,
                                              on_change);

  for (std::size_t i = 0; i < commands->size(); ++i) {
    ht::TaskSpec spec;
    spec.name = fmt::format("cmd-{}", i + 1);
    spec.command.set_value((*commands)[i]);
    spec.resources.scalars = {{"cpus", args->cpus}, {"mem", args->mem}};
    spec.restart.policy = ht::RestartPolicy::on_failure;
    spec.restart.max_restarts = args->retries;
    spec.restart.backoff = {std::chrono::milliseconds(200), std::chrono::seconds(10), 2.0, 0.2};
    if (auto added = framework->tasks().add(std::move(spec)); !added) {
      fmt::print(stderr, "batch-runner: {}\n", added.error().what());
      return 2;
    }
  }
  if (commands->empty()) return 0;
  if (auto started = framework->start(); !started) {
    fmt::print(stderr, "batch-runner: {}\n", started.error().what());
    return 2;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    exit_code = 1;
    io.stop();  // no TEARDOWN: the tasks stay for failover_timeout
  });
  io.run();
  return exit_code;
}
