// etl-scheduler: a drop-in for the Go `mesos-http-scheduler` (see `etl-scheduler -h` and
// etl_scheduler.hpp): runs command tasks of one kind, at most -maxtasks at once, a new round
// every -wait seconds, and keeps its framework through leader changes and restarts.
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "etl_scheduler.hpp"
#include "flags.hpp"
#include "logger.hpp"

namespace etl = heatblast::etl;

namespace {

constexpr const char* kProgram = "etl-scheduler";

std::string current_user() {
  if (const passwd* entry = ::getpwuid(::geteuid()); entry && entry->pw_name) {
    return entry->pw_name;
  }
  const char* user = std::getenv("USER");
  return user ? user : "";
}

void wait_for_signal(boost::asio::signal_set& signals, etl::EtlScheduler& scheduler) {
  signals.async_wait([&signals, &scheduler](boost::system::error_code ec, int) {
    if (ec) return;
    scheduler.shutdown();
    wait_for_signal(signals, scheduler);
  });
}

}  // namespace

int main(int argc, char** argv) {
  const etl::FlagDefaults defaults{current_user()};
  auto flags = etl::parse_flags(std::vector<std::string>(argv + 1, argv + argc), defaults);
  if (!flags) {
    std::fprintf(stderr, "%s\n%s", flags.error().what().c_str(),
                 etl::usage(kProgram, defaults).c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(etl::usage(kProgram, defaults).c_str(), stdout);
    return 0;
  }

  etl::Logger logger({.json = flags->json, .debug = flags->debug});
  boost::asio::io_context io;
  int exit_status = 1;
  etl::Hooks hooks;
  hooks.on_exit = [&](int status) {
    exit_status = status;
    io.stop();
  };
  etl::EtlScheduler scheduler(io.get_executor(), *flags, logger, hooks);
  if (auto started = scheduler.start(); !started) {
    logger.error(started.error().what());
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  wait_for_signal(signals, scheduler);
  io.run();
  return exit_status;
}
