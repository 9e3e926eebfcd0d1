// hello-framework: the smallest complete framework on heatblast. It subscribes, launches one
// command task on the first offer that fits, prints the task's states, and exits with the
// task's outcome (0 when it finished). Try it against local-master:
//   local-master &  hello-framework --master 127.0.0.1:5050 --cmd 'echo hello'
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/task_state.hpp"

namespace hs = heatblast::scheduler;
using mesos::v1::scheduler::Event;

namespace {

std::string current_user() {
  const char* user = std::getenv("USER");
  return user && *user ? user : "root";
}

int usage() {
  std::fputs("usage: hello-framework [--master HOST:PORT[,HOST:PORT...]] [--cmd COMMAND]\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string masters = "127.0.0.1:5050";
  std::string command = "echo 'hello from heatblast'";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--master" || arg == "--cmd") && i + 1 < argc) {
      (arg == "--master" ? masters : command) = argv[++i];
    } else {
      return usage();
    }
  }

  boost::asio::io_context io;
  hs::Options options;
  auto parsed = hs::parse_masters(masters);
  if (!parsed) {
    std::fprintf(stderr, "hello-framework: %s\n", parsed.error().what().c_str());
    return 2;
  }
  options.masters = *parsed;
  options.framework.set_user(current_user());
  options.framework.set_name("hello-framework");
  // A demo should not leave a framework behind for a week if it is interrupted.
  options.framework.set_failover_timeout(60);

  int exit_status = 1;
  bool launched = false;
  std::unique_ptr<hs::Client> client;
  hs::Handlers handlers;
  handlers.on_log = [](heatblast::scheduler::LogLevel, std::string_view message) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  };
  handlers.on_fatal = [&](const heatblast::Error& error) {
    std::fprintf(stderr, "hello-framework: %s\n", error.what().c_str());
    io.stop();
  };
  handlers.on_event = [&](const Event& event) {
    if (event.type() == Event::SUBSCRIBED) {
      std::printf("Subscribed: FrameworkID: %s\n",
                  event.subscribed().framework_id().value().c_str());
    } else if (event.type() == Event::OFFERS) {
      std::vector<mesos::v1::OfferID> unused;
      for (const auto& offer : event.offers().offers()) {
        auto offered = heatblast::offer_resources(offer);
        heatblast::ResourceNeed need;
        need.scalars = {{"cpus", 0.1}, {"mem", 32}};
        // Results chain: an error in `offered` passes through without calling allocate().
        auto resources = offered.and_then(
            [&](const heatblast::Resources& have) { return heatblast::allocate(need, have); });
        if (launched || !resources) {
          unused.push_back(offer.id());
          continue;
        }
        mesos::v1::TaskInfo task;
        task.set_name("hello");
        task.mutable_task_id()->set_value("hello-" + std::to_string(::getpid()));
        *task.mutable_agent_id() = offer.agent_id();
        for (auto& r : *resources)
          *task.add_resources() = std::move(r);
        task.mutable_command()->set_value(command);
        std::printf("Launching task '%s' on '%s': %s\n", task.task_id().value().c_str(),
                    offer.hostname().c_str(), command.c_str());
        client->launch({offer.id()}, {task});
        launched = true;
      }
      if (!unused.empty()) {
        mesos::v1::Filters filters;
        filters.set_refuse_seconds(3600);  // we need one offer only; don't send these back soon
        client->decline(unused, filters);
      }
    } else if (event.type() == Event::UPDATE) {
      const auto& status = event.update().status();
      std::printf("Task '%s' is %s%s%s\n", status.task_id().value().c_str(),
                  mesos::v1::TaskState_Name(status.state()).c_str(),
                  status.message().empty() ? "" : ": ", status.message().c_str());
      if (heatblast::is_terminal(status.state())) {
        exit_status = status.state() == mesos::v1::TASK_FINISHED ? 0 : 1;
        // Done: TEARDOWN removes the framework, and with it the task and its updates.
        client->teardown([&](heatblast::Result<void>) { io.stop(); });
      }
    }
  };

  client = std::make_unique<hs::Client>(io.get_executor(), options, handlers);
  if (auto started = client->start(); !started) {
    std::fprintf(stderr, "hello-framework: %s\n", started.error().what().c_str());
    return 2;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  io.run();
  return exit_status;
}
