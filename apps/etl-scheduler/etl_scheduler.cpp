#include "etl_scheduler_impl.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/task_state.hpp"
#include "machine.hpp"

namespace heatblast::etl {
namespace detail {

// An exclusive advisory lock on "<state file>.lock" for as long as the scheduler runs: two
// etl-schedulers on one state file would take the framework from each other in turn.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return fail(errc::io_error, fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
    FileLock lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      return fail(error == EWOULDBLOCK ? errc::invalid_argument : errc::io_error,
                  error == EWOULDBLOCK
                      ? fmt::format("'{}' is held by another etl-scheduler", path)
                      : fmt::format("cannot lock '{}': {}", path, std::strerror(error)));
    }
    return lock;
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace detail

namespace {

using mesos::v1::TaskState;
using mesos::v1::scheduler::Event;
using tasks::Phase;
using SteadyClock = std::chrono::steady_clock;
using detail::FileLock;
using detail::Mode;
using detail::RoundState;

// Our own records in the state file, beside the framework id and the tasks.
constexpr std::string_view kNameKey = "etl-scheduler/name";
constexpr std::string_view kRoundKey = "etl-scheduler/round";

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000 + 0.5));
}

// The round of a task named "etl-<round>-<n>".
std::optional<int> round_of(std::string_view name) {
  if (!name.starts_with("etl-")) return std::nullopt;
  name.remove_prefix(4);
  int round = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), round);
  if (ec != std::errc() || end == name.data() + name.size() || *end != '-') return std::nullopt;
  return round;
}

// "TASK_RUNNING" -> "RUNNING", as the Go tool wrote it.
std::string state_name(TaskState state) {
  std::string name = mesos::v1::TaskState_Name(state);
  if (name.starts_with("TASK_")) name.erase(0, 5);
  return name;
}

std::string host_name() {
  return apps::machine_hostname().value_or("UNKNOWN");
}

