// heatblast::store::SqliteDb: the one SQLite layer under every durable file heatblast writes
// (SqliteStore, and local-master's checkpoint): opening with WAL and a durability level,
// transactions, and cached prepared statements, with errors as heatblast::Error values.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace heatblast::store {

class SqliteDb;

// What a committed transaction survives. Both run in WAL mode.
enum class Durability {
  // synchronous=FULL: a committed write survives a power loss (a scheduler's framework id and
  // tasks: nothing may be acted on that a crash could forget).
  full,
  // synchronous=NORMAL: a committed write survives a crash of the process, not necessarily a
  // power loss; much cheaper per commit.
  normal,
};

// One prepared statement in use. Binding indexes start at 1 and columns at 0, as in SQLite.
// A failed bind is remembered and returned by step(). Move-only; when it goes, a cached
// statement is reset (its read or write is over) and goes back to its database.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) = delete;
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  ~SqliteStatement();

  SqliteStatement& bind_text(int index, std::string_view text);
  SqliteStatement& bind_blob(int index, std::string_view bytes);
  SqliteStatement& bind_int(int index, std::int64_t value);
  SqliteStatement& bind_null(int index);
  template <class T>
  SqliteStatement& bind_optional(int index, const std::optional<T>& value) {
    return value ? bind_int(index, static_cast<std::int64_t>(*value)) : bind_null(index);
  }

  // SQLite's SQLITE_ROW and SQLITE_DONE, without its header.
  static constexpr int kRow = 100;
  static constexpr int kDone = 101;

  // kRow (a row to read), kDone, or an SQLite error code.
  int step();
  // The whole statement for a write: SQLITE_DONE, or an error naming `what`.
  Result<void> run(std::string_view what);

  std::string column_bytes(int index) const;
  std::int64_t column_int(int index) const;
  bool column_null(int index) const;

 private:
  friend class SqliteDb;
  SqliteStatement(const SqliteDb* db, sqlite3_stmt* stmt, bool* in_use)
      : db_(db), stmt_(stmt), in_use_(in_use) {}

  const SqliteDb* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool* in_use_ = nullptr;  // the cache's flag; null: owned, finalized here
  int rc_ = 0;              // SQLITE_OK until a bind failed
};

// One open database file. Not thread-safe: one thread uses it. Not movable (statements point
// into it); hold it by unique_ptr.
class SqliteDb {
 public:
  struct Options {
    Durability durability = Durability::full;
    // How long a write waits for another connection's lock before failing with SQLITE_BUSY.
    int busy_timeout_ms = 5000;
    // Put before the path in error messages ("store", "checkpoint").
    std::string label = "database";
    // Bound of the connection's page cache in KiB (PRAGMA cache_size=-N); 0: SQLite's default
    // (2,000 KiB). The cache fills up to it as the database grows, so below the bound it reads
    // as memory per record.
    int cache_kib = 0;
  };

  // Opens or creates `path` (":memory:" for tests), sets WAL and the durability, then runs
  // `schema` (statements separated by ';', e.g. CREATE TABLE IF NOT EXISTS ...).
  // Errors: errc::io_error with SQLite's text and the path.
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path, const Options& options,
                                                std::string_view schema = {});
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  const std::string& path() const { return path_; }

  // Runs SQL text without results (several statements allowed).
  Result<void> exec(std::string_view sql);

  // A prepared statement for `sql`, compiled once and kept for the next call with the same
  // text (the text is the key). While one is in use, the same text gets a fresh one.
  Result<SqliteStatement> prepare(std::string_view sql);

  // Runs `writes` as one transaction (BEGIN IMMEDIATE ... COMMIT): all of them are stored, or,
  // when one of them or the commit fails, none (rolled back). Not nestable: inside `writes`,
  // a second transaction() fails with errc::invalid_argument.
  Result<void> transaction(const std::function<Result<void>()>& writes);
  bool in_transaction() const { return in_transaction_; }

  // errc::io_error "<label> '<path>': <what>: <SQLite's latest message>".
  Error error(std::string_view what) const;

 private:
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    // Heap-held so that the flag's address stays put while the map grows.
    std::unique_ptr<bool> in_use = std::make_unique<bool>(false);
  };

  SqliteDb() = default;

  sqlite3* db_ = nullptr;
  std::string path_;
  std::string label_;
  std::map<std::string, Cached, std::less<>> cache_;
  bool in_transaction_ = false;
};

}  // namespace heatblast::store
