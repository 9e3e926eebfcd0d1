#include "process_runner.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "supervisor.hpp"

extern char** environ;

namespace heatblast::local_master {
namespace {

constexpr const char* kDockerSandbox = "/mnt/mesos/sandbox";
constexpr const char* kSupervisorProgram = "local-master-supervisor";

std::string errno_text(int error) {
  return std::strerror(error);
}

// The value of `name` in a "NAME=value" list, or nullopt.
std::optional<std::string> env_value(const std::vector<std::string>& environment,
                                     std::string_view name) {
  for (const auto& entry : environment) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

bool is_executable_file(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

// `name` looked up on `path_list` (a PATH value) as execvp would, run in `cwd` (the directory
// the command is executed in: a relative PATH entry resolves there, not in local-master's own
// working directory); `name` itself when it holds a '/' or is not found (execve then reports
// the error).
std::string find_on_path(const std::string& name, const std::string& path_list,
                         const std::string& cwd = ".") {
  if (name.find('/') != std::string::npos) return name;
  std::size_t start = 0;
  while (start <= path_list.size()) {
    std::size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    const bool relative = dir.front() != '/';
    const std::string checked = relative && !cwd.empty() ? cwd + "/" + candidate : candidate;
    if (is_executable_file(checked)) return candidate;
    start = end + 1;
  }
  return name;
}

std::string master_path_variable() {
  const char* path = std::getenv("PATH");
  return path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
}

// An ordered NAME -> value map that keeps the first position of each name.
class Environment {
 public:
  void set(const std::string& name, const std::string& value) {
    auto [it, inserted] = index_.emplace(name, entries_.size());
    if (inserted) {
      entries_.emplace_back(name, value);
    } else {
      entries_[it->second].second = value;
    }
  }
  std::vector<std::string> to_list() const {
    std::vector<std::string> list;
    list.reserve(entries_.size());
    for (const auto& [name, value] : entries_)
      list.push_back(name + "=" + value);
    return list;
  }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  std::map<std::string, std::size_t> index_;
};

// The variables of CommandInfo.environment. Secrets are resolved only when they carry their
// value inline (Secret.Value); references need a secret resolver local-master does not have.
Result<Environment> task_environment(const mesos::v1::CommandInfo& command) {
  Environment environment;
  for (const auto& variable : command.environment().variables()) {
    using Variable = mesos::v1::Environment::Variable;
    if (variable.type() == Variable::SECRET) {
      if (variable.secret().has_value()) {
        environment.set(variable.name(), variable.secret().value().data());
        continue;
      }
      return fail(errc::invalid_argument,
                  fmt::format("environment variable '{}' uses a secret reference, which "
                              "local-master cannot resolve",
                              variable.name()));
    }
    environment.set(variable.name(), variable.value());
  }
  return environment;
}

void add_mesos_variables(Environment& environment, const LaunchSpec& spec,
                         const std::string& sandbox) {
  environment.set("MESOS_SANDBOX", sandbox);
  environment.set("MESOS_DIRECTORY", sandbox);
  environment.set("MESOS_TASK_ID", spec.task.task_id().value());
  environment.set("MESOS_FRAMEWORK_ID", spec.framework_id.value());
  environment.set("MESOS_EXECUTOR_ID", spec.executor_id.value());
  environment.set("MESOS_AGENT_ID", spec.agent_id.value());
  environment.set("MESOS_SLAVE_ID", spec.agent_id.value());
  environment.set("MESOS_CONTAINER_ID", spec.container_id);
}

std::string docker_network(const mesos::v1::ContainerInfo& container) {
  using DockerInfo = mesos::v1::ContainerInfo::DockerInfo;
  switch (container.docker().network()) {
    case DockerInfo::BRIDGE:
      return "bridge";
    case DockerInfo::NONE:
      return "none";
    case DockerInfo::USER:
      for (const auto& network : container.network_infos()) {
        if (network.has_name()) return network.name();
      }
      return "bridge";
    case DockerInfo::HOST:
      break;
  }
  return "host";
}

Result<CommandLine> docker_command_line(const LaunchSpec& spec, const std::string& docker_path,
                                        Environment task_env) {
  const auto& container = spec.task.container();
  if (!container.has_docker() || container.docker().image().empty()) {
    return fail(errc::invalid_argument, "a DOCKER ContainerInfo needs 'docker.image'");
  }
  const auto& command = spec.task.command();
  const auto& docker = container.docker();
  CommandLine line;
  line.path = docker_path;
  auto& argv = line.argv;
  argv = {docker_path, "run", "--rm", "--name", "mesos-" + spec.container_id};
  argv.insert(argv.end(), {"--network", docker_network(container)});
  argv.insert(argv.end(), {"-v", spec.sandbox + ":" + kDockerSandbox, "-w", kDockerSandbox});
  for (const auto& volume : container.volumes()) {
    if (!volume.has_host_path()) continue;
    const char* mode = volume.mode() == mesos::v1::Volume::RO ? "ro" : "rw";
    argv.insert(argv.end(),
                {"-v", fmt::format("{}:{}:{}", volume.host_path(), volume.container_path(), mode)});
  }
  Environment container_env;
  Environment mesos_env;
  add_mesos_variables(mesos_env, spec, kDockerSandbox);
  for (const auto& [name, value] : mesos_env.entries())
    container_env.set(name, value);
  for (const auto& [name, value] : task_env.entries())
    container_env.set(name, value);
  for (const auto& entry : container_env.to_list())
    argv.insert(argv.end(), {"-e", entry});
  for (const auto& mapping : docker.port_mappings()) {
    std::string spec_text = fmt::format("{}:{}", mapping.host_port(), mapping.container_port());
    if (mapping.has_protocol()) spec_text += "/" + mapping.protocol();
    argv.insert(argv.end(), {"-p", spec_text});
  }
  if (docker.privileged()) argv.emplace_back("--privileged");
  if (docker.force_pull_image()) argv.insert(argv.end(), {"--pull", "always"});
  for (const auto& parameter : docker.parameters()) {
    argv.push_back(fmt::format("--{}={}", parameter.key(), parameter.value()));
  }
  if (command.shell()) {
    if (!command.has_value()) {
      return fail(errc::invalid_argument, "a shell command needs 'command.value'");
    }
    argv.insert(argv.end(), {"--entrypoint", "/bin/sh", docker.image(), "-c", command.value()});
  } else {
    argv.push_back(docker.image());
    if (command.has_value()) argv.push_back(command.value());
    for (const auto& argument : command.arguments())
      argv.push_back(argument);
  }
  // The docker CLI itself runs with local-master's environment (its config, DOCKER_HOST).
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    line.environment.emplace_back(*entry);
  }
  return line;
}

// Starts the supervisor program with `fds` as its stdin, stdout, stderr and fd 3 (the exec
// report pipe), every signal at its default and none blocked (it sets its own). Returns 0 or
// the error.
int spawn_supervisor(const char* path, char* const* argv, char* const* envp, std::array<int, 4> fds,
                     pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  if (int error = ::posix_spawn_file_actions_init(&actions); error != 0) return error;
  if (int error = ::posix_spawnattr_init(&attributes); error != 0) {
    ::posix_spawn_file_actions_destroy(&actions);
    return error;
  }
  int error = 0;
  // In order: a source that is one of 0..3 is used before it is replaced (they are all >= 3,
  // lifted, so only fd 3 can be one, and the report pipe goes there last). dup2 onto itself
  // clears close-on-exec (glibc, POSIX 2024).
  for (int target = 0; target < 4 && error == 0; ++target) {
    error =
        ::posix_spawn_file_actions_adddup2(&actions, fds[static_cast<std::size_t>(target)], target);
  }
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  if (error == 0) error = ::posix_spawnattr_setsigdefault(&attributes, &all);
  if (error == 0) error = ::posix_spawnattr_setsigmask(&attributes, &none);
  if (error == 0) {
    error = ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  if (error == 0) error = ::posix_spawn(pid, path, &actions, &attributes, argv, envp);
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);
  return error;
}

// Moves `fd` to a number >= 3 (so that dup2 onto 0..2 cannot clobber it), close-on-exec.
int lift_fd(int fd) {
  if (fd < 0 || fd >= 3) return fd;
  const int lifted = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return lifted;
}

class FdCloser {
 public:
  explicit FdCloser(std::initializer_list<int*> fds) : fds_(fds) {}
  ~FdCloser() {
    for (int* fd : fds_) {
      if (*fd >= 0) ::close(*fd);
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  std::vector<int*> fds_;
};

Termination termination_of(int wait_status) {
  if (WIFEXITED(wait_status)) return Termination::exited(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return Termination::signaled(WTERMSIG(wait_status));
  return Termination::unknown();
}

// A zombie has ended and waits only to be reaped: for an adopted orphan, by PID 1, which in
// some containers does so seconds later or never, while kill(pid, 0) and getpgid() still
// succeed on it. Linux: the state letter in /proc/<pid>/stat.
bool is_zombie(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto close = stat.rfind(')');  // the command name may hold anything, ')' included
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  return stat[close + 2] == 'Z' || stat[close + 2] == 'X';
}

bool process_alive_in_group(int pid, int pgid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  return ::getpgid(pid) == pgid && !is_zombie(pid);
}

}  // namespace

Result<CommandLine> build_command_line(const LaunchSpec& spec, const std::string& docker_path) {
  const auto& command = spec.task.command();
  auto task_env = task_environment(command);
  if (!task_env) return tl::unexpected(task_env.error());

  if (spec.task.has_container() &&
      spec.task.container().type() == mesos::v1::ContainerInfo::DOCKER) {
    return docker_command_line(spec, docker_path, std::move(*task_env));
  }

  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    environment.set(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  add_mesos_variables(environment, spec, spec.sandbox);
  for (const auto& [name, value] : task_env->entries())
    environment.set(name, value);

  CommandLine line;
  line.environment = environment.to_list();
  if (!command.has_value()) {
    return fail(errc::invalid_argument,
                command.shell() ? "a shell command needs 'command.value'"
                                : "a command with shell=false needs 'command.value' (the "
                                  "executable)");
  }
  if (command.shell()) {
    line.path = "/bin/sh";
    line.argv = {"sh", "-c", command.value()};
  } else {
    const std::string path_list =
        env_value(line.environment, "PATH").value_or(master_path_variable());
    line.path = find_on_path(command.value(), path_list, spec.sandbox);
    if (command.arguments().empty()) {
      line.argv = {command.value()};
    } else {
      line.argv.assign(command.arguments().begin(), command.arguments().end());
    }
  }
  return line;
}

ProcessRunner::ProcessRunner(ProcessRunnerOptions options) : options_(std::move(options)) {
  // The supervisor writes the status file after it has changed into the sandbox: a relative
  // meta dir would resolve inside the sandbox there, and the exit status would be lost.
  std::error_code ec;
  if (auto absolute = std::filesystem::absolute(options_.meta_dir, ec); !ec) {
    options_.meta_dir = absolute.lexically_normal().string();
  }
  std::string supervisor = options_.supervisor;
  if (supervisor.empty()) {
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) supervisor = (self.parent_path() / kSupervisorProgram).string();
  }
  if (!supervisor.empty() && is_executable_file(supervisor)) supervisor_ = supervisor;
}

bool ProcessRunner::docker_available() const {
  if (options_.docker.empty()) return false;
  return is_executable_file(find_on_path(options_.docker, master_path_variable()));
}

std::string ProcessRunner::container_meta_dir(const std::string& container_id) const {
  return options_.meta_dir + "/" + container_id;
}

void ProcessRunner::queue_launch_failed(const std::string& container_id, std::string message) {
  RunnerEvent event;
  event.kind = RunnerEvent::Kind::launch_failed;
  event.container_id = container_id;
  event.message = std::move(message);
  queued_.push_back(std::move(event));
}

bool ProcessRunner::make_sandbox(const LaunchSpec& spec) {
  std::error_code ec;
  std::filesystem::create_directories(spec.sandbox, ec);
  if (!ec) return true;
  queue_launch_failed(spec.container_id,
                      fmt::format("Failed to create sandbox '{}': {}", spec.sandbox, ec.message()));
  return false;
}

ProcessRunner::~ProcessRunner() {
  for (auto& [container_id, pending] : pending_)
    close_report(pending);
  for (auto& [container_id, fetch] : fetches_)
    fetch->cancel = true;
  for (auto& [container_id, fetch] : fetches_) {
    if (fetch->thread.joinable()) fetch->thread.join();
  }
}

void ProcessRunner::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  wake_ = std::move(wake);
}

void ProcessRunner::launch(const LaunchSpec& spec, TimePoint) {
  if (spec.task.command().uris().empty()) {
    start_process(spec);
    return;
  }
  if (!make_sandbox(spec)) return;
  auto fetch = std::make_unique<Fetch>();
  fetch->spec = spec;
  Fetch* job = fetch.get();
  // The fetcher's log goes where Mesos puts it: the sandbox's stderr, before the command's own.
  job->thread = std::thread([this, job, options = options_.fetcher] {
    std::FILE* log_file = std::fopen((job->spec.sandbox + "/stderr").c_str(), "ae");
    const auto log = [log_file](std::string_view line) {
      if (log_file == nullptr) return;
      std::fprintf(log_file, "local-master fetcher: %.*s\n", static_cast<int>(line.size()),
                   line.data());
    };
    auto result =
        fetch_uris(job->spec.task.command(), job->spec.sandbox, options, job->cancel, log);
    if (!result) log("Failed: " + result.error().what());
    if (log_file != nullptr) std::fclose(log_file);
    std::lock_guard lock(mutex_);
    job->result = std::move(result);
    job->done = true;
    if (wake_) wake_();
  });
  fetches_.emplace(spec.container_id, std::move(fetch));
}

void ProcessRunner::collect_fetches() {
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    Fetch& fetch = *it->second;
    {
      std::lock_guard lock(mutex_);
      if (!fetch.done) {
        ++it;
        continue;
      }
    }
    fetch.thread.join();
    if (fetch.signal) {
      // Killed while fetching: the command never ran; it ends as if the signal had hit it.
      RunnerEvent event;
      event.kind = RunnerEvent::Kind::exited;
      event.container_id = fetch.spec.container_id;
      event.termination =
          Termination::signaled(*fetch.signal == TaskSignal::kill ? SIGKILL : SIGTERM);
      queued_.push_back(std::move(event));
    } else if (!fetch.result) {
      RunnerEvent event;
      event.kind = RunnerEvent::Kind::fetch_failed;
      event.container_id = fetch.spec.container_id;
      event.message = fetch.result.error().what();
      queued_.push_back(std::move(event));
    } else {
      start_process(fetch.spec);
    }
    it = fetches_.erase(it);
  }
}

void ProcessRunner::start_process(const LaunchSpec& spec) {
  // Looked up for docker tasks only: a look-up stats every PATH entry.
  const bool docker =
      spec.task.has_container() && spec.task.container().type() == mesos::v1::ContainerInfo::DOCKER;
  const std::string docker_path = !docker || options_.docker.empty()
                                      ? std::string()
                                      : find_on_path(options_.docker, master_path_variable());
  auto line = build_command_line(spec, docker_path);
  if (!line) {
    queue_launch_failed(spec.container_id, line.error().message);
    return;
  }

  if (!make_sandbox(spec)) return;
  std::error_code ec;
  const std::string meta_dir = container_meta_dir(spec.container_id);
  std::filesystem::create_directories(meta_dir, ec);
  if (ec) {
    queue_launch_failed(spec.container_id,
                        fmt::format("Failed to create '{}': {}", meta_dir, ec.message()));
    return;
  }
  const std::string status_path = meta_dir + "/status";
  const std::string status_tmp_path = meta_dir + "/status.tmp";
  std::filesystem::remove(status_path, ec);

  int stdin_fd = lift_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int stdout_fd = lift_fd(
      ::open((spec.sandbox + "/stdout").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  int stderr_fd = lift_fd(
      ::open((spec.sandbox + "/stderr").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  int pipe_fds[2] = {-1, -1};
  FdCloser closer({&stdin_fd, &stdout_fd, &stderr_fd, &pipe_fds[0], &pipe_fds[1]});
  if (stdin_fd < 0 || stdout_fd < 0 || stderr_fd < 0) {
    queue_launch_failed(spec.container_id,
                        fmt::format("Failed to open the task's stdio files in '{}': {}",
                                    spec.sandbox, errno_text(errno)));
    return;
  }
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    queue_launch_failed(spec.container_id, fmt::format("pipe2: {}", errno_text(errno)));
    return;
  }
  pipe_fds[0] = lift_fd(pipe_fds[0]);
  pipe_fds[1] = lift_fd(pipe_fds[1]);

  std::vector<char*> argv;
  for (auto& arg : line->argv)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& entry : line->environment)
    envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  if (!supervisor_.empty()) {
    // posix_spawn (clone with CLONE_VM|CLONE_VFORK) copies no page tables, and leaves no
    // copy-on-write pages for local-master to fault on afterwards: fork() did both, for the
    // whole heap, and on a VM each such fault is a TLB shootdown.
    std::vector<std::string> words = {supervisor_, spec.sandbox, status_path, status_tmp_path,
                                      line->path};
    std::vector<char*> supervisor_argv;
    for (auto& word : words)
      supervisor_argv.push_back(word.data());
    supervisor_argv.insert(supervisor_argv.end(), argv.begin(), argv.end());
    const int error = spawn_supervisor(supervisor_.c_str(), supervisor_argv.data(), envp.data(),
                                       {stdin_fd, stdout_fd, stderr_fd, pipe_fds[1]}, &pid);
    if (error != 0) {
      queue_launch_failed(spec.container_id, fmt::format("Failed to start the supervisor '{}': {}",
                                                         supervisor_, errno_text(error)));
      return;
    }
  } else {
    ChildPlan plan;
    plan.path = line->path.c_str();
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.cwd = spec.sandbox.c_str();
    plan.status_path = status_path.c_str();
    plan.status_tmp_path = status_tmp_path.c_str();
    plan.stdin_fd = stdin_fd;
    plan.stdout_fd = stdout_fd;
    plan.stderr_fd = stderr_fd;
    plan.report_fd = pipe_fds[1];
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      plan.max_fd = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
    }
    pid = ::fork();
    if (pid < 0) {
      queue_launch_failed(spec.container_id, fmt::format("fork: {}", errno_text(errno)));
      return;
    }
    if (pid == 0) run_supervisor(plan);
  }

  ::close(pipe_fds[1]);
  pipe_fds[1] = -1;
  // The answer (an ExecFailure, or end of file once the command has been executed) comes when
  // the children have run: read by reap(), never waited for here.
  ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  Pending pending;
  pending.pid = pid;
  pending.report_fd = std::exchange(pipe_fds[0], -1);
  pending.status_path = status_path;
  pending.path = line->path;
  pending.sandbox = spec.sandbox;
  pending_.erase(spec.container_id);  // container ids are unique per launch; never there
  auto [it, inserted] = pending_.emplace(spec.container_id, std::move(pending));
  watch_report(it->first, it->second);
}

struct ProcessRunner::ReportWatch {
  explicit ReportWatch(const boost::asio::any_io_executor& executor, int fd)
      : descriptor(executor, fd) {}
  boost::asio::posix::stream_descriptor descriptor;
  bool waiting = false;
};

ProcessRunner::Pending::Pending() = default;
ProcessRunner::Pending::Pending(Pending&&) noexcept = default;
ProcessRunner::Pending::~Pending() = default;

void ProcessRunner::watch_report(const std::string& container_id, Pending& pending) {
  if (!executor_) return;
  if (!pending.watch) pending.watch = std::make_unique<ReportWatch>(*executor_, pending.report_fd);
  if (pending.watch->waiting) return;
  pending.watch->waiting = true;
  pending.watch->descriptor.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this, alive = std::weak_ptr<bool>(alive_), container_id](boost::system::error_code ec) {
        // Cancelled (the report was read by a reap, or the executor was cleared) or the runner
        // is gone: nothing of this runner may be touched.
        if (ec || !alive.lock()) return;
        if (auto it = pending_.find(container_id); it != pending_.end() && it->second.watch) {
          it->second.watch->waiting = false;
        }
        std::lock_guard lock(mutex_);
        if (wake_) wake_();
      });
}

void ProcessRunner::close_report(Pending& pending) {
  if (pending.watch) {
    // Gives the descriptor back without closing it (its wait ends as cancelled); closed below.
    pending.watch->descriptor.release();
    pending.watch.reset();
  }
  if (pending.report_fd >= 0) ::close(pending.report_fd);
  pending.report_fd = -1;
}

void ProcessRunner::set_executor(std::optional<boost::asio::any_io_executor> executor) {
  for (auto& [container_id, pending] : pending_) {
    if (!pending.watch) continue;
    pending.watch->descriptor.release();
    pending.watch.reset();
  }
  executor_ = std::move(executor);
  for (auto& [container_id, pending] : pending_)
    watch_report(container_id, pending);
}

void ProcessRunner::read_reports() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& pending = it->second;
    bool ended = false;
    while (pending.received < sizeof pending.report) {
      const ssize_t n = ::read(pending.report_fd, pending.report + pending.received,
                               sizeof pending.report - pending.received);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        pending.received += static_cast<std::size_t>(n);
        continue;
      }
      // 0: every copy of the write end is closed (the command was executed, or the children
      // are gone); an error other than EAGAIN ends the wait the same way.
      ended = n == 0 || errno != EAGAIN;
      break;
    }
    if (pending.received < sizeof pending.report && !ended) {
      watch_report(it->first, pending);
      ++it;
      continue;
    }
    close_report(pending);
    if (pending.received == sizeof pending.report) {
      static_assert(sizeof(ExecFailure) == sizeof pending.report);
      ExecFailure failure;
      std::memcpy(&failure, pending.report, sizeof failure);
      // The supervisor exits right after the report: this wait is short.
      int status = 0;
      while (::waitpid(pending.pid, &status, 0) < 0 && errno == EINTR) {
      }
      const char* what = failure.stage == 1   ? "Failed to enter the sandbox"
                         : failure.stage == 2 ? "Failed to fork the task"
                                              : "Failed to execute";
      queue_launch_failed(
          it->first,
          fmt::format("{} '{}': {}", what, failure.stage == 1 ? pending.sandbox : pending.path,
                      errno_text(failure.error)));
    } else {
      processes_[it->first] = Watched{pending.pid, pending.pid, false, pending.status_path};
      RunnerEvent event;
      event.kind = RunnerEvent::Kind::running;
      event.container_id = it->first;
      event.pid = pending.pid;
      event.pgid = pending.pid;
      queued_.push_back(std::move(event));
      if (pending.signal) {
        // Asked for before the command ran: its group exists now (the supervisor's setsid()
        // came before the fork whose exec closed the pipe).
        ::kill(-pending.pid, *pending.signal == TaskSignal::kill ? SIGKILL : SIGTERM);
      }
    }
    it = pending_.erase(it);
  }
}