std::string_view to_string(Mode mode) {
  switch (mode) {
    case Mode::created:
      return "created";
    case Mode::running:
      return "running";
    case Mode::draining:
      return "draining";
    case Mode::stopping:
      return "stopping";
    case Mode::tearing_down:
      return "tearing_down";
    case Mode::done:
      return "done";
    case Mode::stopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace

EtlScheduler::Impl::~Impl() {
  stop();
}

Result<void> EtlScheduler::Impl::start() {
  if (mode_ != Mode::created) {
    return fail(errc::invalid_argument, "etl-scheduler was started or stopped already");
  }
  auto started = start_all();
  if (!started) stop();
  return started;
}

void EtlScheduler::Impl::shutdown() {
  if (mode_ == Mode::created || ended() || !manager_) return;
  ++signals_;
  gate_open_ = false;
  ticker_.cancel();
  if (mode_ == Mode::running || mode_ == Mode::draining) {
    transition_to(Mode::stopping, "asked to stop");
  }
  const std::size_t running = manager_->in_flight();
  if (signals_ == 1 && flags_.on_stop == OnStop::wait) {
    log_.info(fmt::format("Stopping: no new tasks; waiting for {} running task(s) (signal again "
                          "to kill them)",
                          running),
              {{"running", static_cast<std::int64_t>(running)}});
  } else if (signals_ <= 2) {
    log_.info(fmt::format("Stopping: killing {} running task(s){}", running,
                          signals_ == 1 ? "" : " (signal again to exit at once)"),
              {{"running", static_cast<std::int64_t>(running)}});
    kill_running();
  } else {
    const auto id = client_->framework_id();
    log_.warning(
        fmt::format("Exiting at once, without TEARDOWN: framework '{}' and its tasks "
                    "stay until its failover timeout",
                    id ? id->value() : ""));
    finish(1);
    return;
  }
  reconsider();
}

void EtlScheduler::Impl::stop() {
  if (mode_ == Mode::stopped) return;
  transition_to(Mode::stopped, "stop()");
  ticker_.cancel();
  retry_timer_.cancel();
  if (health_) health_->stop();
  if (client_) client_->stop();
}

Stats EtlScheduler::Impl::stats() const {
  Stats out = stats_;
  out.round = round_;
  return out;
}

void EtlScheduler::Impl::transition_to(Mode next, std::string_view reason) {
  if (next == mode_) return;
  log_.debug(
      fmt::format("etl-scheduler: '{}' -> '{}' ({})", to_string(mode_), to_string(next), reason));
  mode_ = next;
}

Result<void> EtlScheduler::Impl::start_all() {
  if (auto opened = open_state(); !opened) return opened;
  if (auto built = build(); !built) return built;
  if (auto health = start_health(); !health) return health;
  log_.info(fmt::format("Starting {}: at most {} task(s) of \"{}\" ({} cpus, {} MB{}), a new round "
                        "every {} s; masters {}",
                        flags_.name, flags_.maxtasks, flags_.cmd, flags_.cpu, flags_.mem,
                        flags_.img.empty() ? "" : fmt::format(", image '{}'", flags_.img),
                        flags_.wait_seconds, flags_.master),
            {{"maxtasks", std::int64_t{flags_.maxtasks}},
             {"cmd", flags_.cmd},
             {"wait", flags_.wait_seconds},
             {"master", flags_.master}});
  if (auto started = client_->start(); !started) return started;
  transition_to(Mode::running, "started");
  open_gate();
  next_tick_ = SteadyClock::now();
  arm_ticker();
  return {};
}

Result<void> EtlScheduler::Impl::open_state() {
  if (flags_.state_file.empty()) return {};
  auto lock = FileLock::acquire(flags_.state_file + ".lock");
  if (!lock) return tl::unexpected(lock.error());
  lock_ = std::make_unique<FileLock>(std::move(*lock));
  auto opened = store::SqliteStore::open(flags_.state_file);
  if (!opened) return tl::unexpected(opened.error());
  store_ = std::move(*opened);

  auto id = store_->framework_id();
  if (!id) return tl::unexpected(id.error());
  auto name = store_->get(kNameKey);
  if (!name) return tl::unexpected(name.error());
  if (*id && !(*id)->empty()) {
    if (*name && **name != flags_.name) {
      return fail(errc::invalid_argument,
                  fmt::format("state file '{}' belongs to framework '{}' named '{}', not '{}'; "
                              "give another -state-file",
                              flags_.state_file, **id, **name, flags_.name));
    }
    framework_id_ = **id;
    log_.info(fmt::format("Resuming framework '{}' from '{}'", **id, flags_.state_file),
              {{"framework_id", **id}, {"state_file", flags_.state_file}});
  }
  if (auto put = store_->put(kNameKey, flags_.name); !put) return put;
  auto round = store_->get(kRoundKey);
  if (!round) return tl::unexpected(round.error());
  if (*round) {
    int value = 0;
    std::from_chars((*round)->data(), (*round)->data() + (*round)->size(), value);
    round_ = std::max(0, value);
  }
  return {};
}

Result<scheduler::Options> EtlScheduler::Impl::client_options() const {
  scheduler::Options options;
  options.masters = flags_.masters;
  auto& framework = options.framework;
  framework.set_user(flags_.user);
  framework.set_name(flags_.name);
  framework.set_hostname(host_name());
  framework.set_failover_timeout(flags_.failover_timeout_seconds);
  if (!flags_.role.empty()) {
    framework.add_roles(flags_.role);
    framework.add_capabilities()->set_type(mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  }
  if (!flags_.principal.empty()) framework.set_principal(flags_.principal);
  if (framework_id_) framework.mutable_id()->set_value(*framework_id_);
  if (!flags_.secret_file.empty()) {
    auto credentials = scheduler::Credentials::from_file(flags_.principal, flags_.secret_file);
    if (!credentials) return tl::unexpected(credentials.error());
    options.credentials = std::move(*credentials);
  }
  if (hooks_.client_options) hooks_.client_options(options);
  return options;
}

Result<void> EtlScheduler::Impl::build() {
  auto options = client_options();
  if (!options) return tl::unexpected(options.error());
  scheduler::Handlers handlers;
  handlers.on_event = [this](const Event& event) { on_event(event); };
  handlers.on_framework_id = [this](const mesos::v1::FrameworkID& id) { on_framework_id(id); };
  handlers.on_state = [this](scheduler::State state, std::string_view) {
    // The client logs the transition itself (on_log).
    if (state == scheduler::State::subscribed && teardown_wanted_) post_teardown();
  };
  handlers.on_fatal = [this](const Error& error) { on_fatal(error); };
  handlers.known_tasks = [this] {
    return manager_ ? manager_->known_tasks()
                    : std::vector<mesos::v1::scheduler::Call::Reconcile::Task>{};
  };
  handlers.on_log = [this](scheduler::LogLevel level, std::string_view message) {
    // The client's state transitions and redirects are protocol detail (-debug); its warnings
    // and errors (a lost connection, a broken stream) are for everyone.
    switch (level) {
      case scheduler::LogLevel::debug:
      case scheduler::LogLevel::info:
        log_.debug(message);
        break;
      case scheduler::LogLevel::warning:
        // Once TEARDOWN is sent, the master closing the stream is what we asked for.
        teardown_sent_ ? log_.debug(message) : log_.warning(message);
        break;
      case scheduler::LogLevel::error:
        log_.error(message);
        break;
    }
  };
  client_ = std::make_unique<scheduler::Client>(executor_, std::move(*options), handlers);

  tasks::ManagerOptions manager_options;
  manager_options.role = flags_.role;
  manager_options.store = store_.get();
  // -maxtasks is the manager's limit on runs out at once, relaunches included; top_up() below
  // only decides how many tasks a round adds.
  manager_options.max_in_flight = static_cast<std::size_t>(std::max(flags_.maxtasks, 0));
  // A tick must not wait for the REVIVE throttle when -wait is short.
  manager_options.min_revive_interval =
      std::min<std::chrono::milliseconds>(std::chrono::seconds(5), to_millis(flags_.wait_seconds));
  if (hooks_.manager_options) hooks_.manager_options(manager_options);
  manager_ = std::make_unique<tasks::TaskManager>(
      *client_, manager_options, [this](const tasks::TaskChange& change) { on_change(change); });
  if (auto loaded = manager_->load(); !loaded) return loaded;

  // Tasks out when an earlier etl-scheduler stopped: adopted, and counted in their rounds.
  const auto records = manager_->records();
  if (!records.empty()) {
    std::string names;
    for (const auto& record : records) {
      if (!names.empty()) names += ", ";
      names += record.task_id.empty() ? record.name : record.task_id;
      if (auto round = round_of(record.name)) {
        round_ = std::max(round_, *round);
        auto& state = rounds_[*round];
        ++state.added;
        state.next_index = std::max(state.next_index, index_of(record.name));
        state.filled = true;
      }
    }
    stats_.adopted = records.size();
    log_.info(
        fmt::format("Adopting {} task(s) from '{}': {}", records.size(), flags_.state_file, names),
        {{"adopted", static_cast<std::int64_t>(records.size())}});
  }
  return {};
}

int EtlScheduler::Impl::index_of(std::string_view name) {
  const auto dash = name.rfind('-');
  int index = 0;
  if (dash != std::string_view::npos) {
    std::from_chars(name.data() + dash + 1, name.data() + name.size(), index);
  }
  return index;
}

Result<void> EtlScheduler::Impl::start_health() {
  if (flags_.listen.empty()) return {};
  auto address = parse_listen(flags_.listen);
  if (!address) return tl::unexpected(address.error());
  http::ServerOptions options;
  options.address = address->address;
  options.port = address->port;
  // A health check needs a connection or two: a small cap, and a client that does not send
  // its request promptly is dropped, so that no client can hold the endpoint.
  options.max_connections = 32;
  options.header_timeout = std::chrono::seconds(5);
  options.max_body_size = 64 << 10;
  options.log = [this](std::string_view line) { log_.warning(line); };
  // What the Go tool answered (Go's "/" pattern matches every path), for Marathon's checks.
  health_ = std::make_unique<http::Server>(
      executor_, options, [](const http::ServerRequest& request, http::Responder responder) {
        if (request.path == "/health") {
          responder.respond(200, {{"Content-Type", "text/plain; charset=utf-8"}}, "healthy");
        } else {
          responder.respond(200, {{"Content-Type", "text/html; charset=utf-8"}},
                            "<a href=\"/health\">Found</a>.");
        }
      });
  if (auto started = health_->start(); !started) {
    return fail(
        started.error().code.value() == static_cast<int>(errc::address_in_use)
            ? errc::address_in_use
            : errc::io_error,
        fmt::format("health endpoint on '{}': {} (give another -listen, or -listen '' for none)",
                    flags_.listen, started.error().what()));
  }
  log_.debug(fmt::format("Health endpoint on {}:{}", address->address, health_->port()));
  return {};
}

tasks::TaskSpec EtlScheduler::Impl::spec_for(std::string name) const {
  tasks::TaskSpec spec;
  spec.name = std::move(name);
  spec.command.set_value(flags_.cmd);
  spec.command.set_shell(true);
  if (!flags_.img.empty()) {
    mesos::v1::ContainerInfo container;
    container.set_type(mesos::v1::ContainerInfo::DOCKER);
    container.mutable_docker()->set_image(flags_.img);
    spec.container = std::move(container);
  }
  spec.resources.scalars = {{"cpus", flags_.cpu}, {"mem", static_cast<double>(flags_.mem)}};
  spec.restart.policy = tasks::RestartPolicy::never;
  spec.timeout = to_millis(flags_.timeout_seconds);
  spec.constraints = flags_.constraints;
  return spec;
}

void EtlScheduler::Impl::on_framework_id(const mesos::v1::FrameworkID& id) {
  framework_id_ = id.value();
  if (!store_) return;
  if (auto saved = store_->set_framework_id(id.value()); !saved) {
    log_.error(fmt::format("Cannot keep the framework id: {}", saved.error().what()));
  }
}

void EtlScheduler::Impl::on_event(const Event& event) {
  switch (event.type()) {
    case Event::SUBSCRIBED: {
      ever_subscribed_ = true;
      const std::string& id = event.subscribed().framework_id().value();
      const std::string master = client_->current_master();
      log_.info(fmt::format("Subscribed: FrameworkID: {}", id),
                {{"framework_id", id}, {"master", master}});
      log_.info(fmt::format("Current master: {}", master), {{"master", master}});
      break;
    }
    case Event::OFFERS:
      log_.debug(fmt::format("Received {} offers", event.offers().offers_size()));
      break;
    case Event::RESCIND:
      log_.debug("Received rescind offers");
      break;
    case Event::UPDATE: {
      const auto& status = event.update().status();
      std::string detail;
      if (status.has_reason()) {
        detail += fmt::format(", {}", mesos::v1::TaskStatus::Reason_Name(status.reason()));
      }
      if (status.has_source()) {
        detail += fmt::format(", {}", mesos::v1::TaskStatus::Source_Name(status.source()));
      }
      if (!status.message().empty()) detail += fmt::format(": {}", status.message());
      log_.debug(fmt::format("Received update: task '{}' is {}{}", status.task_id().value(),
                             state_name(status.state()), detail));
      break;
    }
    case Event::HEARTBEAT:
      log_.debug("HEARTBEAT");
      break;
    case Event::FAILURE: {
      const auto& failure = event.failure();
      if (failure.has_executor_id()) {
        log_.info(fmt::format("Executor {} terminated with status {} on agent {}",
                              failure.executor_id().value(), failure.status(),
                              failure.agent_id().value()));
      } else if (failure.has_agent_id()) {
        log_.info(fmt::format("Agent {} failed", failure.agent_id().value()));
      }
      break;
    }
    case Event::ERROR:
      log_.error(fmt::format("Master: {}", event.error().message()));
      break;
    default:
      log_.debug(fmt::format("Received event {}", Event::Type_Name(event.type())));
      break;
  }
  manager_->handle_event(event);
}

void EtlScheduler::Impl::on_change(const tasks::TaskChange& change) {
  if (mode_ == Mode::stopped) return;
  const tasks::TaskRecord& record = change.record;
  const auto round = round_of(record.name);
  if (change.previous_phase == Phase::pending && record.phase == Phase::launched) {
    ++stats_.launched;
    log_.info(fmt::format("Launching task {} on {}", record.task_id, record.hostname),
              {{"task_id", record.task_id},
               {"name", record.name},
               {"round", std::int64_t{round.value_or(0)}},
               {"host", record.hostname}});
  }
  const bool never_started =
      change.previous_phase == Phase::launched && record.phase == Phase::pending;
  if (never_started) {
    // The ACCEPT was lost with the connection; the master answered reconciliation with LOST.
    --stats_.launched;
    log_.info(fmt::format("Task {} never reached the master; launching it again", record.task_id),
              {{"task_id", record.task_id}, {"name", record.name}});
  }
  if (record.state && record.state != change.previous_state && !never_started) {
    const std::string state = state_name(*record.state);
    const std::initializer_list<Field> fields = {{"task_id", record.task_id},
                                                 {"name", record.name},
                                                 {"state", state},
                                                 {"round", std::int64_t{round.value_or(0)}},
                                                 {"message", record.message}};
    if (*record.state == mesos::v1::TASK_FINISHED) {
      log_.info(fmt::format("Finished task: {}", record.task_id), fields);
    } else if (is_terminal(*record.state)) {
      log_.warning(fmt::format("Task with ID {} in state {}{}{}", record.task_id, state,
                               record.message.empty() ? "" : ": ", record.message),
                   fields);
    } else {
      log_.info(fmt::format("Task with ID {} in state {}", record.task_id, state), fields);
    }
  }
  stats_.max_in_flight = std::max(stats_.max_in_flight, manager_->in_flight());
  if (hooks_.on_task_change) hooks_.on_task_change(change);
  post_reconsider();
}

void EtlScheduler::Impl::on_fatal(const Error& error) {
  if (ended()) return;
  if (error.code == make_error_code(errc::framework_removed) && teardown_sent_) {
    // The master closed the stream before its answer to TEARDOWN arrived, and the
    // resubscription learnt that the framework is gone: the TEARDOWN did its work.
    torn_down();
    return;
  }
  if (error.code == make_error_code(errc::framework_removed) && framework_id_ &&
      !ever_subscribed_ && store_) {
    // The stored framework is gone (its failover timeout passed while we were away), and its
    // tasks with it: start over as a new framework rather than fail forever.
    log_.warning(fmt::format("The master no longer knows framework '{}' from '{}'; registering "
                             "a new framework",
                             *framework_id_, flags_.state_file),
                 {{"framework_id", *framework_id_}});
    boost::asio::post(executor_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->start_over();
    });
    return;
  }
  log_.error(fmt::format("Giving up: {}", error.what()));
  finish(1);
}

void EtlScheduler::Impl::start_over() {
  if (ended()) return;
  manager_.reset();
  client_.reset();
  if (auto tasks = store_->load_tasks()) {
    for (const auto& [spec, record] : *tasks)
      store_->remove_task(spec.name);
  }
  store_->set_framework_id("");
  framework_id_.reset();
  // The current round starts again: what it had added went with the old framework.
  rounds_[round_] = RoundState{};
  if (auto built = build(); !built) {
    log_.error(fmt::format("Giving up: {}", built.error().what()));
    finish(1);
    return;
  }
  if (auto started = client_->start(); !started) {
    log_.error(fmt::format("Giving up: {}", started.error().what()));
    finish(1);
    return;
  }
  reconsider();
}

void EtlScheduler::Impl::arm_ticker() {
  const auto wait = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(flags_.wait_seconds));
  next_tick_ += wait;
  // After a long stall (a suspended process), tick once, not once per missed period.
  if (const auto now = SteadyClock::now(); next_tick_ < now) next_tick_ = now + wait;
  ticker_.expires_at(next_tick_);
  ticker_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_tick();
  });
}

