// The system under load, behind one small interface: a Target is one connection that runs the
// run's query. Each kind (HTTP, PostgreSQL; CQL could follow) lives in its own file; this header
// says which kind a --target URL is and how to show it without its password.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"

namespace heatblast::load {

// One connection to the system under load. Not thread-safe: each worker thread owns one.
class Target {
 public:
  virtual ~Target() = default;
  // Runs one query. An error is a failed query (transport, timeout, HTTP status >= 400, an SQL
  // error); the next call reuses the connection, or reconnects when it was lost.
  virtual Result<void> query() = 0;
};

// When query `n` (from 0) of a share run at `rate` queries/s (0: no limit) may start: n/rate
// seconds after `start`, so the rate holds over the whole share and a slow query is caught up
// on, not lost.
inline std::chrono::steady_clock::time_point query_due(std::chrono::steady_clock::time_point start,
                                                       std::uint64_t n, double rate) {
  if (rate <= 0) return start;
  return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(static_cast<double>(n) / rate));
}

enum class TargetKind { unknown, http, postgresql };

// By the URL's scheme: http:// and https:// are HTTP; postgresql:// and postgres:// (libpq's
// connection URIs) are PostgreSQL.
TargetKind target_kind(std::string_view url) noexcept;

// `url` with the password of its user info ("scheme://user:secret@host") and any "password="
// query parameter replaced by "***": what logs and error messages may show.
std::string redact_target(std::string_view url);
// `text` (a library's error message about `url`) with every password of `url` replaced by "***".
std::string hide_passwords(std::string text, std::string_view url);

// A postgresql:// URL without its password, and that password percent-decoded (empty: none), so
// that the password can reach load-worker in its environment (libpq's PGPASSWORD) rather than on
// its command line, where `ps` and a task's description show it.
struct TargetWithoutPassword {
  std::string url;
  std::string password;
};
TargetWithoutPassword split_password(std::string_view url);

// "%40" -> "@" in a URL's user info; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text);

}  // namespace heatblast::load