void ProcessRunner::signal(std::string_view container_id, TaskSignal signal, TimePoint) {
  if (auto fetch = fetches_.find(std::string(container_id)); fetch != fetches_.end()) {
    fetch->second->cancel = true;
    if (!fetch->second->signal || signal == TaskSignal::kill) fetch->second->signal = signal;
    return;
  }
  if (auto pending = pending_.find(std::string(container_id)); pending != pending_.end()) {
    auto& asked = pending->second.signal;
    if (!asked || signal == TaskSignal::kill) asked = signal;
    return;
  }
  auto it = processes_.find(std::string(container_id));
  // Never kill(0) or kill(-1): those would hit local-master's own group or every process.
  if (it == processes_.end() || it->second.pgid <= 1) return;
  ::kill(-it->second.pgid, signal == TaskSignal::kill ? SIGKILL : SIGTERM);
}

void ProcessRunner::signal_all(TaskSignal signal, TimePoint now) {
  for (const auto& [container_id, watched] : processes_)
    this->signal(container_id, signal, now);
  for (const auto& [container_id, pending] : pending_)
    this->signal(container_id, signal, now);
  for (const auto& [container_id, fetch] : fetches_)
    this->signal(container_id, signal, now);
}

void ProcessRunner::adopt(const Adoption& adoption, TimePoint) {
  if (adoption.pid <= 1 || adoption.pgid <= 1) {
    RunnerEvent event;
    event.kind = RunnerEvent::Kind::exited;
    event.container_id = adoption.container_id;
    event.termination = Termination::unknown();
    event.message = "no process id was recorded for it";
    queued_.push_back(std::move(event));
    return;
  }
  processes_[adoption.container_id] = Watched{
      adoption.pid, adoption.pgid, true, container_meta_dir(adoption.container_id) + "/status"};
}

