#include "support/program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/ports.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace heatblast::testing {

namespace {

using Clock = std::chrono::steady_clock;

int millis_left(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

}  // namespace

Program::Program(std::vector<std::string> argv, ProgramOptions options)
    : argv_(std::move(argv)),
      cwd_(std::move(options.cwd)),
      errors_path_(std::move(options.errors)),
      output_path_(std::move(options.output)) {
  if (argv_.empty()) throw std::invalid_argument("Program: no program to run");
  name_ = std::filesystem::path(argv_[0]).filename().string();
  if (output_path_.empty()) {
    own_dir_ = std::make_unique<TempDir>("heatblast-program");
    output_path_ = *own_dir_ / "output.log";
  }
  start();
}

Program::~Program() {
  kill();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void Program::start() {
  if (pid_ > 0) throw std::logic_error("Program::start: '" + name_ + "' still runs");
  std::vector<char*> argv;
  for (auto& arg : argv_)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 1, output_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (errors_path_.empty()) {
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    ::posix_spawn_file_actions_addopen(&actions, 2, errors_path_.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  if (!cwd_.empty()) ::posix_spawn_file_actions_addchdir_np(&actions, cwd_.c_str());
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw std::runtime_error("cannot start '" + argv_[0] + "': " + std::strerror(error));
  }
  pid_ = pid;
  status_.reset();
  if (pidfd_ >= 0) ::close(pidfd_);
  // A descriptor that becomes readable when the process ends: waiting on it needs no polling.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) {
    const int saved = errno;
    kill();
    throw std::runtime_error(std::string("pidfd_open failed: ") + std::strerror(saved));
  }
}

void Program::signal(int number) const {
  if (pid_ > 0) ::kill(pid_, number);
}

bool Program::ended_within(std::chrono::milliseconds limit) const {
  if (pid_ <= 0) return true;
  pollfd ended{pidfd_, POLLIN, 0};
  return ::poll(&ended, 1, static_cast<int>(limit.count())) == 1;
}

void Program::reap() {
  int raw = 0;
  while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

std::optional<int> Program::wait_exit(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return status_;
  if (!ended_within(limit)) return std::nullopt;
  reap();
  return status_;
}

int Program::stop(std::chrono::milliseconds grace) {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!ended_within(grace)) ::kill(pid_, SIGKILL);
    reap();
  }
  return status_.value_or(-1);
}

void Program::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  reap();
}

bool Program::wait_for_output(std::string_view text, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  // Told of every write to the file; the pidfd tells when nothing more will come.
  const int notify = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (notify < 0) throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
  ::inotify_add_watch(notify, output_path_.c_str(), IN_MODIFY);
  bool found = false;
  while (true) {
    // Read after arming the watch, so that no write between the two goes unnoticed.
    if (output().find(text) != std::string::npos) {
      found = true;
      break;
    }
    if (pid_ <= 0 || Clock::now() >= deadline) break;
    pollfd fds[2] = {{notify, POLLIN, 0}, {pidfd_, POLLIN, 0}};
    if (::poll(fds, 2, millis_left(deadline)) <= 0) continue;
    if (fds[1].revents != 0) {
      found = output().find(text) != std::string::npos;  // its last words
      break;
    }
    char events[4096];
    while (::read(notify, events, sizeof events) > 0) {
    }
  }
  ::close(notify);
  return found;
}

bool Program::wait_for_port(std::uint16_t port, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (true) {
    if (port_accepts(port)) return true;
    if (Clock::now() >= deadline) return false;
    using namespace std::chrono_literals;
    if (ended_within(std::min<std::chrono::milliseconds>(
            20ms, std::chrono::milliseconds(millis_left(deadline))))) {
      return false;
    }
  }
}

std::string Program::output() const {
  std::ifstream in(output_path_, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Program::context() const {
  std::string out = name_ + "'s output:\n" + output();
  if (!errors_path_.empty()) {
    std::ifstream in(errors_path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out += "\n" + name_ + "'s errors:\n" + text.str();
  }
  return out;
}

}  // namespace heatblast::testing
