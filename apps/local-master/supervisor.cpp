#include "supervisor.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <initializer_list>

namespace heatblast::local_master {
namespace {

void report_failure(int fd, int stage, int error) {
  const ExecFailure failure{stage, error};
  [[maybe_unused]] ssize_t ignored = ::write(fd, &failure, sizeof failure);
}

void set_disposition(int signal_number, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  ::sigaction(signal_number, &action, nullptr);
}

void close_from(int first, int max_fd) {
  if (::close_range(static_cast<unsigned>(first), ~0U, 0) == 0) return;
  for (int fd = first; fd < max_fd; ++fd)
    ::close(fd);
}

// Writes `value` in decimal; async-signal-safe (no allocation, no stdio).
void write_decimal(int fd, int value) {
  char buffer[16];
  int length = 0;
  unsigned magnitude = value < 0 ? 0U - static_cast<unsigned>(value) : static_cast<unsigned>(value);
  do {
    buffer[length++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0 && length < 15);
  if (value < 0) buffer[length++] = '-';
  char text[16];
  for (int i = 0; i < length; ++i)
    text[i] = buffer[length - 1 - i];
  [[maybe_unused]] ssize_t ignored = ::write(fd, text, static_cast<std::size_t>(length));
}

[[noreturn]] void run_command(const ChildPlan& plan) {
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) {
    set_disposition(signal_number, SIG_DFL);
  }
  ::dup2(plan.stdin_fd, 0);
  ::dup2(plan.stdout_fd, 1);
  ::dup2(plan.stderr_fd, 2);
  int report_fd = plan.report_fd;
  if (report_fd != 3) {
    ::dup2(report_fd, 3);
    report_fd = 3;
  }
  ::fcntl(report_fd, F_SETFD, FD_CLOEXEC);
  close_from(4, plan.max_fd);
  ::execve(plan.path, plan.argv, plan.envp);
  report_failure(report_fd, 3, errno);
  ::_exit(127);
}

}  // namespace

[[noreturn]] void run_supervisor(const ChildPlan& plan) {
  ::setsid();
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) {
    set_disposition(signal_number, SIG_IGN);
  }
  set_disposition(SIGCHLD, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::chdir(plan.cwd) != 0) {
    report_failure(plan.report_fd, 1, errno);
    ::_exit(127);
  }
  const pid_t command = ::fork();
  if (command < 0) {
    report_failure(plan.report_fd, 2, errno);
    ::_exit(127);
  }
  if (command == 0) run_command(plan);
  close_from(0, plan.max_fd);
  int status = 0;
  while (::waitpid(command, &status, 0) < 0) {
    if (errno != EINTR) ::_exit(127);
  }
  const int fd = ::open(plan.status_tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    write_decimal(fd, status);
    ::close(fd);
    ::rename(plan.status_tmp_path, plan.status_path);
  }
  ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

}  // namespace heatblast::local_master
