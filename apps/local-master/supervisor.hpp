// The supervisor of one process task: it leads the task's session and process group, runs the
// command, waits for it and records its wait status (see process_runner.hpp). Shared by the
// local-master-supervisor program, which ProcessRunner spawns, and by the fork of local-master
// that the runner uses when that program is missing. Async-signal-safe calls only.
#pragma once

namespace heatblast::local_master {

// Everything the supervisor and the command need, prepared before fork() or spawn.
struct ChildPlan {
  const char* path = nullptr;   // what execve() runs
  char* const* argv = nullptr;  // null-terminated
  char* const* envp = nullptr;  // null-terminated
  const char* cwd = nullptr;    // the sandbox
  const char* status_path = nullptr;
  const char* status_tmp_path = nullptr;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;  // write end of the exec report pipe
  int max_fd = 1024;   // fds are closed up to this one when close_range() is unavailable
};

// What a failed child writes into the exec report pipe; end of file with nothing written means
// the command was executed.
struct ExecFailure {
  int stage = 0;  // 1: chdir, 2: fork, 3: execve
  int error = 0;
};

// Becomes the supervisor: setsid(), ignores SIGTERM/SIGINT/SIGHUP/SIGPIPE, changes into the
// sandbox, forks the command and waits for it, writes its raw wait status to `status_path`, and
// exits with the command's status (128 + signal when signalled). Never returns.
[[noreturn]] void run_supervisor(const ChildPlan& plan);

}  // namespace heatblast::local_master
