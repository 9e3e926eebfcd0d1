// load-worker: runs one task's share of queries against the target, at its rate, over its
// connections, and posts its figures to the load-tester while it runs and when it is done.
// HTTP runs all of a worker's connections from one thread (HttpRun in http_target.hpp);
// PostgreSQL runs a thread per connection behind the blocking Target interface (target.hpp,
// postgres_target.hpp); another kind (CQL) is one more file and a case in connect_target().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "figures.hpp"
#include "heatblast/error.hpp"
#include "http_target.hpp"
#include "postgres_target.hpp"
#include "target.hpp"

namespace heatblast::load {

// Checks --target (its kind, and for PostgreSQL its URI as libpq reads it) and --query (for
// HTTP, "METHOD /path [body]") without connecting. errc::invalid_argument with one line that
// never shows a password.
Result<void> check_target(const std::string& target, const std::string& query);

// One connection to `target` running `query`, by the target's kind (see check_target).
Result<std::unique_ptr<Target>> connect_target(const std::string& target, const std::string& query,
                                               std::chrono::milliseconds timeout);

struct WorkerOptions {
  std::string target;
  std::string query = "GET /";  // HTTP: "METHOD /path [body]"; PostgreSQL: SQL
  std::uint64_t queries = 0;
  double rate = 0;  // queries per second for this worker; 0: no limit
  std::uint64_t connections = 1;
  std::chrono::milliseconds timeout{10000};
  std::string report_to;  // http://host:port of the load-tester; empty: report nothing
  std::string task;       // this task's name, sent with every report
  std::chrono::milliseconds progress_every{500};
  // Grants: when set, the worker starts at most this many queries until the load-tester grants
  // more (the "granted N" answer to a progress report; it asks at once when this is 0, and then
  // ahead of need), and stops when the load-tester answers that its task has ended. Unset: the
  // whole share, nothing asked.
  std::optional<std::uint64_t> granted;
};

// "--name value" flags of load-worker, as load-tester writes them.
Result<WorkerOptions> parse_worker_flags(const std::vector<std::string>& args);
std::vector<std::string> worker_arguments(const WorkerOptions& options);

// Runs the share and returns its figures; errors when the target cannot be set up, the
// load-tester stopped granting queries, or the final report could not be delivered (the
// load-tester would count the share as lost otherwise).
Result<Figures> run_worker(const WorkerOptions& options);

}  // namespace heatblast::load
