// The HTTP(S) target of load-worker: a libcurl easy handle per connection, kept alive across
// queries, either behind the blocking Target interface or all of a worker's connections driven
// from one thread (run_http_queries). The query is "METHOD /path [body]"; an HTTP status >= 400
// is a failed query.
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

// A keep-alive HTTP(S) connection to `base_url` (scheme and authority; its path is replaced by
// the query's path), with `timeout` per query. Needs curl_global_init() done.
Result<std::unique_ptr<Target>> make_http_target(const std::string& base_url,
                                                 const HttpQuery& query,
                                                 std::chrono::milliseconds timeout);

// What run_http_queries calls on its thread as each query completes: its latency, and empty
// `error` when it succeeded, else what failed (only valid during the call).
using HttpQueryDone =
    std::function<void(std::chrono::microseconds latency, std::string_view error)>;

// Runs exactly `queries` queries over `connections` keep-alive connections, all from the calling
// thread with libcurl's multi interface (one easy handle per connection, reused), query n not
// before query_due(start, n, rate), each with `timeout`. One thread per connection would spend
// its time in context switches once there are more connections than cores. Errors only when
// libcurl cannot be set up; failed queries go to `done`. Needs curl_global_init() done.
Result<void> run_http_queries(const std::string& base_url, const HttpQuery& query,
                              std::chrono::milliseconds timeout, std::uint64_t connections,
                              std::uint64_t queries, double rate,
                              std::chrono::steady_clock::time_point start,
                              const HttpQueryDone& done);

}  // namespace heatblast::load
