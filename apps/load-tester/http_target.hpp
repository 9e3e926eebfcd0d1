// The HTTP(S) target of load-worker: keep-alive connections driven by Boost.Asio and Boost.Beast
// from one thread, the request serialized once and written as it is for every query, either
// behind the blocking Target interface or all of a worker's connections at once (HttpRun). The
// query is "METHOD /path [body]"; an HTTP status >= 400, or no answer, is a failed query.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "target.hpp"

namespace heatblast::load {

// An HTTP request from --query text: "METHOD /path [body]".
struct HttpQuery {
  std::string method;
  std::string path;
  std::string body;
};
// errc::invalid_argument when the method or the path (starting with '/') is missing.
Result<HttpQuery> parse_http_query(std::string_view text);

// The bytes sent for every query to `base_url` (scheme and authority; its path is replaced by
// the query's path): the request line, Host, User-Agent, Authorization (Basic, when the URL
// holds user info), Content-Length (with a body, or for POST, PUT and PATCH) and the body.
// errc::invalid_argument when `base_url` is not an http:// or https:// URL with a host.
Result<std::string> serialize_http_request(const std::string& base_url, const HttpQuery& query);

// A keep-alive HTTP(S) connection to `base_url`, with `timeout` per query.
Result<std::unique_ptr<Target>> make_http_target(const std::string& base_url,
                                                 const HttpQuery& query,
                                                 std::chrono::milliseconds timeout);

// What an HttpRun calls on its thread as each query completes: its latency, and empty `error`
// when it succeeded, else what failed (only valid during the call).
using HttpQueryDone =
    std::function<void(std::chrono::microseconds latency, std::string_view error)>;

struct HttpRunOptions {
  std::string base_url;
  HttpQuery query;
  std::chrono::milliseconds timeout{10000};  // per query: connecting, sending and the answer
  std::uint64_t connections = 1;
  std::uint64_t queries = 0;
  double rate = 0;  // queries/s: query n not before query_due(start, n, rate); 0: no limit
  std::chrono::steady_clock::time_point start;
  // How many queries may be started before allow() raises it (see worker.hpp: grants).
  std::uint64_t allowed = 0;
};

// Runs a share of HTTP(S) queries over keep-alive connections, all from the thread that calls
// run(), with one io_context. One thread per connection would spend its time in context switches
// once there are more connections than cores; libcurl's multi interface spent it on each
// transfer's setup (tests/bench/README.md).
class HttpRun {
 public:
  static Result<std::unique_ptr<HttpRun>> make(const HttpRunOptions& options, HttpQueryDone done);
  virtual ~HttpRun() = default;
  // Returns once `queries` queries completed, or after stop() once those in flight completed.
  // Errors only when the run cannot be set up (the host does not resolve, no TLS context); a
  // failed query goes to `done`.
  virtual Result<void> run() = 0;
  // Thread-safe. Lets the run start queries up to number `allowed` (counted from the start of
  // the share); a lower value than before changes nothing.
  virtual void allow(std::uint64_t allowed) = 0;
  // Thread-safe. Starts no more queries.
  virtual void stop() = 0;
  // Thread-safe. Queries started so far.
  virtual std::uint64_t started() const = 0;
};

// Runs exactly `queries` queries (an HttpRun allowed them all) on the calling thread.
Result<void> run_http_queries(const std::string& base_url, const HttpQuery& query,
                              std::chrono::milliseconds timeout, std::uint64_t connections,
                              std::uint64_t queries, double rate,
                              std::chrono::steady_clock::time_point start,
                              const HttpQueryDone& done);

}  // namespace heatblast::load
