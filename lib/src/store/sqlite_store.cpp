#include <sqlite3.h>

#include <fmt/format.h>

#include "heatblast/store.hpp"
#include "store/task_codec.hpp"

namespace heatblast::store {
namespace {

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tasks (name TEXT PRIMARY KEY, record BLOB NOT NULL);";

constexpr std::string_view kFrameworkIdKey = "heatblast/framework_id";

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  // Keys are TEXT (readable with the sqlite3 shell); values are BLOBs (protobuf bytes).
  Statement& bind_text(int index, std::string_view text) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                              SQLITE_TRANSIENT);
    }
    return *this;
  }
  Statement& bind_blob(int index, std::string_view bytes) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                              SQLITE_TRANSIENT);
    }
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return rc_ == SQLITE_OK || rc_ == SQLITE_ROW ? (rc_ = sqlite3_step(stmt_)) : rc_; }
  std::string column(int index) const {
    const void* data = sqlite3_column_blob(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    return data ? std::string(static_cast<const char*>(data), static_cast<std::size_t>(size))
                : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

}  // namespace

struct SqliteStore::Db {
  sqlite3* handle = nullptr;
  std::string path;
  ~Db() { sqlite3_close(handle); }

  tl::unexpected<Error> error(std::string_view what) const {
    return fail(errc::io_error,
                fmt::format("store '{}': {}: {}", path, what, sqlite3_errmsg(handle)));
  }

  Result<void> exec(const char* sql, std::string_view key, std::string_view value,
                    std::string_view what) {
    Statement stmt(handle, sql);
    stmt.bind_text(1, key);
    if (std::string_view(sql).find("?2") != std::string_view::npos) stmt.bind_blob(2, value);
    if (stmt.step() != SQLITE_DONE) return error(what);
    return {};
  }
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  auto db = std::make_unique<Db>();
  db->path = path;
  if (sqlite3_open_v2(path.c_str(), &db->handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    return db->error("cannot open");
  }
  sqlite3_busy_timeout(db->handle, 5000);
  char* message = nullptr;
  if (sqlite3_exec(db->handle, kSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return fail(errc::io_error, fmt::format("store '{}': cannot create tables: {}", path, text));
  }
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
}

SqliteStore::SqliteStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
SqliteStore::~SqliteStore() = default;

Result<void> SqliteStore::put(std::string_view key, std::string_view value) {
  return db_->exec(
      "INSERT INTO kv(key, value) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key, value, fmt::format("cannot write '{}'", key));
}

Result<std::optional<std::string>> SqliteStore::get(std::string_view key) {
  Statement stmt(db_->handle, "SELECT value FROM kv WHERE key = ?1");
  stmt.bind_text(1, key);
  const int rc = stmt.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(stmt.column(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return db_->error(fmt::format("cannot read '{}'", key));
}

Result<void> SqliteStore::erase(std::string_view key) {
  return db_->exec("DELETE FROM kv WHERE key = ?1", key, {}, fmt::format("cannot erase '{}'", key));
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::scan(
    std::string_view prefix) {
  // Range scan on the primary key: prefix <= key < prefix + 0xff.
  Statement stmt(db_->handle,
                 "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key");
  stmt.bind_text(1, prefix).bind_text(2, std::string(prefix) + "\xff");
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW)
    out.emplace_back(stmt.column(0), stmt.column(1));
  if (rc != SQLITE_DONE) return db_->error("cannot scan");
  return out;
}

Result<std::optional<std::string>> SqliteStore::framework_id() {
  return get(kFrameworkIdKey);
}

Result<void> SqliteStore::set_framework_id(std::string_view id) {
  return put(kFrameworkIdKey, id);
}

Result<void> SqliteStore::save_task(const tasks::TaskSpec& spec, const tasks::TaskRecord& record) {
  // Partial: a spec missing a proto2-required field (a Label without key...) is still saved
  // rather than aborting the process; Mesos judges the TaskInfo when it is launched.
  const std::string bytes = to_stored(spec, record).SerializePartialAsString();
  return db_->exec(
      "INSERT INTO tasks(name, record) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET record = excluded.record",
      spec.name, bytes, fmt::format("cannot save task '{}'", spec.name));
}

Result<void> SqliteStore::remove_task(const std::string& name) {
  return db_->exec("DELETE FROM tasks WHERE name = ?1", name, {},
                   fmt::format("cannot remove task '{}'", name));
}

Result<std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>>> SqliteStore::load_tasks() {
  Statement stmt(db_->handle, "SELECT name, record FROM tasks ORDER BY name");
  std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>> out;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    StoredTask stored;
    const std::string bytes = stmt.column(1);
    if (!stored.ParsePartialFromString(bytes)) {
      return fail(errc::io_error, fmt::format("store '{}': task '{}' has a corrupt record",
                                              db_->path, stmt.column(0)));
    }
    out.push_back(from_stored(stored));
  }
  if (rc != SQLITE_DONE) return db_->error("cannot load tasks");
  return out;
}

}  // namespace heatblast::store
