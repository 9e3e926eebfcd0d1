// ProcessRunner: runs each task as real child processes of local-master, the way the Mesos
// command executor runs a command task, with no thread and no signal handler of its own.
//
// Per task, in the task's own session and process group (setsid), so that the task survives a
// restart of local-master and can be killed as a group:
//
//   local-master ── supervisor (the group leader; ignores SIGTERM/SIGINT/SIGHUP): the program
//                    │ local-master-supervisor (posix_spawn), or a fork of local-master
//                    │ when that program is missing (supervisor.hpp)
//                    └── the command: `/bin/sh -c <value>` (CommandInfo.shell, the default) or
//                        <value> with <arguments> (shell=false, found on PATH), or
//                        `docker run ...` for a DOCKER ContainerInfo
//
// The supervisor only waits for the command and writes its raw wait status to
// `<meta_dir>/<container_id>/status` before exiting, so that a later local-master that adopts
// the task after a restart still learns how it ended. stdin is /dev/null; stdout and stderr go
// to the files `stdout` and `stderr` in the sandbox, which is also the working directory.
//
// The environment is local-master's own, plus the variables Mesos sets for a command task
// (MESOS_SANDBOX, MESOS_DIRECTORY, MESOS_TASK_ID, MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID,
// MESOS_AGENT_ID, MESOS_SLAVE_ID, MESOS_CONTAINER_ID), plus CommandInfo.environment (VALUE
// variables; those win over the rest).
//
// A task with CommandInfo.uris is fetched first (fetcher.hpp) on a thread of its own, so that
// a slow download never holds up the master's thread; its process starts in the first `poll()`
// (or `reap()`) after the fetch ended, and a failed fetch is reported as `fetch_failed`. The
// runner calls the `wake` callback (from the fetch thread) when a fetch has ended, so that the
// wiring can poll at once instead of on its next timer.
//
// A launch does not wait for the command's exec: the supervisor reports an exec failure on a
// pipe, whose end of file says the command was executed. `reap()` reads the pipes that are still
// pending (non-blocking) and queues `running` or `launch_failed`; with an executor
// (`set_executor`) the runner also waits for them there and calls `wake` when one answers, so
// that a launch costs the master's thread only the fork, never the child's way to exec.
//
// Exit statuses are collected by `reap()` with waitpid(WNOHANG); `poll()` calls it. The wiring
// should run `Master::advance()` on SIGCHLD and on a periodic timer (adopted processes are not
// our children: they are checked with kill(pid, 0) on every poll).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "fetcher.hpp"
#include "heatblast/error.hpp"
#include "task_runner.hpp"

namespace heatblast::local_master {

struct ProcessRunnerOptions {
  // Directory for the runner's per-container records (the supervisor's status file). Created
  // on demand; a relative path is made absolute (against the working directory) at
  // construction. Must be on the same file system across restarts for adoption to learn statuses.
  std::string meta_dir;
  // The docker CLI: a name looked up on PATH, or a path. Empty: docker is unavailable.
  std::string docker = "docker";
  // The supervisor program (local-master-supervisor), spawned for each task. Empty: the one
  // next to the running program. When that is no executable file, each task's supervisor is a
  // fork of local-master instead (the same behaviour, but each launch then copies the
  // master's page tables and leaves it copy-on-write faults: several times the CPU).
  std::string supervisor;
  // Limits and the frameworks home of the fetcher (CommandInfo.uris).
  FetcherOptions fetcher{};
};

// The command line that a task's LaunchSpec turns into, before any process exists: argv[0] is
// the path to execute (already looked up on PATH). Exposed for tests. Errors
// (errc::invalid_argument) for a command with no value, or a DOCKER container without image.
//
// With shell=false Mesos treats `value` as the file to execute and `arguments` as the whole
// argv, argv[0] included (execlp(value, arguments(0), arguments(1), ...)); with no arguments
// argv is just { value }.
struct CommandLine {
  std::string path;  // what execve() runs
  std::vector<std::string> argv;
  std::vector<std::string> environment;  // "NAME=value"
};
Result<CommandLine> build_command_line(const LaunchSpec& spec, const std::string& docker_path);

// Not thread-safe; the master's thread only, except `set_wake`. The destructor leaves running
// tasks alone (they outlive local-master on purpose); call `signal()` first to stop them. It
// cancels the fetches still going and waits for their threads (a download stops within a
// second; an archive being unpacked is finished first).
class ProcessRunner final : public TaskRunner {
 public:
  explicit ProcessRunner(ProcessRunnerOptions options);
  ~ProcessRunner() override;
  ProcessRunner(const ProcessRunner&) = delete;
  ProcessRunner& operator=(const ProcessRunner&) = delete;