void EtlScheduler::Impl::on_tick() {
  if (mode_ != Mode::running) return;
  ++stats_.ticks;
  if (hooks_.hold_tick) {
    hooks_.hold_tick([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->tick_round();
    });
  } else {
    tick_round();
  }
  arm_ticker();
}

void EtlScheduler::Impl::tick_round() {
  if (mode_ != Mode::running) return;
  if (gate_open_) {
    log_.debug(fmt::format("Tick: round {} is still filling", round_));
  } else {
    open_gate();
  }
}

void EtlScheduler::Impl::open_gate() {
  ++round_;
  rounds_[round_];
  gate_open_ = true;
  if (store_) {
    if (auto saved = store_->put(kRoundKey, std::to_string(round_)); !saved) {
      log_.error(fmt::format("Cannot keep the round: {}", saved.error().what()));
    }
  }
  log_.debug(fmt::format("Round {}: scheduler accept new work", round_),
             {{"round", std::int64_t{round_}}});
  reconsider();
}

void EtlScheduler::Impl::post_reconsider() {
  if (reconsider_posted_) return;
  reconsider_posted_ = true;
  boost::asio::post(executor_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->reconsider();
  });
}

void EtlScheduler::Impl::reconsider() {
  reconsider_posted_ = false;
  if (ended() || !manager_) return;

  for (const auto& record : manager_->records()) {
    if (record.phase != Phase::done) continue;
    if (record.last_outcome) {  // a pending task killed at shutdown never ran
      const bool ok = *record.last_outcome == mesos::v1::TASK_FINISHED;
      ++(ok ? stats_.finished : stats_.failed);
      if (auto round = round_of(record.name))
        ++(ok ? rounds_[*round].finished : rounds_[*round].failed);
    }
    if (auto removed = manager_->remove(record.name); !removed) {
      log_.warning(fmt::format("Cannot forget task '{}': {}", record.name, removed.error().what()));
    }
  }

  if (mode_ == Mode::stopping) {
    for (const auto& record : manager_->records()) {
      if (record.phase == Phase::pending || record.phase == Phase::backing_off) {
        manager_->kill(record.name);
      }
    }
  }

  if (mode_ == Mode::running && gate_open_) top_up();
  maybe_close_gate();

  if ((mode_ == Mode::draining || mode_ == Mode::stopping) &&
      manager_->in_flight() + manager_->pending() == 0) {
    begin_teardown();
  }
}

