#include "heatblast/sqlite.hpp"

#include <sqlite3.h>

#include <utility>

#include <fmt/format.h>

namespace heatblast::store {

static_assert(SqliteStatement::kRow == SQLITE_ROW && SqliteStatement::kDone == SQLITE_DONE);

// --- SqliteStatement -------------------------------------------------------------------------

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      rc_(other.rc_) {}

SqliteStatement::~SqliteStatement() {
  if (stmt_ == nullptr) return;
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  // Back to the cache: a reset statement holds no lock and no half-read result.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

SqliteStatement& SqliteStatement::bind_text(int index, std::string_view text) {
  if (rc_ == SQLITE_OK) {
    rc_ = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                            SQLITE_TRANSIENT);
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::string_view bytes) {
  if (rc_ == SQLITE_OK) {
    // A null pointer binds NULL; an empty blob must stay an empty blob (NOT NULL columns).
    rc_ = sqlite3_bind_blob(stmt_, index, bytes.empty() ? "" : bytes.data(),
                            static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

SqliteStatement& SqliteStatement::bind_int(int index, std::int64_t value) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, index);
  return *this;
}

int SqliteStatement::step() {
  if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) return rc_;
  rc_ = sqlite3_step(stmt_);
  return rc_;
}

Result<void> SqliteStatement::run(std::string_view what) {
  if (step() != SQLITE_DONE) return tl::unexpected(db_->error(what));
  return {};
}

std::string SqliteStatement::column_bytes(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  return data == nullptr
             ? std::string()
             : std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::int64_t SqliteStatement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

bool SqliteStatement::column_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

// --- SqliteDb --------------------------------------------------------------------------------

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path, const Options& options,
                                                 std::string_view schema) {
  std::unique_ptr<SqliteDb> db(new SqliteDb());
  db->path_ = path;
  db->label_ = options.label;
  if (sqlite3_open_v2(path.c_str(), &db->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    if (db->db_ == nullptr) {
      return fail(errc::io_error,
                  fmt::format("{} '{}': cannot open: out of memory", options.label, path));
    }
    return tl::unexpected(db->error("cannot open"));
  }
  sqlite3_busy_timeout(db->db_, options.busy_timeout_ms);
  const char* sync = options.durability == Durability::full ? "PRAGMA synchronous=FULL;"
                                                            : "PRAGMA synchronous=NORMAL;";
  const std::string cache =
      options.cache_kib > 0 ? fmt::format("PRAGMA cache_size=-{};", options.cache_kib) : "";
  for (std::string_view sql : {std::string_view("PRAGMA journal_mode=WAL;"), std::string_view(sync),
                               std::string_view(cache), schema}) {
    if (sql.empty()) continue;
    if (auto done = db->exec(sql); !done) return tl::unexpected(done.error());
  }
  return db;
}

SqliteDb::~SqliteDb() {
  for (auto& [sql, cached] : cache_)
    sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Error SqliteDb::error(std::string_view what) const {
  return Error(errc::io_error,
               fmt::format("{} '{}': {}: {}", label_, path_, what, sqlite3_errmsg(db_)));
}

Result<void> SqliteDb::exec(std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string reason = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    return fail(errc::io_error, fmt::format("{} '{}': SQL failed: {}", label_, path_, reason));
  }
  return {};
}

Result<SqliteStatement> SqliteDb::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !*it->second.in_use) {
    *it->second.in_use = true;
    return SqliteStatement(this, it->second.stmt, it->second.in_use.get());
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(stmt);
    return tl::unexpected(error("cannot prepare a statement"));
  }
  if (it != cache_.end()) return SqliteStatement(this, stmt, nullptr);  // the cached one is busy
  Cached cached;
  cached.stmt = stmt;
  *cached.in_use = true;
  bool* flag = cached.in_use.get();
  cache_.emplace(std::string(sql), std::move(cached));
  return SqliteStatement(this, stmt, flag);
}

Result<void> SqliteDb::transaction(const std::function<Result<void>()>& writes) {
  if (in_transaction_) {
    return fail(errc::invalid_argument,
                fmt::format("{} '{}': a transaction inside a transaction", label_, path_));
  }
  if (auto begun = exec("BEGIN IMMEDIATE;"); !begun) return begun;
  in_transaction_ = true;
  auto written = writes();
  if (written) written = exec("COMMIT;");
  // A failed COMMIT (SQLITE_BUSY, a full disk) leaves the transaction open: end it too.
  if (!written) (void)exec("ROLLBACK;");
  in_transaction_ = false;
  return written;
}

}  // namespace heatblast::store
