// The master's durable state in `<work_dir>/local-master.db` (SQLite): frameworks (FrameworkInfo,
// failover deadline, whether removed) and tasks (TaskInfo, latest status, unacknowledged
// updates, process ids). A Master started on the same work dir recovers them.
//
// Writes are batched by the Master into one transaction per entry point; the database runs
// in WAL mode with synchronous=NORMAL, so a committed batch survives a crash of local-master
// (not necessarily a power loss).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/error.hpp"
#include "heatblast/sqlite.hpp"
#include "time.hpp"

namespace heatblast::local_master {

struct FrameworkRecord {
  mesos::v1::FrameworkInfo info;  // `id` set
  bool removed = false;
  std::optional<TimePoint> failover_deadline;  // set while disconnected
  std::vector<std::string> suppressed_roles;
};

struct TaskRecord {
  std::string framework_id;
  mesos::v1::TaskInfo info;                               // `resources` as accounted (normalized)
  std::optional<mesos::v1::ExecutorInfo> group_executor;  // for LAUNCH_GROUP tasks
  mesos::v1::ExecutorID executor_id;
  std::string container_id;
  std::string sandbox;
  mesos::v1::TaskStatus latest;                // the latest status (its state is the task's)
  std::vector<mesos::v1::TaskStatus> pending;  // unacknowledged updates, oldest first
  std::optional<int> pid;
  std::optional<int> pgid;
  bool killed = false;
  bool ended = false;  // the process ended; its resources are free
};

struct RecoveredState {
  std::map<std::string, std::string> meta;
  std::vector<FrameworkRecord> frameworks;
  std::vector<TaskRecord> tasks;
};

// One open database, on the store layer's SqliteDb (heatblast/sqlite.hpp). Not thread-safe;
// the master's thread only.
class Checkpoint {
 public:
  // Creates `work_dir` and the database when missing. Errors: errc::io_error with SQLite's
  // message and the path.
  static Result<std::unique_ptr<Checkpoint>> open(const std::string& work_dir);
  ~Checkpoint();
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  const std::string& path() const;

  // Everything stored. Errors: errc::io_error, errc::protobuf_parse for a corrupt record.
  Result<RecoveredState> load();

  // Runs `writes` (calls of the put_* / erase_* below) as one transaction: all of them are
  // stored, or, when one of them or the commit fails, none (rolled back). The writers are only
  // valid inside `writes`. Errors: the first failure, errc::io_error with SQLite's message.
  Result<void> transaction(const std::function<Result<void>()>& writes);

  Result<void> put_meta(const std::string& key, const std::string& value);
  Result<void> put_framework(const FrameworkRecord& record);
  Result<void> put_task(const TaskRecord& record);
  Result<void> erase_task(const std::string& framework_id, const std::string& task_id);

 private:
  explicit Checkpoint(std::unique_ptr<store::SqliteDb> db);

  std::unique_ptr<store::SqliteDb> db_;
};

}  // namespace heatblast::local_master
