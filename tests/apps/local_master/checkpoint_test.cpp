// The SQLite checkpoint: what is written is what is loaded.
#include <catch2/catch.hpp>

#include "checkpoint.hpp"
#include "support/temp_dir.hpp"

using namespace heatblast::local_master;
using heatblast::testing::TempDir;

TEST_CASE("Checkpoint round trip: meta, frameworks, tasks with pending updates") {
  const TempDir temp("local-master-checkpoint");
  const std::string dir = temp.str();
  const TimePoint deadline = from_epoch_nanoseconds(1'700'000'000'123'456'789);
  {
    auto checkpoint = Checkpoint::open(dir + "/work");
    REQUIRE(checkpoint);
    auto& db = **checkpoint;
    REQUIRE(db.transaction([&]() -> heatblast::Result<void> {
      REQUIRE(db.put_meta("agent.0", "abc-S0"));
      FrameworkRecord framework;
      framework.info.set_user("u");
      framework.info.set_name("n");
      framework.info.mutable_id()->set_value("f1");
      framework.failover_deadline = deadline;
      framework.suppressed_roles = {"a", "b"};
      REQUIRE(db.put_framework(framework));
      FrameworkRecord removed;
      removed.info = framework.info;
      removed.info.mutable_id()->set_value("f0");
      removed.removed = true;
      REQUIRE(db.put_framework(removed));

      TaskRecord task;
      task.framework_id = "f1";
      task.info.set_name("t");
      task.info.mutable_task_id()->set_value("t1");
      task.info.mutable_agent_id()->set_value("abc-S0");
      task.executor_id.set_value("t1");
      task.container_id = "c1";
      task.sandbox = "/sandbox";
      task.latest.mutable_task_id()->set_value("t1");
      task.latest.set_state(mesos::v1::TASK_RUNNING);
      for (auto state : {mesos::v1::TASK_STARTING, mesos::v1::TASK_RUNNING}) {
        mesos::v1::TaskStatus status;
        status.mutable_task_id()->set_value("t1");
        status.set_state(state);
        status.set_uuid(std::string(16, static_cast<char>(state)));
        task.pending.push_back(status);
      }
      task.pid = 1234;
      task.pgid = 1234;
      task.killed = true;
      REQUIRE(db.put_task(task));
      task.info.mutable_task_id()->set_value("t2");
      REQUIRE(db.put_task(task));
      return {};
    }));
    REQUIRE(db.transaction([&] { return db.erase_task("f1", "t2"); }));
  }
  auto checkpoint = Checkpoint::open(dir + "/work");
  REQUIRE(checkpoint);
  auto state = (*checkpoint)->load();
  REQUIRE(state);
  CHECK(state->meta.at("agent.0") == "abc-S0");
  REQUIRE(state->frameworks.size() == 2);
  const auto& f1 =
      state->frameworks[0].info.id().value() == "f1" ? state->frameworks[0] : state->frameworks[1];
  CHECK(f1.failover_deadline == deadline);
  CHECK(f1.suppressed_roles == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(f1.removed);
  REQUIRE(state->tasks.size() == 1);
  const auto& task = state->tasks[0];
  CHECK(task.info.task_id().value() == "t1");
  CHECK(task.latest.state() == mesos::v1::TASK_RUNNING);
  REQUIRE(task.pending.size() == 2);
  CHECK(task.pending[1].state() == mesos::v1::TASK_RUNNING);
  CHECK(task.pending[1].uuid().size() == 16);
  CHECK(task.pid == 1234);
  CHECK(task.killed);
  CHECK_FALSE(task.ended);
  CHECK_FALSE(task.group_executor);
}

TEST_CASE("Checkpoint::transaction stores all of its writes or none") {
  const TempDir temp("local-master-checkpoint");
  const std::string dir = temp.str();
  auto checkpoint = Checkpoint::open(dir + "/work");
  REQUIRE(checkpoint);
  auto& db = **checkpoint;
  REQUIRE(db.transaction([&] { return db.put_meta("kept", "1"); }));

  auto failed = db.transaction([&]() -> heatblast::Result<void> {
    auto put = db.put_meta("dropped", "1");
    if (!put) return put;
    return heatblast::fail(heatblast::errc::io_error, "a later write failed");
  });
  REQUIRE_FALSE(failed);
  CHECK(failed.error().message == "a later write failed");

  // The failed transaction left nothing open: the next one begins and commits.
  REQUIRE(db.transaction([&] { return db.put_meta("after", "1"); }));
  auto state = db.load();
  REQUIRE(state);
  CHECK(state->meta.contains("kept"));
  CHECK(state->meta.contains("after"));
  CHECK_FALSE(state->meta.contains("dropped"));
}

TEST_CASE("Checkpoint::open reports a work dir it cannot create") {
  auto checkpoint = Checkpoint::open("/proc/no-such-dir/work");
  REQUIRE_FALSE(checkpoint);
  CHECK(checkpoint.error().code == heatblast::errc::io_error);
}
