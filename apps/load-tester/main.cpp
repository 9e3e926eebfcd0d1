// load-tester: spreads --total-queries over Mesos tasks of --queries-per-task, at most
// --parallelism at once, each running load-worker against --target, and prints one merged
// report (see load_tester.hpp). Exit 0: a clean run; 1: errors, failed tasks or an abort; 2: bad
// flags or no master.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "flags.hpp"
#include "load_tester.hpp"

namespace load = heatblast::load;

namespace {

// The progress line on stderr: redrawn in place on a terminal, one plain line a second otherwise.
void show_progress(boost::asio::steady_timer& timer, load::LoadTester& tester, bool terminal) {
  timer.expires_after(std::chrono::seconds(1));
  timer.async_wait([&timer, &tester, terminal](boost::system::error_code ec) {
    if (ec) return;
    const auto line = tester.progress_line();
    std::fprintf(stderr, terminal ? "\r\033[K%s" : "%s\n", line.c_str());
    show_progress(timer, tester, terminal);
  });
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = load::parse_flags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags) {
    std::fprintf(stderr, "load-tester: %s (see load-tester --help)\n",
                 flags.error().what().c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(load::usage().c_str(), stdout);
    return 0;
  }
  std::string worker = flags->worker;
  if (worker.empty()) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    worker = ec ? "load-worker" : (self.parent_path() / "load-worker").string();
  }

  boost::asio::io_context io;
  int status = 1;
  load::LoadTesterHooks hooks;
  hooks.on_log = [](std::string_view line) {
    std::fprintf(stderr, "load-tester: %.*s\n", static_cast<int>(line.size()), line.data());
  };
  hooks.on_exit = [&](int s) {
    status = s;
    io.stop();
  };
  load::LoadTester tester(io.get_executor(), *flags, worker, hooks);
  if (auto started = tester.start(); !started) {
    std::fprintf(stderr, "load-tester: %s\n", started.error().what().c_str());
    return 2;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { tester.abort(); });
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  boost::asio::steady_timer progress(io);
  show_progress(progress, tester, terminal);
  io.run();
  if (terminal) std::fputs("\n", stderr);
  std::fputs(tester.report().c_str(), stdout);
  return status;
}
