#include <fmt/format.h>

#include "heatblast/sqlite.hpp"
#include "heatblast/store.hpp"
#include "store/task_codec.hpp"

namespace heatblast::store {
namespace {

constexpr std::string_view kSchema =
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tasks (name TEXT PRIMARY KEY, record BLOB NOT NULL);";

constexpr std::string_view kFrameworkIdKey = "heatblast/framework_id";

}  // namespace

// Keys are TEXT (readable with the sqlite3 shell); values are BLOBs (protobuf bytes).
struct SqliteStore::Db {
  std::unique_ptr<SqliteDb> sql;

  // One write of a key (?1) and, when the SQL has it, a value (?2).
  Result<void> write(std::string_view sql_text, std::string_view key, std::string_view value,
                     std::string_view what) {
    auto stmt = sql->prepare(sql_text);
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->bind_text(1, key);
    if (sql_text.find("?2") != std::string_view::npos) stmt->bind_blob(2, value);
    return stmt->run(what);
  }
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  SqliteDb::Options options;
  options.durability = Durability::full;
  options.label = "store";
  // Writes go to one row by its key (a root-to-leaf walk of a few pages) and records are read
  // once, at load: a small cache serves that. SQLite's 2,000 KiB default filled up with the
  // records of the first 10,000 tasks (about 170 bytes per task) for no gain in speed.
  options.cache_kib = 256;
  auto sql = SqliteDb::open(path, options, kSchema);
  if (!sql) return tl::unexpected(sql.error());
  auto db = std::make_unique<Db>();
  db->sql = std::move(*sql);
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(db)));
}

SqliteStore::SqliteStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
SqliteStore::~SqliteStore() = default;

Result<void> SqliteStore::put(std::string_view key, std::string_view value) {
  return db_->write(
      "INSERT INTO kv(key, value) VALUES(?1, ?2) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key, value, fmt::format("cannot write '{}'", key));
}

Result<std::optional<std::string>> SqliteStore::get(std::string_view key) {
  auto stmt = db_->sql->prepare("SELECT value FROM kv WHERE key = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind_text(1, key);
  const int rc = stmt->step();
  if (rc == SqliteStatement::kRow) return std::optional<std::string>(stmt->column_bytes(0));
  if (rc == SqliteStatement::kDone) return std::optional<std::string>();
  return tl::unexpected(db_->sql->error(fmt::format("cannot read '{}'", key)));
}

Result<void> SqliteStore::erase(std::string_view key) {
  return db_->write("DELETE FROM kv WHERE key = ?1", key, {},
                    fmt::format("cannot erase '{}'", key));
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::scan(
    std::string_view prefix) {
  // Range scan on the primary key: prefix <= key < prefix + 0xff.
  auto stmt =
      db_->sql->prepare("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind_text(1, prefix).bind_text(2, std::string(prefix) + "\xff");
  std::vector<std::pair<std::string, std::string>> out;
  int rc;
  while ((rc = stmt->step()) == SqliteStatement::kRow)
    out.emplace_back(stmt->column_bytes(0), stmt->column_bytes(1));
  if (rc != SqliteStatement::kDone) return tl::unexpected(db_->sql->error("cannot scan"));
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
  const std::string bytes = to_stored(spec.name, spec, record).SerializePartialAsString();
  return db_->write(
      "INSERT INTO tasks(name, record) VALUES(?1, ?2) "
      "ON CONFLICT(name) DO UPDATE SET record = excluded.record",
      spec.name, bytes, fmt::format("cannot save task '{}'", spec.name));
}

Result<void> SqliteStore::remove_task(const std::string& name) {
  return db_->write("DELETE FROM tasks WHERE name = ?1", name, {},
                    fmt::format("cannot remove task '{}'", name));
}

Result<void> SqliteStore::write_tasks(const std::vector<Write>& writes) {
  if (writes.empty()) return {};
  // One commit (one fsync of the WAL with Durability::full) for the batch instead of one each.
  return db_->sql->transaction([&]() -> Result<void> {
    std::string bytes;
    for (const auto& write : writes) {
      Result<void> written;
      if (write.spec) {
        bytes.clear();
        to_stored(write.name, *write.spec, *write.record).AppendPartialToString(&bytes);
        written = db_->write(
            "INSERT INTO tasks(name, record) VALUES(?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET record = excluded.record",
            write.name, bytes, "cannot save task");
      } else {
        written =
            db_->write("DELETE FROM tasks WHERE name = ?1", write.name, {}, "cannot remove task");
      }
      if (!written) {
        return tl::unexpected(Error(written.error().code, fmt::format("task '{}': {}", write.name,
                                                                      written.error().what())));
      }
    }
    return {};
  });
}

Result<std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>>> SqliteStore::load_tasks() {
  auto stmt = db_->sql->prepare("SELECT name, record FROM tasks ORDER BY name");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>> out;
  int rc;
  while ((rc = stmt->step()) == SqliteStatement::kRow) {
    StoredTask stored;
    const std::string bytes = stmt->column_bytes(1);
    if (!stored.ParsePartialFromString(bytes)) {
      return fail(errc::io_error, fmt::format("store '{}': task '{}' has a corrupt record",
                                              db_->sql->path(), stmt->column_bytes(0)));
    }
    out.push_back(from_stored(stored));
  }
  if (rc != SqliteStatement::kDone) return tl::unexpected(db_->sql->error("cannot load tasks"));
  return out;
}

}  // namespace heatblast::store