Termination ProcessRunner::read_status_file(const std::string& path,
                                            std::optional<int> supervisor_status) {
  std::ifstream in(path);
  int raw = 0;
  if (in >> raw) return termination_of(raw);
  // No record: the supervisor died too (SIGKILL to the whole group) or never got to write it.
  if (supervisor_status) return termination_of(*supervisor_status);
  return Termination::unknown();
}

void ProcessRunner::reap() {
  collect_fetches();
  // Before the exits: a command that ended at once is reported running, then exited.
  read_reports();
  // reap() runs at every advance of the master and every wake, and a waitpid() per watched
  // process each time made a ramp of N launches cost O(N^2) system calls (1,000 tasks: about
  // 1 s of the master's CPU). One waitid() that reaps nothing says whether any child of ours
  // has ended; only then are our children asked one by one. Adopted processes are not our
  // children and are still looked at each time.
  siginfo_t ended{};
  const bool child_ended =
      ::waitid(P_ALL, 0, &ended, WEXITED | WNOHANG | WNOWAIT) == 0 && ended.si_pid != 0;
  for (auto it = processes_.begin(); it != processes_.end();) {
    const Watched& watched = it->second;
    if (!watched.adopted && !child_ended) {
      ++it;
      continue;
    }
    int status = 0;
    const pid_t result = ::waitpid(watched.pid, &status, WNOHANG);
    std::optional<int> supervisor_status;
    if (result == watched.pid) {
      supervisor_status = status;
      // The container ends with its supervisor, as a Mesos agent destroys a container whose
      // executor ended: whatever the command left in its group (a child that outlived the
      // shell, a daemon) is killed. The group id is still ours while any member lives.
      if (watched.pgid > 1) ::kill(-watched.pgid, SIGKILL);
    } else if (result == 0 && (!watched.adopted || ::getpgid(watched.pid) == watched.pgid)) {
      ++it;  // our child, still running
      continue;
    } else if (result == 0) {
      // Our child, but not in the recorded group: not the process that was adopted.
    } else if (watched.adopted && process_alive_in_group(watched.pid, watched.pgid)) {
      ++it;  // not our child (adopted), still running
      continue;
    }
    RunnerEvent event;
    event.kind = RunnerEvent::Kind::exited;
    event.container_id = it->first;
    event.pid = watched.pid;
    event.pgid = watched.pgid;
    event.termination = read_status_file(watched.status_path, supervisor_status);
    if (event.termination.kind == Termination::Kind::unknown) {
      event.message = fmt::format("process {} (group {}) is gone and left no exit status",
                                  watched.pid, watched.pgid);
    }
    queued_.push_back(std::move(event));
    it = processes_.erase(it);
  }
}

std::vector<RunnerEvent> ProcessRunner::poll(TimePoint now) {
  last_now_ = now;
  reap();
  std::vector<RunnerEvent> events;
  events.swap(queued_);
  return events;
}

std::optional<TimePoint> ProcessRunner::next_deadline() const {
  if (!queued_.empty()) return last_now_.value_or(TimePoint{});
  std::lock_guard lock(mutex_);
  for (const auto& [container_id, fetch] : fetches_) {
    if (fetch->done) return last_now_.value_or(TimePoint{});
  }
  return std::nullopt;
}

}  // namespace heatblast::local_master
