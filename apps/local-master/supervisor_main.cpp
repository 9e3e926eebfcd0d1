// local-master-supervisor: the supervisor of one process task, spawned by local-master's
// ProcessRunner (posix_spawn, so that a launch never copies local-master's address space).
//
//   local-master-supervisor SANDBOX STATUS_PATH STATUS_TMP_PATH PATH ARGV0 [ARG...]
//
// stdin, stdout and stderr are the task's; fd 3 is the write end of the exec report pipe; the
// environment is the command's. Not meant to be run by hand.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "supervisor.hpp"

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 6) return 2;
  heatblast::local_master::ChildPlan plan;
  plan.cwd = argv[1];
  plan.status_path = argv[2];
  plan.status_tmp_path = argv[3];
  plan.path = argv[4];
  plan.argv = argv + 5;
  plan.envp = environ;
  plan.stdin_fd = 0;
  plan.stdout_fd = 1;
  plan.stderr_fd = 2;
  plan.report_fd = 3;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    plan.max_fd = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
  }
  heatblast::local_master::run_supervisor(plan);
}
