#include "checkpoint.hpp"

#include <cstdint>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

namespace heatblast::local_master {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frameworks (
  id TEXT PRIMARY KEY,
  info BLOB NOT NULL,
  removed INTEGER NOT NULL,
  failover_deadline_ns INTEGER,
  suppressed_roles BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
  framework_id TEXT NOT NULL,
  task_id TEXT NOT NULL,
  info BLOB NOT NULL,
  group_executor BLOB,
  executor_id TEXT NOT NULL,
  container_id TEXT NOT NULL,
  sandbox TEXT NOT NULL,
  latest BLOB NOT NULL,
  pending BLOB NOT NULL,
  pid INTEGER,
  pgid INTEGER,
  killed INTEGER NOT NULL,
  ended INTEGER NOT NULL,
  PRIMARY KEY (framework_id, task_id));
)sql";

// A list of byte strings as one blob: each entry as a 4-byte little-endian length, then bytes.
std::string pack(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& entry : entries) {
    const auto size = static_cast<std::uint32_t>(entry.size());
    for (int shift = 0; shift < 32; shift += 8)
      out.push_back(static_cast<char>(size >> shift));
    out += entry;
  }
  return out;
}

std::optional<std::vector<std::string>> unpack(const std::string& blob) {
  std::vector<std::string> entries;
  std::size_t at = 0;
  while (at < blob.size()) {
    if (blob.size() - at < 4) return std::nullopt;
    std::uint32_t size = 0;
    for (int i = 0; i < 4; ++i) {
      size |= static_cast<std::uint32_t>(static_cast<unsigned char>(blob[at + i])) << (8 * i);
    }
    at += 4;
    if (blob.size() - at < size) return std::nullopt;
    entries.push_back(blob.substr(at, size));
    at += size;
  }
  return entries;
}

template <class Message>
Result<Message> parse(const std::string& bytes, std::string_view what) {
  Message message;
  if (!message.ParseFromString(bytes)) {
    return fail(errc::protobuf_parse, fmt::format("corrupt {} in the checkpoint", what));
  }
  return message;
}

}  // namespace

Result<std::unique_ptr<Checkpoint>> Checkpoint::open(const std::string& work_dir) {
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    return fail(errc::io_error,
                fmt::format("cannot create work dir '{}': {}", work_dir, ec.message()));
  }
  // A commit survives a crash of local-master; the master batches the writes of one entry
  // point into one transaction, so the cheaper synchronous=NORMAL is enough.
  store::SqliteDb::Options options;
  options.durability = store::Durability::normal;
  options.label = "checkpoint";
  auto db = store::SqliteDb::open(work_dir + "/local-master.db", options, kSchema);
  if (!db) return tl::unexpected(db.error());
  return std::unique_ptr<Checkpoint>(new Checkpoint(std::move(*db)));
}

Checkpoint::Checkpoint(std::unique_ptr<store::SqliteDb> db) : db_(std::move(db)) {}
Checkpoint::~Checkpoint() = default;

const std::string& Checkpoint::path() const {
  return db_->path();
}

Result<void> Checkpoint::transaction(const std::function<Result<void>()>& writes) {
  return db_->transaction(writes);
}

Result<void> Checkpoint::put_meta(const std::string& key, const std::string& value) {
  auto stmt = db_->prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2);");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind_text(1, key).bind_text(2, value);
  return stmt->run("write meta");
}

Result<void> Checkpoint::put_framework(const FrameworkRecord& record) {
  auto prepared = db_->prepare(
      "INSERT OR REPLACE INTO frameworks (id, info, removed, failover_deadline_ns, "
      "suppressed_roles) VALUES (?1, ?2, ?3, ?4, ?5);");
  if (!prepared) return tl::unexpected(prepared.error());
  auto& stmt = *prepared;
  stmt.bind_text(1, record.info.id().value());
  stmt.bind_blob(2, record.info.SerializeAsString());
  stmt.bind_int(3, record.removed ? 1 : 0);
  if (record.failover_deadline) {
    stmt.bind_int(4, to_epoch_nanoseconds(*record.failover_deadline));
  } else {
    stmt.bind_null(4);
  }
  stmt.bind_blob(5, pack(record.suppressed_roles));
  return stmt.run("write framework");
}

Result<void> Checkpoint::put_task(const TaskRecord& record) {
  auto prepared = db_->prepare(
      "INSERT OR REPLACE INTO tasks (framework_id, task_id, info, group_executor, "
      "executor_id, container_id, sandbox, latest, pending, pid, pgid, killed, ended) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13);");
  if (!prepared) return tl::unexpected(prepared.error());
  auto& stmt = *prepared;
  stmt.bind_text(1, record.framework_id);
  stmt.bind_text(2, record.info.task_id().value());
  stmt.bind_blob(3, record.info.SerializeAsString());
  if (record.group_executor) {
    stmt.bind_blob(4, record.group_executor->SerializeAsString());
  } else {
    stmt.bind_null(4);
  }
  stmt.bind_text(5, record.executor_id.value());
  stmt.bind_text(6, record.container_id);
  stmt.bind_text(7, record.sandbox);
  stmt.bind_blob(8, record.latest.SerializeAsString());
  std::vector<std::string> pending;
  for (const auto& status : record.pending)
    pending.push_back(status.SerializeAsString());
  stmt.bind_blob(9, pack(pending));
  stmt.bind_optional(10, record.pid);
  stmt.bind_optional(11, record.pgid);
  stmt.bind_int(12, record.killed ? 1 : 0);
  stmt.bind_int(13, record.ended ? 1 : 0);
  return stmt.run("write task");
}

