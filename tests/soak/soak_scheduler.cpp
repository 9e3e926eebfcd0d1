// soak-scheduler: the scheduler of the chaos soak (chaos_soak.py). It keeps --tasks slots
// ("slot-0" ... "slot-<N-1>") wanted through heatblast::tasks::Framework with a SQLite store, so
// that a kill -9 and a restart resume the same framework and adopt its tasks. It writes one line
// per fact the soak checks (launches, updates, subscriptions, state changes) to --log, with the
// wall-clock time in milliseconds first; each line is one write(2) on an O_APPEND descriptor, so
// nothing is lost when the process is killed and lines of successive runs never interleave.
//   soak-scheduler --master 127.0.0.1:5050 --store soak.db --log soak.log --tasks 300
// SIGUSR1 stops the churn (see --churn); SIGTERM/SIGINT end it without a TEARDOWN.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/framework.hpp"
#include "heatblast/store.hpp"

namespace hs = heatblast::scheduler;
namespace ht = heatblast::tasks;

namespace {

struct Args {
  std::string masters = "127.0.0.1:5050";
  std::string store;
  std::string log;
  int tasks = 300;
  // Every churn-th slot runs for a few seconds and ends (FINISHED or FAILED), so launches keep
  // happening while faults are injected; the others run until killed. 0: no churn. SIGUSR1
  // ends the churn.
  int churn = 10;
};

heatblast::Result<Args> parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc)
      return heatblast::fail(heatblast::errc::invalid_argument, flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--master") {
      args.masters = value;
    } else if (flag == "--store") {
      args.store = value;
    } else if (flag == "--log") {
      args.log = value;
    } else if (flag == "--tasks" || flag == "--churn") {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n < 0 || n > 100000)
        return heatblast::fail(heatblast::errc::invalid_argument,
                               flag + ": '" + value + "' is not a number from 0 to 100000");
      (flag == "--tasks" ? args.tasks : args.churn) = static_cast<int>(n);
    } else {
      return heatblast::fail(heatblast::errc::invalid_argument, "unknown flag " + flag);
    }
  }
  if (args.store.empty() || args.log.empty())
    return heatblast::fail(heatblast::errc::invalid_argument, "--store and --log are required");
  return args;
}

// One line per write(2): the soak reads these while this process may be killed at any moment.
class FactLog {
 public:
  explicit FactLog(int fd) : fd_(fd) {}
  template <typename... T>
  void write(fmt::format_string<T...> format, T&&... args) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    std::string line = fmt::format("{} ", ms);
    fmt::format_to(std::back_inserter(line), format, std::forward<T>(args)...);
    line += '\n';
    for (std::string_view rest = line; !rest.empty();) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n <= 0) return;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
};

std::string hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes)
    out += fmt::format("{:02x}", c);
  return out.empty() ? "-" : out;
}

