// SamzaScheduler: Heatblast on heatblast. One Mesos framework runs every Samza job: a REST API
// takes jobs, a short-lived job-info task per job computes its container layout and posts it
// back, then one Mesos task per Samza container runs, relaunched with backoff when it ends.
// Jobs, models and tasks live in the --state SQLite file, so a restarted scheduler (kill -9
// included) resubscribes as the same framework and adopts its running containers. With --zk,
// instances elect a leader in ZooKeeper and keep that state there: only the leader subscribes,
// a standby forwards the API to it, and the next leader adopts the containers the same way.
//
// A job's life (JobState):
//   SUBMITTED -> COMPUTING_MODEL   the job-info task is wanted
//   COMPUTING_MODEL -> STARTING    its model arrived; the containers are wanted
//   STARTING -> RUNNING            every container is TASK_RUNNING
//   RUNNING -> DEGRADED            a container ended on its own (the reason says how);
//                                  back to RUNNING once all run again
//   any -> FAILED                  the job-info task ended or timed out without a model, or a
//                                  container used up its restarts
//   any -> KILLING                 DELETE: every task is killed, then the job is forgotten
// PUT and POST .../restart bump the job's generation: containers of an older generation are
// replaced one at a time, each only once the one before runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "flags.hpp"
#include "heatblast/error.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/tasks.hpp"
#include "logger.hpp"
#include "views.hpp"

namespace heatblast::samza {

// Ways in for tests and for main.
struct Hooks {
  std::function<void(scheduler::Options&)> client_options;
  std::function<void(tasks::ManagerOptions&)> manager_options;
  // Called (posted) when the scheduler gave up for good (the master refused it), with an exit
  // status for main.
  std::function<void(int status)> on_exit;
};

// Runs on `executor`; call every member there. `logger` must outlive the scheduler. Nothing
// runs after stop() returned.
class SamzaScheduler {
 public:
  // No I/O: start() opens the state file, binds the API and connects.
  SamzaScheduler(boost::asio::any_io_executor executor, Flags flags, Logger& logger,
                 Hooks hooks = {});
  // stop(): no TEARDOWN; the framework and its tasks stay for the failover timeout.
  ~SamzaScheduler();

  SamzaScheduler(const SamzaScheduler&) = delete;
  SamzaScheduler& operator=(const SamzaScheduler&) = delete;

  // Errors: the state file's (errc::io_error; errc::invalid_argument when another
  // samza-scheduler holds it), the token or secret file's, the API's (errc::address_in_use),
  // the client's.
  Result<void> start();
  // Closes the API and the client (no TEARDOWN). Idempotent.
  void stop();

  // The API's bound port (0 before start()), and the host:port tasks are told.
  std::uint16_t port() const;
  std::string advertised() const;
  // Null before start().
  const tasks::TaskManager* task_manager() const;
  const scheduler::Client* client() const;
  // What GET /jobs/{name} shows, without HTTP (for tests); nullopt for an unknown job.
  std::optional<JobView> job(const std::string& name) const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace heatblast::samza