void EtlScheduler::Impl::top_up() {
  auto& round = rounds_[round_];
  const auto max = static_cast<std::size_t>(flags_.maxtasks);
  const std::size_t out = manager_->in_flight() + manager_->pending();
  if (out >= max || round.added >= flags_.maxtasks) return;
  // At most -maxtasks per round, so that a round ends even where fewer fit at once.
  const auto quota = static_cast<std::size_t>(flags_.maxtasks - round.added);
  const std::size_t count = std::min(max - out, quota);
  // One store write for the lot: a round of -maxtasks 10000 is one transaction, not 10,000.
  auto batched = manager_->batch([&] {
    for (std::size_t i = 0; i < count; ++i) {
      std::string name;
      do {
        name = fmt::format("etl-{}-{}", round_, ++round.next_index);
      } while (manager_->find(name) != nullptr);
      if (auto added = manager_->add(spec_for(name)); !added) {
        log_.error(fmt::format("Cannot add task '{}': {}", name, added.error().what()));
        return;
      }
      ++round.added;
    }
  });
  if (!batched) log_.error(fmt::format("Cannot store the new tasks: {}", batched.error().what()));
}

void EtlScheduler::Impl::maybe_close_gate() {
  if (!gate_open_) return;
  auto& round = rounds_[round_];
  if (round.added == 0) return;  // every slot was busy at the tick: wait for one to free
  for (const auto& record : manager_->records()) {
    if ((record.phase == Phase::pending || record.phase == Phase::backing_off) &&
        round_of(record.name) == round_) {
      return;  // not all of this round is out yet
    }
  }
  const std::size_t in_flight = manager_->in_flight();
  if (in_flight < static_cast<std::size_t>(flags_.maxtasks) && round.added < flags_.maxtasks) {
    return;
  }
  gate_open_ = false;
  round.filled = true;
  ++stats_.rounds_filled;
  log_.info(
      fmt::format("Round {}: {} task(s) launched, {} running", round_, round.added, in_flight),
      {{"round", std::int64_t{round_}},
       {"launched", std::int64_t{round.added}},
       {"running", static_cast<std::int64_t>(in_flight)}});
  if (flags_.rounds > 0 && stats_.rounds_filled >= flags_.rounds) {
    transition_to(Mode::draining, "the last round is launched");
    last_round_ = round_;
    ticker_.cancel();
    log_.info(
        fmt::format("Last round ({}) launched; waiting for {} task(s) to end", round_, in_flight),
        {{"round", std::int64_t{round_}}});
  }
}

