// The PostgreSQL target of load-worker: one libpq connection per --connections, the query is SQL
// (one or more statements), an SQL error or a timeout is a failed query. The target is a libpq
// connection URI: postgresql://user[:password]@host[:port]/db[?param=value...], or a Unix socket
// as postgresql:///db?host=/socket/dir. The password is never written to a log or a message.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "target.hpp"

namespace heatblast::load {

// Parses `url` as libpq reads it, without connecting. errc::invalid_argument with libpq's reason
// (a bad URI, an unknown parameter, a port that is not a number) and the URL redacted.
Result<void> check_postgres_target(const std::string& url);

// Connects now. Errors: the URL's (as above) or libpq's reason the connection failed (refused,
// authentication, unknown database). Each query() sends `sql` and waits at most `timeout` for
// its results; then it cancels the query on the server (PQcancel) and fails with errc::timeout.
// A connection lost between queries is re-made by the next query() (which fails if it cannot).
Result<std::unique_ptr<Target>> make_postgres_target(const std::string& url, std::string sql,
                                                     std::chrono::milliseconds timeout);

}  // namespace heatblast::load