Result<void> Checkpoint::erase_task(const std::string& framework_id, const std::string& task_id) {
  auto stmt = db_->prepare("DELETE FROM tasks WHERE framework_id = ?1 AND task_id = ?2;");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind_text(1, framework_id).bind_text(2, task_id);
  return stmt->run("delete task");
}

Result<RecoveredState> Checkpoint::load() {
  RecoveredState state;
  {
    auto prepared = db_->prepare("SELECT key, value FROM meta;");
    if (!prepared) return tl::unexpected(prepared.error());
    auto& stmt = *prepared;
    int rc;
    while ((rc = stmt.step()) == store::SqliteStatement::kRow) {
      state.meta[stmt.column_bytes(0)] = stmt.column_bytes(1);
    }
    if (rc != store::SqliteStatement::kDone) return tl::unexpected(db_->error("read meta"));
  }
  {
    auto prepared = db_->prepare(
        "SELECT info, removed, failover_deadline_ns, suppressed_roles FROM frameworks "
        "ORDER BY rowid;");
    if (!prepared) return tl::unexpected(prepared.error());
    auto& stmt = *prepared;
    int rc;
    while ((rc = stmt.step()) == store::SqliteStatement::kRow) {
      FrameworkRecord record;
      auto info = parse<mesos::v1::FrameworkInfo>(stmt.column_bytes(0), "FrameworkInfo");
      if (!info) return tl::unexpected(info.error());
      record.info = std::move(*info);
      record.removed = stmt.column_int(1) != 0;
      if (!stmt.column_null(2))
        record.failover_deadline = from_epoch_nanoseconds(stmt.column_int(2));
      auto roles = unpack(stmt.column_bytes(3));
      if (!roles) return fail(errc::protobuf_parse, "corrupt suppressed roles in the checkpoint");
      record.suppressed_roles = std::move(*roles);
      state.frameworks.push_back(std::move(record));
    }
    if (rc != store::SqliteStatement::kDone) return tl::unexpected(db_->error("read frameworks"));
  }
  {
    auto prepared = db_->prepare(
        "SELECT framework_id, info, group_executor, executor_id, container_id, "
        "sandbox, latest, pending, pid, pgid, killed, ended FROM tasks ORDER BY rowid;");
    if (!prepared) return tl::unexpected(prepared.error());
    auto& stmt = *prepared;
    int rc;
    while ((rc = stmt.step()) == store::SqliteStatement::kRow) {
      TaskRecord record;
      record.framework_id = stmt.column_bytes(0);
      auto info = parse<mesos::v1::TaskInfo>(stmt.column_bytes(1), "TaskInfo");
      if (!info) return tl::unexpected(info.error());
      record.info = std::move(*info);
      if (!stmt.column_null(2)) {
        auto executor = parse<mesos::v1::ExecutorInfo>(stmt.column_bytes(2), "ExecutorInfo");
        if (!executor) return tl::unexpected(executor.error());
        record.group_executor = std::move(*executor);
      }
      record.executor_id.set_value(stmt.column_bytes(3));
      record.container_id = stmt.column_bytes(4);
      record.sandbox = stmt.column_bytes(5);
      auto latest = parse<mesos::v1::TaskStatus>(stmt.column_bytes(6), "TaskStatus");
      if (!latest) return tl::unexpected(latest.error());
      record.latest = std::move(*latest);
      auto pending = unpack(stmt.column_bytes(7));
      if (!pending) return fail(errc::protobuf_parse, "corrupt pending updates in the checkpoint");
      for (const auto& bytes : *pending) {
        auto status = parse<mesos::v1::TaskStatus>(bytes, "TaskStatus");
        if (!status) return tl::unexpected(status.error());
        record.pending.push_back(std::move(*status));
      }
      if (!stmt.column_null(8)) record.pid = static_cast<int>(stmt.column_int(8));
      if (!stmt.column_null(9)) record.pgid = static_cast<int>(stmt.column_int(9));
      record.killed = stmt.column_int(10) != 0;
      record.ended = stmt.column_int(11) != 0;
      state.tasks.push_back(std::move(record));
    }
    if (rc != store::SqliteStatement::kDone) return tl::unexpected(db_->error("read tasks"));
  }
  return state;
}

}  // namespace heatblast::local_master
