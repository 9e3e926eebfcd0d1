// The scheduler client against the local-master program: killed with SIGKILL while a task runs,
// started again on the same port and work dir, the framework resumes and the task is still
// running.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "support/ports.hpp"
#include "support/process_groups.hpp"
#include "support/program.hpp"
#include "support/temp_dir.hpp"
#include "support/test_framework.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::scheduler::Call;
using heatblast::scheduler::State;
using heatblast::testing::GroupGuard;
using heatblast::testing::Program;
using heatblast::testing::TempDir;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;
using mesos::v1::TaskStatus;

namespace {

// The local-master program's command line: on `port`, checkpointing to `work_dir`.
std::vector<std::string> local_master(const std::string& work_dir, std::uint16_t port) {
  return {HEATBLAST_LOCAL_MASTER_PATH,
          "--listen",
          fmt::format("127.0.0.1:{}", port),
          "--work-dir",
          work_dir,
          "--heartbeat-interval",
          "0.2",
          "--allocation-interval",
          "0.1",
          "--resources",
          "cpus:2;mem:1024;disk:1024;ports:[31000-31099]",
          "--hostname",
          "localhost"};
}

}  // namespace

TEST_CASE("restart: local-master killed and restarted on its work dir, the task still runs",
          "[integration]") {
  const auto type = GENERATE(ContentType::protobuf, ContentType::json);
  CAPTURE(heatblast::to_string(type));
  TempDir dir("heatblast-restart");
  GroupGuard task_group;
  const std::uint16_t port = heatblast::testing::free_port();
  Program master(local_master(dir / "work", port), {.output = dir / "local-master.log"});

  boost::asio::io_context io;
  TestFramework fw(io, {fmt::format("127.0.0.1:{}", port)}, type);
  auto context = [&] { return fw.history() + "\n" + master.context(); };
  fw.start();
  wait_for(
      io, "the client to subscribe at the local-master program", [&] { return fw.subscribed(); },
      10s, context);
  const std::string id = fw.framework_ids().front();

  const auto offer = fw.take_offer();
  fw.launch(offer, {fw.command_task("sleeper", "sleep 30", offer)});
  wait_for(
      io, "'sleeper' to run", [&] { return fw.saw_state("sleeper", mesos::v1::TASK_RUNNING); }, 5s,
      context);
  TaskStatus running;
  for (const auto& status : fw.updates("sleeper")) {
    if (status.state() == mesos::v1::TASK_RUNNING) running = status;
  }
  // The supervisor leads the task's process group (local-master's ProcessRunner).
  task_group.pgid = static_cast<int>(running.container_status().executor_pid());
  REQUIRE(task_group.pgid > 1);
  REQUIRE(::kill(-task_group.pgid, 0) == 0);
  Call::Reconcile::Task known;
  *known.mutable_task_id() = running.task_id();
  *known.mutable_agent_id() = running.agent_id();
  fw.known_tasks = {known};

  const std::size_t from = fw.events().size();
  master.kill();  // the master dies at once, its tasks live on
  wait_for(
      io, "the client to notice the master is gone",
      [&] { return fw.client().state() != State::subscribed; }, 5s, context);
  CHECK(::kill(-task_group.pgid, 0) == 0);  // the task outlives its master

  master.start();
  fw.wait_subscriptions(2, 10s);
  INFO(context());
  CHECK(fw.framework_ids() == std::vector<std::string>{id, id});
  wait_for(
      io, "a reconciliation answer for 'sleeper' from the restarted master",
      [&] {
        for (const auto& status : fw.updates("sleeper", from)) {
          if (status.reason() == TaskStatus::REASON_RECONCILIATION) return true;
        }
        return false;
      },
      5s, context);
  for (const auto& status : fw.updates("sleeper", from)) {
    if (status.reason() == TaskStatus::REASON_RECONCILIATION) {
      CHECK(status.state() == mesos::v1::TASK_RUNNING);
    }
  }
  CHECK(::kill(-task_group.pgid, 0) == 0);

  // Clean up through the API: the restarted master kills the task it adopted. Its supervisor
  // is no child of the new master, which learns of its end by polling (every 250 ms) and must
  // not wait for PID 1 to reap the zombie (seconds in some containers): 1.5 s is plenty.
  fw.client().kill(running.task_id(), running.agent_id());
  wait_for(
      io, "'sleeper' to be killed by the restarted master",
      [&] { return fw.saw_state("sleeper", mesos::v1::TASK_KILLED, from); }, 1500ms, context);
  heatblast::testing::wait_group_gone(io, task_group.pgid);
}