void EtlScheduler::Impl::kill_running() {
  for (const auto& record : manager_->records()) {
    if (record.phase == Phase::launched || record.phase == Phase::active) {
      if (!record.kill_requested) manager_->kill(record.name);
    }
  }
}

int EtlScheduler::Impl::final_status() const {
  if (signals_ > 0 || !last_round_) return 0;
  auto it = rounds_.find(*last_round_);
  return it != rounds_.end() && it->second.failed > 0 ? 1 : 0;
}

void EtlScheduler::Impl::post_teardown() {
  teardown_wanted_ = false;
  boost::asio::post(executor_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->begin_teardown();
  });
}

void EtlScheduler::Impl::begin_teardown() {
  if (ended() || teardown_in_flight_) return;
  transition_to(Mode::tearing_down, "every task has ended");
  if (!client_->framework_id()) {  // never registered: nothing to tear down
    finish(final_status());
    return;
  }
  if (client_->state() != scheduler::State::subscribed) {
    if (!teardown_wanted_) log_.info("Waiting for the master to send TEARDOWN");
    teardown_wanted_ = true;
    return;
  }
  teardown_in_flight_ = true;
  teardown_sent_ = true;
  log_.info(fmt::format("Tearing down framework {}", client_->framework_id()->value()));
  client_->teardown([weak = weak_from_this()](Result<void> done) {
    if (auto self = weak.lock()) self->on_teardown(std::move(done));
  });
}

