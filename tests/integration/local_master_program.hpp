// The local-master program as a child process, for tests of what only the program does (flags,
// start-up and shutdown, signals): its stdout and stderr on one pipe that the test reads with
// a deadline, in a working directory of the test's choice. The destructor SIGKILLs and reaps
// it if it still runs, so no assertion can leave it behind.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace heatblast::testing {

class LocalMasterProgram {
 public:
  // Starts HEATBLAST_LOCAL_MASTER_PATH with `args`, in `cwd` (empty: the test's own).
  explicit LocalMasterProgram(std::vector<std::string> args, const std::string& cwd = {}) {
    args.insert(args.begin(), HEATBLAST_LOCAL_MASTER_PATH);
    std::vector<char*> argv;
    for (auto& arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) FAIL("pipe2 failed");
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    if (!cwd.empty()) ::posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    pid_t pid = 0;
    const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    output_fd_ = fds[0];
    if (error != 0) FAIL("cannot start '" << argv[0] << "': " << std::strerror(error));
    pid_ = pid;
    // A descriptor that becomes readable when the process ends: waiting on it needs no polling.
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) FAIL("pidfd_open failed: " << std::strerror(errno));
  }
  ~LocalMasterProgram() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    if (pidfd_ >= 0) ::close(pidfd_);
    if (output_fd_ >= 0) ::close(output_fd_);
  }
  LocalMasterProgram(const LocalMasterProgram&) = delete;
  LocalMasterProgram& operator=(const LocalMasterProgram&) = delete;

  void signal(int number) const {
    if (pid_ > 0) ::kill(pid_, number);
  }

  // Reads output until it holds `text`; false when `limit` passes or the output ends first.
  bool wait_for_output(std::string_view text, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (output_.find(text) == std::string::npos) {
      if (!read_some(deadline)) return output_.find(text) != std::string::npos;
    }
    return true;
  }

  // Waits until the program has exited and its output is read to the end; its exit status
  // (128 + N for signal N), nullopt when `limit` passes first.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    if (pid_ <= 0) return status_;
    pollfd ended{pidfd_, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (::poll(&ended, 1, static_cast<int>(std::max<long>(0, left.count()))) != 1) {
      return std::nullopt;
    }
    int raw = 0;
    while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    // Tasks it left running may hold the pipe open: read only what is there by the deadline.
    using namespace std::chrono_literals;
    while (read_some(std::min(deadline, std::chrono::steady_clock::now() + 200ms))) {
    }
    return status_;
  }

  const std::string& output() const { return output_; }
  std::string context() const { return "local-master's output:\n" + output_; }

 private:
  // One read, waiting until `deadline` for data; false at the end of the output or the deadline.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    using namespace std::chrono;
    const auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd readable{output_fd_, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(left)) != 1) return false;
    char buffer[4096];
    const ssize_t n = ::read(output_fd_, buffer, sizeof buffer);
    if (n <= 0) return false;
    output_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int output_fd_ = -1;
  std::string output_;
  std::optional<int> status_;
};

}  // namespace heatblast::testing