  // Called from a fetch thread each time a fetch ends; it must be thread-safe and must not call
  // into the runner (post to the master's executor instead). Empty (the default, or set so before
  // the callee goes away): nothing is called. Safe to call at any time from any thread.
  void set_wake(std::function<void()> wake);
  // The executor on which exec reports are awaited (then `wake` is called, on that executor).
  // Without one (the default, or nullopt) they are only read by `reap()`. Its context must
  // outlive the runner, or the executor be cleared (nullopt) while that context still exists.
  void set_executor(std::optional<boost::asio::any_io_executor> executor);

  // True when `options.docker` names an executable file (looked up on each call).
  bool docker_available() const override;
  // Starts the supervisor and returns; whether the command could be executed is reported by a
  // later `poll()` (the exec report pipe, see above). With CommandInfo.uris, starts their fetch
  // instead; the rest happens when the fetch has ended.
  void launch(const LaunchSpec& spec, TimePoint now) override;
  // kill(-pgid, SIGTERM or SIGKILL). A task still fetching has its fetch cancelled and is
  // reported `exited` (signaled with that signal) once the fetch thread has stopped. A task
  // whose exec report is pending is signalled once the command has been executed (before that
  // its process group may not exist yet): it is reported `running`, then `exited`.
  void signal(std::string_view container_id, TaskSignal signal, TimePoint now) override;
  void adopt(const Adoption& adoption, TimePoint now) override;
  // `reap()`, then everything queued.
  std::vector<RunnerEvent> poll(TimePoint now) override;
  // Now, when events are queued; otherwise nullopt (a process exit is an outside cause).
  std::optional<TimePoint> next_deadline() const override;

  // Reads the pending exec reports (`running` or `launch_failed`); collects ended supervisors
  // (waitpid WNOHANG) and gone adopted processes, and queues an `exited` event for each; starts
  // the tasks whose fetch ended well, queues `fetch_failed` for the others. Cheap; safe to call
  // often.
  void reap();

  // The supervisor program that is spawned; empty when supervisors are forks of local-master.
  const std::string& supervisor_program() const { return supervisor_; }

  // Processes being watched, launches whose exec report is pending, and tasks still being
  // fetched.
  std::size_t live_tasks() const { return processes_.size() + pending_.size() + fetches_.size(); }
  // signal() to every process being watched: local-master's shutdown without a work dir,
  // when nothing could adopt the tasks later.
  void signal_all(TaskSignal signal, TimePoint now);

 private:
  struct Watched {
    int pid = 0;
    int pgid = 0;
    bool adopted = false;  // not our child: polled with kill(pid, 0)
    std::string status_path;
  };

  struct ReportWatch;  // the executor's wait for one exec report (process_runner.cpp)

  // A forked supervisor whose exec report has not been read to its end yet.
  struct Pending {
    int pid = 0;
    int report_fd = -1;  // read end of the exec report pipe, non-blocking
    std::string status_path;
    std::string path;  // what is executed, for the failure message
    std::string sandbox;
    char report[8] = {};  // an ExecFailure (process_runner.cpp), as far as it has been read
    std::size_t received = 0;
    std::optional<TaskSignal> signal;  // asked for before the command ran
    std::unique_ptr<ReportWatch> watch;
    Pending();
    Pending(Pending&&) noexcept;
    ~Pending();
  };

  // One task whose URIs are being fetched. `done`, `result` under `mutex_`; `cancel` atomic;
  // the rest is the master thread's.
  struct Fetch {
    LaunchSpec spec;
    std::atomic<bool> cancel{false};
    std::optional<TaskSignal> signal;  // why it was cancelled
    bool done = false;
    Result<void> result;
    std::thread thread;
  };

  void start_process(const LaunchSpec& spec);
  // Reads what is there of each pending exec report; queues the outcome of those complete.
  void read_reports();
  void watch_report(const std::string& container_id, Pending& pending);
  void close_report(Pending& pending);
  void collect_fetches();
  std::string container_meta_dir(const std::string& container_id) const;
  Termination read_status_file(const std::string& path, std::optional<int> supervisor_status);
  void queue_launch_failed(const std::string& container_id, std::string message);
  // Creates the task's sandbox; when it cannot, queues launch_failed and returns false.
  bool make_sandbox(const LaunchSpec& spec);

  ProcessRunnerOptions options_;
  std::string supervisor_;
  std::unordered_map<std::string, Watched> processes_;
  std::unordered_map<std::string, Pending> pending_;
  std::optional<boost::asio::any_io_executor> executor_;
  // Expires with the runner: an exec report's wait that completes later does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::vector<RunnerEvent> queued_;
  std::optional<TimePoint> last_now_;
  std::unordered_map<std::string, std::unique_ptr<Fetch>> fetches_;
  mutable std::mutex mutex_;  // guards Fetch::done, Fetch::result, wake_
  std::function<void()> wake_;
};

}  // namespace heatblast::local_master