void EtlScheduler::Impl::on_teardown(Result<void> done) {
  teardown_in_flight_ = false;
  if (ended()) return;
  if (!done) {
    if (done.error().code == make_error_code(errc::not_subscribed)) {
      // The master ends the stream of a framework it removes, which may come before its 202:
      // the next subscription attempt tells (ERROR "removed", or SUBSCRIBED and we send again).
      log_.debug(fmt::format("TEARDOWN: {}; checking on resubscription", done.error().what()));
      teardown_wanted_ = true;
      return;
    }
    log_.warning(fmt::format("TEARDOWN failed: {}; trying again", done.error().what()));
    teardown_wanted_ = true;
    retry_timer_.expires_after(std::chrono::seconds(1));
    retry_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) {
        if (self->client_->state() == scheduler::State::subscribed) self->begin_teardown();
      }
    });
    return;
  }
  torn_down();
}

void EtlScheduler::Impl::torn_down() {
  log_.info(fmt::format("Framework {} torn down", framework_id_.value_or("")));
  if (store_) {
    // The framework is gone: a later run registers a new one.
    store_->set_framework_id("");
    store_->put(kRoundKey, "0");
  }
  finish(final_status());
}

void EtlScheduler::Impl::finish(int status) {
  if (ended()) return;
  transition_to(Mode::done, fmt::format("exit status {}", status));
  exit_status_ = status;
  gate_open_ = false;
  ticker_.cancel();
  retry_timer_.cancel();
  log_.info(fmt::format("Done: {} round(s), {} task(s) finished, {} failed; exit status {}",
                        stats_.rounds_filled, stats_.finished, stats_.failed, status),
            {{"rounds", std::int64_t{stats_.rounds_filled}},
             {"finished", static_cast<std::int64_t>(stats_.finished)},
             {"failed", static_cast<std::int64_t>(stats_.failed)},
             {"status", std::int64_t{status}}});
  // Not from inside a client or manager handler: the client is stopped from the executor.
  boost::asio::post(executor_, [weak = weak_from_this(), status] {
    auto self = weak.lock();
    if (!self || self->mode_ == Mode::stopped) return;
    self->stop();
    if (self->hooks_.on_exit) self->hooks_.on_exit(status);
  });
}

EtlScheduler::EtlScheduler(boost::asio::any_io_executor executor, Flags flags, Logger& logger,
                           Hooks hooks)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(flags), logger,
                                   std::move(hooks))) {}
EtlScheduler::~EtlScheduler() {
  impl_->stop();
}

Result<void> EtlScheduler::start() {
  return impl_->start();
}
void EtlScheduler::shutdown() {
  impl_->shutdown();
}
void EtlScheduler::stop() {
  impl_->stop();
}
std::optional<int> EtlScheduler::exit_status() const {
  return impl_->exit_status();
}
Stats EtlScheduler::stats() const {
  return impl_->stats();
}
bool EtlScheduler::gate_open() const {
  return impl_->gate_open();
}
const tasks::TaskManager* EtlScheduler::task_manager() const {
  return impl_->task_manager();
}
const scheduler::Client* EtlScheduler::client() const {
  return impl_->client();
}
std::uint16_t EtlScheduler::health_port() const {
  return impl_->health_port();
}

}  // namespace heatblast::etl
