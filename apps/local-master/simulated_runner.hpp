// SimulatedRunner (`--simulate`): runs no processes. Each task follows a scripted lifecycle
// (start delay, run time, outcome), driven only by the times passed to it, so a test or a load
// run can exercise thousands of agents and tasks deterministically. CommandInfo.uris are
// ignored: nothing is fetched (there is no sandbox to fetch into and no command that would use
// the files), so a URI that would 404 does not fail a simulated task.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "heatblast/error.hpp"
#include "task_runner.hpp"

namespace heatblast::local_master {

// The script of one simulated task. The defaults come from SimulatedRunnerOptions; a task
// overrides them with labels on its TaskInfo (all optional):
//
//   sim.start_delay     seconds from launch to RUNNING (default 0)
//   sim.duration        seconds from RUNNING to the end, or "inf" to run until killed
//   sim.exit_code       exit status at the end (0: TASK_FINISHED, else TASK_FAILED)
//   sim.signal          end by this signal number instead of exiting
//   sim.launch_failure  fail the launch with this message (TASK_FAILED, no RUNNING)
//   sim.ignore_sigterm  "true": survive SIGTERM, so a kill needs the SIGKILL escalation
//   sim.term_delay      seconds a task that honours SIGTERM takes to end after it (default 0)
struct SimulatedScript {
  Duration start_delay{0};
  std::optional<Duration> duration = std::chrono::seconds(10);  // nullopt: until killed
  int exit_code = 0;
  std::optional<int> signal;
  std::optional<std::string> launch_failure;
  bool ignore_sigterm = false;
  Duration term_delay{0};
};

struct SimulatedRunnerOptions {
  // The script of a task without `sim.*` labels: RUNNING at once, FINISHED 10 s later.
  SimulatedScript defaults;
  // What `docker_available()` answers, so that tests can take either path.
  bool docker_available = false;
};

// Reads a script from `task`'s labels over `defaults`. Errors (errc::invalid_argument) name the
// label whose value is not a number / not a boolean.
Result<SimulatedScript> script_from_labels(const mesos::v1::TaskInfo& task,
                                           const SimulatedScript& defaults);

// Not thread-safe; the master's thread only. A bad label makes the launch fail with a message
// naming it.
class SimulatedRunner final : public TaskRunner {
 public:
  explicit SimulatedRunner(SimulatedRunnerOptions options = {});

  bool docker_available() const override { return options_.docker_available; }
  void launch(const LaunchSpec& spec, TimePoint now) override;
  void signal(std::string_view container_id, TaskSignal signal, TimePoint now) override;
  // Simulated tasks do not survive their master: every adoption reports an `exited` with an
  // unknown status.
  void adopt(const Adoption& adoption, TimePoint now) override;
  std::vector<RunnerEvent> poll(TimePoint now) override;
  std::optional<TimePoint> next_deadline() const override;

  // Tasks launched and not yet reported as ended.
  std::size_t live_tasks() const { return tasks_.size(); }
  // The signals a container received, in order (for tests of the kill escalation).
  const std::vector<TaskSignal>& signals_of(const std::string& container_id) const;

 private:
  struct SimTask {
    SimulatedScript script;
    bool running = false;
    bool ending = false;  // an end is scheduled because of a signal
  };
  enum class Step { run, end, fail_launch, end_unknown };
  struct Scheduled {
    std::string container_id;
    Step step;
    Termination termination;
    std::string message;
  };

  void schedule(TimePoint when, Scheduled what);

  SimulatedRunnerOptions options_;
  std::unordered_map<std::string, SimTask> tasks_;
  std::multimap<TimePoint, Scheduled> schedule_;
  std::unordered_map<std::string, std::vector<TaskSignal>> signals_;
};

}  // namespace heatblast::local_master
