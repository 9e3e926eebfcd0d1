// load-worker: runs one task's share of queries against the target, at its rate, over its
// connections, and posts its figures to the load-tester while it runs and when it is done.
// Targets sit behind one small interface (Target) so that PostgreSQL or CQL can be added.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "figures.hpp"
#include "heatblast/error.hpp"

namespace heatblast::load {

// One connection to the system under load. Not thread-safe: each worker thread owns one.
class Target {
 public:
  virtual ~Target() = default;
  // Runs one query. An error is a failed query (transport, timeout, HTTP status >= 400); the
  // connection is reused by the next call either way.
  virtual Result<void> query() = 0;
};

// An HTTP request from --query text: "METHOD /path [body]".
struct HttpQuery {
  std::string method;
  std::string path;
  std::string body;
};
// errc::invalid_argument when the method or the path (starting with '/') is missing.
Result<HttpQuery> parse_http_query(std::string_view text);

// A keep-alive HTTP(S) connection to `base_url` (scheme and authority; its path is replaced by
// the query's path), with `timeout` per query.
Result<std::unique_ptr<Target>> make_http_target(const std::string& base_url,
                                                 const HttpQuery& query,
                                                 std::chrono::milliseconds timeout);

struct WorkerOptions {
  std::string target;
  std::string query = "GET /";
  std::uint64_t queries = 0;
  double rate = 0;  // queries per second for this worker; 0: no limit
  std::uint64_t connections = 1;
  std::chrono::milliseconds timeout{10000};
  std::string report_to;  // http://host:port of the load-tester; empty: report nothing
  std::string task;       // this task's name, sent with every report
  std::chrono::milliseconds progress_every{500};
};

// "--name value" flags of load-worker, as load-tester writes them.
Result<WorkerOptions> parse_worker_flags(const std::vector<std::string>& args);
std::vector<std::string> worker_arguments(const WorkerOptions& options);

// Runs the share and returns its figures; errors when the target cannot be set up or the final
// report could not be delivered (the load-tester would count the share as lost otherwise).
Result<Figures> run_worker(const WorkerOptions& options);

}  // namespace heatblast::load
