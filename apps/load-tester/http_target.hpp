// The HTTP(S) target of load-worker: a libcurl easy handle per connection, kept alive across
// queries. The query is "METHOD /path [body]"; an HTTP status >= 400 is a failed query.
#pragma once

#include <chrono>
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

}  // namespace heatblast::load