ht::TaskSpec slot_spec(int slot, int churn) {
  ht::TaskSpec spec;
  spec.name = fmt::format("slot-{}", slot);
  spec.command.set_value("sleep 100000");
  spec.resources.scalars = {{"cpus", 0.01}, {"mem", 8}};
  spec.restart.policy = ht::RestartPolicy::always;
  spec.restart.backoff = {std::chrono::milliseconds(100), std::chrono::seconds(1), 2.0, 0.2};
  // local-master --simulate reads the script of a task from these labels.
  auto add_label = [&](const char* key, std::string value) {
    auto* label = spec.labels.add_labels();
    label->set_key(key);
    label->set_value(std::move(value));
  };
  if (churn > 0 && slot % churn == 0) {
    add_label("sim.duration", std::to_string(3 + slot % 7));
    add_label("sim.exit_code", slot % 20 == 0 ? "1" : "0");
  } else {
    add_label("sim.duration", "inf");
  }
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = parse_args(argc, argv);
  auto masters = args.and_then([](const Args& a) { return hs::parse_masters(a.masters); });
  if (!args || !masters) {
    std::fprintf(stderr,
                 "soak-scheduler: %s\nusage: soak-scheduler --store FILE --log FILE "
                 "[--master HOST:PORT,...] [--tasks N] [--churn N]\n",
                 (!args ? args.error() : masters.error()).what().c_str());
    return 2;
  }
  const int fd = ::open(args->log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(("soak-scheduler: " + args->log).c_str());
    return 2;
  }
  FactLog facts(fd);
  auto store = heatblast::store::SqliteStore::open(args->store);
  if (!store) {
    std::fprintf(stderr, "soak-scheduler: %s\n", store.error().what().c_str());
    return 2;
  }
  facts.write("START pid={}", ::getpid());

  boost::asio::io_context io;
  hs::Options options;
  options.masters = *masters;
  options.framework.set_user("soak");
  options.framework.set_name("soak-scheduler");
  options.framework.set_failover_timeout(3600);
  if (auto id = (*store)->framework_id(); id && *id)
    options.framework.mutable_id()->set_value(**id);

  ht::ManagerOptions manager_options;
  manager_options.store = store->get();
  // Offers come back quickly after a decline: relaunches after a fault should not wait 120 s
  // for resources another slot declined.
  manager_options.decline_refuse_seconds = 1;
  manager_options.min_revive_interval = std::chrono::milliseconds(200);

  int exit_code = 0;
  std::unique_ptr<ht::Framework> framework;
  hs::Handlers handlers;
  handlers.on_log = [](hs::LogLevel level, std::string_view message) {
    if (level != hs::LogLevel::debug) fmt::print(stderr, "{}\n", message);
  };
  handlers.on_fatal = [&](const heatblast::Error& error) {
    facts.write("FATAL {}", error.what());
    exit_code = 3;
    io.stop();
  };
  handlers.on_framework_id = [&](const mesos::v1::FrameworkID& id) {
    if (auto saved = (*store)->set_framework_id(id.value()); !saved)
      facts.write("STORE-ERROR {}", saved.error().what());
  };
  handlers.on_state = [&](hs::State state, std::string_view reason) {
    std::string text(reason);
    for (char& c : text)
      if (c == '\n') c = ' ';
    facts.write("STATE {} {}", hs::to_string(state), text);
  };
  handlers.on_event = [&](const hs::Event& event) {
    if (event.type() == hs::Event::SUBSCRIBED) {
      facts.write("SUBSCRIBED {}", event.subscribed().framework_id().value());
    } else if (event.type() == hs::Event::UPDATE) {
      const auto& status = event.update().status();
      facts.write("UPDATE {} {} {}", status.task_id().value(),
                  mesos::v1::TaskState_Name(status.state()), hex(status.uuid()));
    }
  };
  auto on_change = [&](const ht::TaskChange& change) {
    const auto& r = change.record;
    if (r.phase == ht::Phase::launched && change.previous_phase != ht::Phase::launched)
      facts.write("LAUNCH {} {}", r.name, r.task_id);
  };
  framework = std::make_unique<ht::Framework>(io.get_executor(), options, manager_options, handlers,
                                              on_change);
  if (auto started = framework->start(); !started) {
    std::fprintf(stderr, "soak-scheduler: %s\n", started.error().what().c_str());
    return 2;
  }
  // The store's slots were loaded by start(); only the missing ones are added (the first run
  // adds them all). No event is handled before this returns: they run on `io`.
  // One store write for all of them (thousands of transactions otherwise).
  int added = 0;
  std::string add_error;
  auto batched = framework->tasks().batch([&] {
    for (int slot = 0; slot < args->tasks && add_error.empty(); ++slot) {
      auto spec = slot_spec(slot, args->churn);
      if (framework->tasks().find(spec.name)) continue;
      if (auto ok = framework->tasks().add(std::move(spec)); !ok) {
        add_error = ok.error().what();
        return;
      }
      ++added;
    }
  });
  if (!batched && add_error.empty()) add_error = batched.error().what();
  if (!add_error.empty()) {
    std::fprintf(stderr, "soak-scheduler: %s\n", add_error.c_str());
    return 2;
  }
  facts.write("WANTED tasks={} added={} loaded={}", args->tasks, added, args->tasks - added);

  // A summary each second: what the manager and the client have counted.
  boost::asio::steady_timer tick(io);
  std::function<void()> report = [&] {
    const auto& tasks = framework->tasks();
    const auto counters = framework->client().counters();
    // Calls by type as sent/rejected/failed: a call queue that cannot keep up shows here.
    std::string calls;
    for (const auto& [type, counts] : counters.calls)
      calls += fmt::format(" {}={}/{}/{}", type, counts.sent, counts.rejected, counts.failed);
    facts.write(
        "SUMMARY pending={} launched={} active={} backing_off={} done={} acks={} acks_held={} "
        "store_errors={}{}",
        tasks.count(ht::Phase::pending), tasks.count(ht::Phase::launched),
        tasks.count(ht::Phase::active), tasks.count(ht::Phase::backing_off),
        tasks.count(ht::Phase::done), counters.acknowledgements, counters.acknowledgements_held,
        tasks.counters().store_errors, calls);
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait([&](boost::system::error_code ec) {
      if (!ec) report();
    });
  };
  report();

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  // SIGUSR1: churn stops, so that every slot can be found running at the end of a soak. The
  // churning slots get a spec that runs until killed; their current runs end as scripted.
  boost::asio::signal_set churn_off(io, SIGUSR1);
  churn_off.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    for (int slot = 0; args->churn > 0 && slot < args->tasks; slot += args->churn) {
      if (auto updated = framework->tasks().update_spec(slot_spec(slot, 0)); !updated)
        facts.write("STORE-ERROR {}", updated.error().what());
    }
    facts.write("CHURN-OFF");
  });
  io.run();
  facts.write("EXIT {}", exit_code);
  return exit_code;
}
