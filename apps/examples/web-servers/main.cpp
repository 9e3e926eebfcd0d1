// web-servers: N tasks running `python3 -m http.server $PORT`, each on a port of its offer passed
// in its environment (as Mesos frameworks do). Prints where each listens and checks that it
// answers; Ctrl-C tears the framework down, which kills them.
//   local-master &  web-servers --master 127.0.0.1:5050 --count 3
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/http_client.hpp"
#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"

namespace hs = heatblast::scheduler;
using mesos::v1::scheduler::Event;

int main(int argc, char** argv) {
  std::string masters = "127.0.0.1:5050";
  int count = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--master") masters = argv[i + 1];
    if (flag == "--count") count = std::atoi(argv[i + 1]);
  }
  auto parsed = hs::parse_masters(masters);
  if (argc % 2 == 0 || count < 1 || count > 100 || !parsed) {
    fmt::print(stderr, "usage: web-servers [--master HOST:PORT,...] [--count 1..100]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  boost::asio::io_context io;
  hs::Options options;
  options.masters = *parsed;
  options.framework.set_user(std::getenv("USER") ? std::getenv("USER") : "root");
  options.framework.set_name("web-servers");
  options.framework.set_failover_timeout(60);

  heatblast::ResourceNeed need;
  need.scalars = {{"cpus", 0.1}, {"mem", 64}};
  need.port_count = 1;
  std::map<std::string, std::string> where;  // task id -> host:port
  std::unique_ptr<hs::Client> client;
  heatblast::http::Client http(io.get_executor());
  // GET / until it answers: the server binds its port a moment after the task is RUNNING.
  std::function<void(std::string, int)> check = [&](std::string address, int tries) {
    heatblast::http::Request get;
    get.method = "GET";
    get.url = "http://" + address + "/";
    http.async_send(get, [&, address, tries](auto response) {
      if (response) return fmt::print("{} answers HTTP {}\n", address, response->status);
      if (tries <= 1)
        return fmt::print("{} does not answer: {}\n", address, response.error().what());
      auto timer = std::make_shared<boost::asio::steady_timer>(io, std::chrono::milliseconds(200));
      timer->async_wait([&, timer, address, tries](auto) { check(address, tries - 1); });
    });
  };
  hs::Handlers handlers;
  handlers.on_fatal = [&](const heatblast::Error& error) {
    fmt::print(stderr, "web-servers: {}\n", error.what());
    io.stop();
  };
  handlers.on_event = [&](const Event& event) {
    if (event.type() == Event::OFFERS) {
      for (const auto& offer : event.offers().offers()) {
        auto remaining = heatblast::offer_resources(offer);
        std::vector<mesos::v1::TaskInfo> tasks;
        while (remaining && static_cast<int>(where.size()) < count) {
          auto resources = heatblast::take(need, *remaining);
          if (!resources) break;
          auto& task = tasks.emplace_back();
          task.set_name(fmt::format("web-{}", where.size() + 1));
          task.mutable_task_id()->set_value(task.name());  // unique: a new framework each run
          *task.mutable_agent_id() = offer.agent_id();
          for (auto& r : *resources)
            *task.add_resources() = r;
          const auto port = resources->back().ranges().range(0).begin();  // ports come last
          auto* env = task.mutable_command()->mutable_environment()->add_variables();
          env->set_name("PORT");
          env->set_value(std::to_string(port));
          task.mutable_command()->set_value("exec python3 -m http.server \"$PORT\"");
          where[task.task_id().value()] = fmt::format("{}:{}", offer.hostname(), port);
        }
        mesos::v1::Filters filters;
        filters.set_refuse_seconds(3600);  // the rest of the offer: not needed again
        if (tasks.empty())
          client->decline({offer.id()}, filters);
        else
          client->launch({offer.id()}, tasks, filters);
      }
    } else if (event.type() == Event::UPDATE) {
      const auto& status = event.update().status();
      const std::string& address = where[status.task_id().value()];
      fmt::print("{} on {}: {}\n", status.task_id().value(), address,
                 mesos::v1::TaskState_Name(status.state()));
      if (status.state() == mesos::v1::TASK_RUNNING) check(address, 50);
    }
  };

  client = std::make_unique<hs::Client>(io.get_executor(), options, handlers);
  if (auto started = client->start(); !started) {
    fmt::print(stderr, "web-servers: {}\n", started.error().what());
    return 2;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    // TEARDOWN: the master kills every task of ours and forgets the framework.
    client->teardown([&](heatblast::Result<void> done) {
      fmt::print("teardown {}: {} servers killed\n", done ? "done" : "failed", where.size());
      io.stop();
    });
  });
  io.run();
}
