// How long after a master's return the client is subscribed again: a scripted master goes away
// for each outage length, comes back on the same port, and the time from its return to
// SUBSCRIBED is measured. Prints the median and the maximum of N runs per outage.
//
//   reconnect_bench [--runs N] [--old] OUTAGE_SECONDS...
//
// --old uses the backoff heatblast had before (doubling from 500 ms to 15 s, no flat stretch),
// for a before/after comparison on the same machine.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "fakes/fake_master.hpp"
#include "fakes/run_until.hpp"
#include "heatblast/scheduler.hpp"

namespace hs = heatblast::scheduler;
using heatblast::testing::FakeMaster;
using heatblast::testing::run_until;
using Clock = std::chrono::steady_clock;

namespace {

// One outage; returns the time from the master's return to SUBSCRIBED, or a negative value.
double measure(double outage_seconds, bool old_backoff) {
  boost::asio::io_context io;
  auto master = std::make_unique<FakeMaster>(io.get_executor());
  if (!master->start()) return -1;
  const auto port = master->port();
  hs::Options options;
  options.masters = {master->address()};
  options.framework.set_user("bench");
  options.framework.set_name("reconnect-bench");
  if (old_backoff) {
    options.backoff = {std::chrono::milliseconds(500), std::chrono::seconds(15), 2.0, 0.5};
  }
  hs::Client client(io.get_executor(), options, {});
  if (!client.start()) return -1;
  if (!run_until(io, [&] { return client.state() == hs::State::subscribed; })) return -1;
  master->stop();
  master.reset();
  io.restart();
  io.run_for(std::chrono::milliseconds(static_cast<long>(outage_seconds * 1000)));
  master = std::make_unique<FakeMaster>(io.get_executor(), port);
  if (!master->start()) return -1;
  const auto back = Clock::now();
  if (!run_until(
          io, [&] { return client.state() == hs::State::subscribed; }, std::chrono::seconds(30))) {
    return -1;
  }
  return std::chrono::duration<double>(Clock::now() - back).count();
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  bool old_backoff = false;
  std::vector<double> outages;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--old") {
      old_backoff = true;
    } else {
      outages.push_back(std::atof(arg.c_str()));
    }
  }
  if (outages.empty()) outages = {2, 5, 10, 30, 60};
  fmt::print("backoff: {}\n", old_backoff ? "old (500 ms doubling to 15 s)"
                                          : "default (250-500 ms for a minute, then doubling)");
  for (double outage : outages) {
    std::vector<double> times;
    for (int r = 0; r < runs; ++r) {
      const double t = measure(outage, old_backoff);
      if (t < 0) {
        fmt::print(stderr, "outage {} s: run {} failed\n", outage, r + 1);
        return 1;
      }
      times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    fmt::print("outage {:5.1f} s: return -> SUBSCRIBED median {:.3f} s, max {:.3f} s ({} runs)\n",
               outage, times[times.size() / 2], times.back(), runs);
  }
  return 0;
}
