// heatblast::store::SqliteStore: durable state for schedulers in one SQLite file: the framework
// id, the TaskManager's tasks, and a small key-value table for the programs' own records.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "heatblast/error.hpp"
#include "heatblast/tasks.hpp"

namespace heatblast::store {

// What a scheduler keeps durably: its framework id, its tasks, and its own records by key. Two
// kinds: SqliteStore (one instance, one file) and ZooKeeperStore (heatblast/zookeeper_store.hpp:
// several instances sharing their state for high availability). Every write is durable when it
// returns.
class StateStore : public tasks::TaskStore {
 public:
  virtual Result<std::optional<std::string>> framework_id() = 0;
  virtual Result<void> set_framework_id(std::string_view id) = 0;

  virtual Result<void> put(std::string_view key, std::string_view value) = 0;
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  virtual Result<void> erase(std::string_view key) = 0;
  // Keys starting with `prefix`, with their values, in key order.
  virtual Result<std::vector<std::pair<std::string, std::string>>> scan(
      std::string_view prefix) = 0;
};

// Every write is its own transaction, committed before the call returns (the framework id must
// be on disk before the scheduler acts on it); write_tasks() makes a batch one transaction. Errors
// are errc::io_error with SQLite's text. Not thread-safe: one thread (the scheduler's executor)
// uses it.
class SqliteStore final : public StateStore {
 public:
  // Opens or creates the database at `path` (":memory:" for tests) and its tables.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);
  ~SqliteStore() override;

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // StateStore
  Result<std::optional<std::string>> framework_id() override;
  Result<void> set_framework_id(std::string_view id) override;
  Result<void> put(std::string_view key, std::string_view value) override;
  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<void> erase(std::string_view key) override;
  Result<std::vector<std::pair<std::string, std::string>>> scan(std::string_view prefix) override;

  // tasks::TaskStore
  Result<void> save_task(const tasks::TaskSpec& spec, const tasks::TaskRecord& record) override;
  Result<void> remove_task(const std::string& name) override;
  Result<std::vector<std::pair<tasks::TaskSpec, tasks::TaskRecord>>> load_tasks() override;
  // One transaction for all of them: every write is stored, or none.
  Result<void> write_tasks(const std::vector<Write>& writes) override;
  bool names_from_writes() const override { return true; }

 private:
  struct Db;
  explicit SqliteStore(std::unique_ptr<Db> db);
  std::unique_ptr<Db> db_;
};

}  // namespace heatblast::store
