// The interface between the master and whatever runs its tasks: real child processes
// (ProcessRunner) or scripted lifecycles (SimulatedRunner). The master plays the agent and the
// command executor; a runner only starts, signals and watches one "container" per task.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mesos/v1/mesos.pb.h>

#include "time.hpp"

namespace heatblast::local_master {

// Everything a runner needs to start one task. The master owns the task; the runner knows it
// only by `container_id` (unique per launch, also across master restarts).
struct LaunchSpec {
  std::string container_id;
  mesos::v1::FrameworkID framework_id;
  mesos::v1::AgentID agent_id;
  mesos::v1::ExecutorID executor_id;
  // The task as accepted; its `command` (and `container`, for DOCKER) say what to run.
  mesos::v1::TaskInfo task;
  // Absolute path of the task's sandbox; the runner creates it (with `stdout` and `stderr`).
  std::string sandbox;
};

// How a task's process ended.
struct Termination {
  enum class Kind {
    exited,    // `code` is the exit status
    signaled,  // `code` is the signal number
    unknown,   // the exit status could not be learned (e.g. the process ended while no master
               // was watching it and left no record)
  };
  Kind kind = Kind::unknown;
  int code = 0;

  static Termination exited(int status) { return {Kind::exited, status}; }
  static Termination signaled(int signal) { return {Kind::signaled, signal}; }
  static Termination unknown() { return {Kind::unknown, 0}; }
};

// What a runner reports back, through `TaskRunner::poll`.
struct RunnerEvent {
  enum class Kind {
    running,        // the command started; `pid`/`pgid` are set for real processes
    launch_failed,  // the command could not be started; `message` says why
    fetch_failed,   // a CommandInfo.uris could not be fetched (the command never ran); `message`
                    // names the URI and says why
    exited,         // the command ended; `termination` says how
  };
  Kind kind = Kind::running;
  std::string container_id;
  std::optional<int> pid;
  std::optional<int> pgid;
  Termination termination;
  std::string message;
};

// The two steps of the command executor's kill: SIGTERM, then SIGKILL when the kill policy's
// grace period has passed (the master decides when).
enum class TaskSignal { terminate, kill };

// A task recorded by an earlier master process, to be watched again after a restart. `pid`
// and `pgid` are 0 when no process id was recorded (the runner then reports the task gone).
struct Adoption {
  std::string container_id;
  std::string sandbox;
  int pid = 0;
  int pgid = 0;
};

// Runs tasks. One thread: every method is called from the master's (single) thread, and no
// method calls back into the master. Runners are polled, never pushing: the master calls
// `poll()` from `Master::advance()`.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;

  // Whether tasks with a DOCKER ContainerInfo can be run here.
  virtual bool docker_available() const = 0;

  // Starts a task. Never fails directly: the outcome (running, or launch_failed) is reported by
  // a later `poll()`, possibly the very next one.
  virtual void launch(const LaunchSpec& spec, TimePoint now) = 0;

  // Signals a task's process group. Unknown or already ended containers are ignored.
  virtual void signal(std::string_view container_id, TaskSignal signal, TimePoint now) = 0;

  // Watches a task started by an earlier master. When its process is gone (or is not the one
  // recorded: another process group), a later `poll()` reports `exited`, with the exit status
  // when the runner can still learn it.
  virtual void adopt(const Adoption& adoption, TimePoint now) = 0;

  // Everything that happened up to `now`, in order. Each event is reported once.
  virtual std::vector<RunnerEvent> poll(TimePoint now) = 0;

  // When `poll()` has something to report without outside cause (a scripted event, a queued
  // event); nullopt when only an outside cause (a process exiting) can produce one. Real
  // processes must therefore also be polled on SIGCHLD or on a periodic timer.
  virtual std::optional<TimePoint> next_deadline() const = 0;
};

}  // namespace heatblast::local_master
