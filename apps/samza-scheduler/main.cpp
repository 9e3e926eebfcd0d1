// samza-scheduler: Heatblast on heatblast (see samza_scheduler.hpp and `samza-scheduler --help`).
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "flags.hpp"
#include "logger.hpp"
#include "samza_scheduler.hpp"

namespace samza = heatblast::samza;

namespace {

std::string current_user() {
  if (const passwd* entry = ::getpwuid(::geteuid()); entry && entry->pw_name) {
    return entry->pw_name;
  }
  const char* user = std::getenv("USER");
  return user ? user : "";
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = samza::parse_flags(std::vector<std::string>(argv + 1, argv + argc), current_user());
  if (!flags) {
    std::fprintf(stderr, "samza-scheduler: %s (see --help)\n", flags.error().what().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(samza::usage("samza-scheduler").c_str(), stdout);
    return 0;
  }
  samza::Logger logger(flags->debug);
  boost::asio::io_context io;
  int exit_status = 0;
  samza::Hooks hooks;
  hooks.on_exit = [&](int status) {
    exit_status = status;
    io.stop();
  };
  samza::SamzaScheduler scheduler(io.get_executor(), *flags, logger, hooks);
  if (auto started = scheduler.start(); !started) {
    logger.error(started.error().what());
    return 1;
  }
  // SIGINT/SIGTERM: stop without TEARDOWN; the jobs keep running and a restart adopts them.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    logger.info("stopping; the jobs keep running and the next start adopts them");
    scheduler.stop();
    io.stop();
  });
  io.run();
  return exit_status;
}
