#include "samza_scheduler.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "heatblast/task_state.hpp"
#include "heatblast/zookeeper_store.hpp"
#include "host_port.hpp"
#include "json_util.hpp"
#include "machine.hpp"
#include "scheduler_impl.hpp"

namespace heatblast::samza {

using mesos::v1::TaskState;
using tasks::Phase;

namespace {

constexpr std::string_view kJobPrefix = "samza-scheduler/job/";

std::chrono::milliseconds to_millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000 + 0.5));
}

std::string host_name() {
  return apps::machine_hostname().value_or("localhost");
}

Result<std::string> read_secret(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) return fail(errc::io_error, fmt::format("cannot read {} '{}'", what, path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.empty())
    return fail(errc::invalid_argument, fmt::format("{} '{}' is empty", what, path));
  return text;
}

// An instance's election node: its advertised API address, for the standbys to forward to.
std::string leader_json(const std::string& address) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("address");
  w.String(address.data(), static_cast<rapidjson::SizeType>(address.size()));
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string address_of_leader(std::string_view data) {
  auto doc = json::parse(data);
  if (!doc || !doc->IsObject() || !doc->HasMember("address") || !(*doc)["address"].IsString()) {
    return {};
  }
  return std::string(json::view((*doc)["address"]));
}

std::string state_name(const std::optional<TaskState>& state) {
  return state ? mesos::v1::TaskState_Name(*state) : "";
}

// " (REASON_...)" for a job's status text, or nothing.
std::string reason_suffix(const std::optional<mesos::v1::TaskStatus::Reason>& reason) {
  return reason ? fmt::format(" ({})", mesos::v1::TaskStatus::Reason_Name(*reason)) : "";
}

}  // namespace

std::string random_hex_token() {
  std::random_device device;
  std::string out;
  for (int i = 0; i < 4; ++i)
    out += fmt::format("{:08x}", device());
  return out;
}

// An exclusive advisory lock on "<state>.lock": two schedulers on one state file would take the
// framework from each other in turn.
class FileLock {
 public:
  static Result<std::shared_ptr<FileLock>> acquire(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return fail(errc::io_error, fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    }
    auto lock = std::make_shared<FileLock>(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      return fail(errc::invalid_argument,
                  fmt::format("'{}' is held by another samza-scheduler", path));
    }
    return lock;
  }
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock() { ::close(fd_); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

SamzaScheduler::Impl::Impl(boost::asio::any_io_executor executor, Flags flags, Logger& logger,
                           Hooks hooks)
    : executor_(std::move(executor)),
      flags_(std::move(flags)),
      log_(logger),
      hooks_(std::move(hooks)) {}

SamzaScheduler::Impl::~Impl() {
  stop();
}

// --- start and stop ------------------------------------------------------------------------------

Result<void> SamzaScheduler::Impl::start() {
  if (started_) return fail(errc::invalid_argument, "samza-scheduler was started already");
  started_ = true;
  if (!flags_.api_token_file.empty()) {
    auto token = read_secret(flags_.api_token_file, "API token file");
    if (!token) return tl::unexpected(token.error());
    api_token_ = std::move(*token);
  }
  if (ha()) {
    // The state is read when this instance is elected; until then it is a standby.
    if (auto api = start_api(); !api) return api;
    return start_election();
  }
  if (auto opened = open_state(); !opened) return opened;
  if (auto loaded = load_jobs(); !loaded) return loaded;
  if (auto api = start_api(); !api) return api;
  if (auto framework = start_framework(); !framework) return framework;
  advance_all();
  return {};
}

void SamzaScheduler::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (server_) server_->stop();
  if (forwarder_) forwarder_->cancel_all();
  if (retry_lead_) retry_lead_->cancel();
  if (framework_) framework_->stop();
  // Closing the session removes this instance's node: a standby takes over at once.
  if (election_) election_->stop();
}

std::string SamzaScheduler::Impl::state_place() const {
  return ha() ? fmt::format("ZooKeeper '{}/state'", zk_redacted_)
              : fmt::format("'{}'", flags_.state);
}

// --- high availability ---------------------------------------------------------------------------

Result<void> SamzaScheduler::Impl::start_election() {
  auto url = zookeeper::parse_url(flags_.zk);
  if (!url) return tl::unexpected(url.error());
  zk_path_ = url->path;
  zk_redacted_ = url->redacted();
  forwarder_ = std::make_unique<http::Client>(executor_);
  retry_lead_ = std::make_unique<boost::asio::steady_timer>(executor_);
  zookeeper::ElectionOptions options;
  options.url = *url;
  options.url.path = zk_path_ + "/leader";
  options.data = leader_json(advertise_);
  options.session_timeout = to_millis(flags_.zk_session_timeout_seconds);
  zookeeper::LeaderElection::Handlers handlers;
  handlers.on_change = [this](bool leading, const std::optional<std::string>& data) {
    on_election(leading, data);
  };
  handlers.on_fatal = [this](const Error& error) {
    log_.error(fmt::format("giving up: {}", error.what()));
    if (hooks_.on_exit) boost::asio::post(executor_, [on_exit = hooks_.on_exit] { on_exit(1); });
  };
  handlers.on_log = [this](scheduler::LogLevel level, std::string_view message) {
    switch (level) {
      case scheduler::LogLevel::debug:
        log_.debug(message);
        break;
      case scheduler::LogLevel::info:
        log_.info(message);
        break;
      case scheduler::LogLevel::warning:
        log_.warning(message);
        break;
      case scheduler::LogLevel::error:
        log_.error(message);
        break;
    }
  };
  election_ = std::make_unique<zookeeper::LeaderElection>(executor_, std::move(options),
                                                          std::move(handlers));
  log_.info(fmt::format("high availability: standby until elected in '{}/leader'", zk_redacted_));
  return election_->start();
}

void SamzaScheduler::Impl::on_election(bool leading, const std::optional<std::string>& data) {
  if (stopped_) return;
  if (leading) {
    leader_address_ = advertise_;
    if (!leading_) {
      leading_ = true;
      become_leader();
    }
    return;
  }
  const std::string leader = data ? address_of_leader(*data) : std::string();
  if (leading_) {
    leading_ = false;
    step_down();
  }
  if (leader != leader_address_) {
    log_.info(leader.empty() ? std::string("standby; no leader known")
                             : fmt::format("standby; the leader is {}", leader));
  }
  leader_address_ = leader;
}

void SamzaScheduler::Impl::become_leader() {
  if (stopped_ || !leading_ || framework_) return;
  log_.info("elected leader: loading the state from ZooKeeper and subscribing to Mesos");
  auto retry = [this](const Error& error) {
    // Most likely the connection went with the request; the session events decide whether
    // this instance still leads. Until then the API answers 503.
    log_.error(fmt::format("cannot take over as leader: {}; trying again in 1 s", error.what()));
    step_down();
    retry_lead_->expires_after(std::chrono::seconds(1));
    retry_lead_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!ec && self && !self->stopped_) self->become_leader();
    });
  };
  zookeeper::Session* session = election_->session();
  if (session == nullptr) return;
  auto opened = store::ZooKeeperStore::open(*session, zk_path_ + "/state");
  if (!opened) return retry(opened.error());
  store_ = std::move(*opened);
  if (auto loaded = load_jobs(); !loaded) return retry(loaded.error());
  if (auto started = start_framework(); !started) return retry(started.error());
  advance_all();
}

void SamzaScheduler::Impl::step_down() {
  if (framework_) {
    log_.warning(
        "not the leader any more: Mesos client stopped; the tasks keep running for the next "
        "leader");
  }
  retry_lead_->cancel();
  // No TEARDOWN: the next leader resubscribes as this framework and adopts the tasks.
  framework_.reset();
  store_.reset();
  jobs_.clear();
  advance_posted_.clear();
  ever_subscribed_ = false;
}

Result<void> SamzaScheduler::Impl::open_state() {
  auto lock = FileLock::acquire(flags_.state + ".lock");
  if (!lock) return tl::unexpected(lock.error());
  lock_ = std::move(*lock);
  auto opened = store::SqliteStore::open(flags_.state);
  if (!opened) return tl::unexpected(opened.error());
  store_ = std::move(*opened);
  return {};
}

Result<void> SamzaScheduler::Impl::load_jobs() {
  auto records = store_->scan(kJobPrefix);
  if (!records) return tl::unexpected(records.error());
  for (const auto& [key, value] : *records) {
    auto job = job_from_json(value);
    if (!job) {
      // One bad record must not take every other job down with it.
      log_.error(fmt::format("ignoring job record '{}': {}", key, job.error().what()));
      continue;
    }
    jobs_[job->spec.name] = std::move(*job);
  }
  if (!jobs_.empty())
    log_.info(fmt::format("loaded {} job(s) from {}", jobs_.size(), state_place()));
  return {};
}

Result<void> SamzaScheduler::Impl::start_api() {
  http::ServerOptions options;
  options.address = flags_.listen_address;
  options.port = flags_.listen_port;
  options.max_body_size = flags_.max_body_bytes;
  server_ = std::make_unique<http::Server>(
      executor_, options,
      [weak = weak_from_this()](const http::ServerRequest& request, http::Responder responder) {
        if (auto self = weak.lock()) self->on_request(request, std::move(responder));
      });
  if (auto started = server_->start(); !started) {
    return fail(started.error().code == make_error_code(errc::address_in_use) ? errc::address_in_use
                                                                              : errc::io_error,
                fmt::format("REST API on '{}': {}", flags_.listen, started.error().what()));
  }
  const bool everywhere = flags_.listen_address == "0.0.0.0" || flags_.listen_address == "::";
  if (!flags_.advertise.empty()) {
    advertise_ = flags_.advertise;
  } else {
    const std::string host = everywhere ? host_name() : flags_.listen_address;
    advertise_ = host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, server_->port())
                                                     : fmt::format("{}:{}", host, server_->port());
  }
  const auto colon = advertise_.rfind(':');
  advertise_host_ = advertise_.substr(0, colon);
  advertise_port_ = advertise_.substr(colon + 1);
  log_.info(fmt::format("REST API and status page on {}:{}; tasks reach it at {}",
                        flags_.listen_address, server_->port(), advertise_));
  if (api_token_.empty() && !apps::is_loopback(flags_.listen_address)) {
    log_.warning(fmt::format(
        "the API on '{}' is open to anyone who reaches the port, and it runs commands on the "
        "cluster: give --api-token-file",
        flags_.listen));
  }
  return {};
}

Result<scheduler::Options> SamzaScheduler::Impl::client_options() {
  scheduler::Options options;
  options.masters = flags_.masters;
  auto& info = options.framework;
  info.set_user(flags_.user);
  info.set_name(flags_.name);
  info.set_hostname(host_name());
  info.set_failover_timeout(flags_.failover_timeout_seconds);
  info.set_webui_url(fmt::format("http://{}/", advertise_));
  if (!flags_.role.empty()) {
    info.add_roles(flags_.role);
    info.add_capabilities()->set_type(mesos::v1::FrameworkInfo::Capability::MULTI_ROLE);
  }
  if (!flags_.principal.empty()) info.set_principal(flags_.principal);
  auto id = store_->framework_id();
  if (!id) return tl::unexpected(id.error());
  if (*id && !(*id)->empty()) {
    info.mutable_id()->set_value(**id);
    log_.info(fmt::format("resuming framework '{}' from {}", **id, state_place()));
  }
  if (!flags_.secret_file.empty()) {
    auto credentials = scheduler::Credentials::from_file(flags_.principal, flags_.secret_file);
    if (!credentials) return tl::unexpected(credentials.error());
    options.credentials = std::move(*credentials);
  }
  if (hooks_.client_options) hooks_.client_options(options);

  return options;
}

scheduler::Handlers SamzaScheduler::Impl::framework_handlers() {
  scheduler::Handlers callbacks;
  callbacks.on_event = [this](const mesos::v1::scheduler::Event& event) {
    if (event.type() == mesos::v1::scheduler::Event::SUBSCRIBED) {
      ever_subscribed_ = true;
      log_.info(fmt::format("subscribed as framework '{}' to {}",
                            event.subscribed().framework_id().value(),
                            framework_->client().current_master()));
    }
  };
  callbacks.on_framework_id = [this](const mesos::v1::FrameworkID& id) {
    // Stored before the SUBSCRIBED that names it is handled, so a restart resumes it.
    if (auto saved = store_->set_framework_id(id.value()); !saved)
      log_.error(fmt::format("cannot store the framework id: {}", saved.error().what()));
  };
  callbacks.on_fatal = [this](const Error& error) {
    const bool removed = error.code == make_error_code(errc::framework_removed);
    if (removed && !ever_subscribed_) {
      // The stored framework is gone (its failover timeout passed while we were away), and its
      // tasks with it: register anew and run every job again rather than fail forever.
      log_.warning(
          fmt::format("the master no longer knows the stored framework ({}); "
                      "registering a new one and relaunching every job",
                      error.what()));
      boost::asio::post(executor_, [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && !self->stopped_) self->start_over();
      });
      return;
    }
    log_.error(fmt::format("giving up: {}", error.what()));
    if (hooks_.on_exit) boost::asio::post(executor_, [on_exit = hooks_.on_exit] { on_exit(1); });
  };
  callbacks.on_log = [this](scheduler::LogLevel level, std::string_view message) {
    switch (level) {
      case scheduler::LogLevel::debug:
      case scheduler::LogLevel::info:
        log_.debug(message);
        break;
      case scheduler::LogLevel::warning:
        log_.warning(message);
        break;
      case scheduler::LogLevel::error:
        log_.error(message);
        break;
    }
  };
  return callbacks;
}

Result<void> SamzaScheduler::Impl::start_framework() {
  auto options = client_options();
  if (!options) return tl::unexpected(options.error());
  tasks::ManagerOptions manager;
  manager.role = flags_.role;
  manager.min_revive_interval = to_millis(flags_.revive_interval_seconds);
  if (hooks_.manager_options) hooks_.manager_options(manager);

  manager.store = store_.get();
  framework_ = std::make_unique<tasks::Framework>(
      executor_, std::move(*options), std::move(manager), framework_handlers(),
      [this](const tasks::TaskChange& change) { on_change(change); });
  if (auto started = framework_->start(); !started) return started;
  // Nothing is launched before this returns to the executor, so every relaunch of a loaded
  // task already uses this scheduler's spec.
  refresh_specs();
  return {};
}

// The stored task specs carry the URLs and settings of the scheduler that launched them; a
// relaunch after a restart must use this one's (another --advertise, for instance). A running
// container keeps its run (update_spec leaves it alone).
void SamzaScheduler::Impl::refresh_specs() {
  auto& manager = framework_->tasks();
  for (const auto& record : manager.records()) {
    auto owner = owner_of(record.name);
    if (!owner) continue;
    auto job = jobs_.find(owner->job);
    if (job == jobs_.end()) continue;
    tasks::TaskSpec fresh = owner->container_id ? container_spec(job->second, *owner->container_id)
                                                : job_info_spec(job->second);
    if (auto updated = manager.update_spec(std::move(fresh)); !updated) {
      log_.error(fmt::format("cannot refresh the spec of task '{}': {}", record.name,
                             updated.error().what()));
    }
  }
}

void SamzaScheduler::Impl::start_over() {
  framework_.reset();
  if (auto tasks = store_->load_tasks()) {
    for (const auto& [spec, record] : *tasks)
      store_->remove_task(spec.name);
  }
  store_->set_framework_id("");
  for (auto& [name, job] : jobs_) {
    job.container_generation.clear();
    if (!job.model && job.state != JobState::failed) job.model_wanted = true;
    save(job);
  }
  if (auto started = start_framework(); !started) {
    log_.error(fmt::format("giving up: {}", started.error().what()));
    if (hooks_.on_exit) hooks_.on_exit(1);
    return;
  }
  advance_all();
}

// --- jobs ----------------------------------------------------------------------------------------

Result<void> SamzaScheduler::Impl::save(const Job& job) {
  auto saved = store_->put(fmt::format("{}{}", kJobPrefix, job.spec.name), job_to_json(job));
  if (!saved)
    log_.error(fmt::format("cannot store job '{}': {}", job.spec.name, saved.error().what()));
  return saved;
}

void SamzaScheduler::Impl::accept_model(Job& job, JobModel model) {
  const bool first = !job.model.has_value();
  log_.info(fmt::format("job '{}': model of {} container(s), {} task(s){}", job.spec.name,
                        model.container_ids.size(), model.task_count,
                        first ? "" : "; replacing its containers one at a time"));
  job.model = std::move(model);
  job.model_wanted = false;
  if (!first) ++job.generation;
  if (job.state == JobState::failed) job.state = JobState::starting;
  derive_state(job);
  save(job);
  post_advance(job.spec.name);
}

void SamzaScheduler::Impl::post_advance(const std::string& name) {
  if (advance_posted_[name]) return;
  advance_posted_[name] = true;
  boost::asio::post(executor_, [weak = weak_from_this(), name] {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    self->advance_posted_.erase(name);
    self->advance(name);
  });
}

void SamzaScheduler::Impl::advance_all() {
  for (const auto& [name, job] : jobs_)
    post_advance(name);
}

// Brings the TaskManager's wanted tasks in line with the job. Runs posted, never inside a
// TaskManager callback, so it may remove() tasks.
void SamzaScheduler::Impl::advance(const std::string& name) {
  auto it = jobs_.find(name);
  if (it == jobs_.end() || !framework_) return;
  Job& job = it->second;
  if (job.state == JobState::killing) {
    if (advance_killing(job)) {
      store_->erase(fmt::format("{}{}", kJobPrefix, name));
      log_.info(fmt::format("job '{}': every task ended; forgotten", name));
      jobs_.erase(it);
    }
    return;
  }
  const JobState before = job.state;
  advance_job_info(job);
  if (job.model && job.state != JobState::failed) advance_containers(job);
  derive_state(job);
  if (job.state != before) {
    log_.info(fmt::format("job '{}': {} -> {}{}", name, to_string(before), to_string(job.state),
                          job.reason.empty() ? "" : fmt::format(" ({})", job.reason)));
    save(job);
  }
}

// Kills every task of the job and forgets those that ended; true once none is left.
bool SamzaScheduler::Impl::advance_killing(Job& job) {
  auto& manager = framework_->tasks();
  bool left = false;
  for (const auto& record : manager.records()) {
    auto owner = owner_of(record.name);
    if (!owner || owner->job != job.spec.name) continue;
    if (record.phase == Phase::done) {
      manager.remove(record.name);
      continue;
    }
    left = true;
    if (!record.kill_requested) manager.kill(record.name);
  }
  return !left;
}

void SamzaScheduler::Impl::advance_job_info(Job& job) {
  auto& manager = framework_->tasks();
  const std::string name = job_info_task_name(job.spec.name);
  const tasks::TaskRecord* record = manager.find(name);
  if (record && record->phase == Phase::done) {
    if (job.model_wanted && job.state != JobState::failed) {
      const auto limit = to_millis(flags_.job_info_timeout_seconds);
      const bool timed_out =
          record->launched_at && std::chrono::system_clock::now() - *record->launched_at >= limit;
      const std::string detail =
          fmt::format("{}{}{}", state_name(record->last_outcome), reason_suffix(record->reason),
                      record->message.empty() ? "" : ": " + record->message);
      set_failed(job, timed_out && record->last_outcome == mesos::v1::TASK_KILLED
                          ? fmt::format("job-info task '{}' posted no model within {} s",
                                        record->task_id, flags_.job_info_timeout_seconds)
                          : fmt::format("job-info task '{}' ended without posting a model: {}",
                                        record->task_id, detail));
    }
    manager.remove(name);
    return;
  }
  if (record || !job.model_wanted || job.state == JobState::failed) return;
  if (auto added = manager.add(job_info_spec(job)); !added) {
    set_failed(job, fmt::format("cannot run the job-info task: {}", added.error().what()));
    return;
  }
  if (!job.model) job.state = JobState::computing_model;
}

void SamzaScheduler::Impl::advance_containers(Job& job) {
  auto& manager = framework_->tasks();
  const auto& ids = job.model->container_ids;
  for (const auto& id : ids) {
    const std::string name = container_task_name(job.spec.name, id);
    const tasks::TaskRecord* record = manager.find(name);
    if (!record) {
      if (auto gen = job.container_generation.find(id);
          gen != job.container_generation.end() && gen->second < job.generation) {
        continue;  // being replaced: roll_one() adds it
      }
      if (auto added = manager.add(container_spec(job, id)); !added) {
        set_failed(job, fmt::format("cannot run container {}: {}", id, added.error().what()));
        return;
      }
      job.container_generation[id] = job.generation;
      save(job);
    } else if (record->phase == Phase::done && !record->kill_requested &&
               job.container_generation[id] == job.generation) {
      set_failed(job, fmt::format("container {} ended for good after {} run(s): {}{}", id,
                                  record->launches, state_name(record->last_outcome),
                                  record->message.empty() ? "" : ": " + record->message));
      return;
    }
  }
  // Containers the model no longer has.
  for (auto it = job.container_generation.begin(); it != job.container_generation.end();) {
    if (std::find(ids.begin(), ids.end(), it->first) != ids.end()) {
      ++it;
      continue;
    }
    const std::string name = container_task_name(job.spec.name, it->first);
    const tasks::TaskRecord* record = manager.find(name);
    if (record && record->phase != Phase::done) {
      if (!record->kill_requested) manager.kill(name);
      ++it;
      continue;
    }
    if (record) manager.remove(name);
    it = job.container_generation.erase(it);
    save(job);
  }
  roll_one(job);
}

// Replaces one container of an older generation, once every current one runs.
void SamzaScheduler::Impl::roll_one(Job& job) {
  if (job.model_wanted) return;  // a new model is coming: replace towards that one
  auto& manager = framework_->tasks();
  std::optional<std::string> next;
  for (const auto& id : job.model->container_ids) {
    const int generation = job.container_generation[id];
    const tasks::TaskRecord* record = manager.find(container_task_name(job.spec.name, id));
    if (generation == job.generation) {
      if (!record || record->state != mesos::v1::TASK_RUNNING) return;  // one at a time
    } else if (!next) {
      next = id;
    }
  }
  if (!next) return;
  const std::string name = container_task_name(job.spec.name, *next);
  const tasks::TaskRecord* record = manager.find(name);
  if (record && record->phase != Phase::done) {
    if (!record->kill_requested) {
      log_.info(fmt::format("job '{}': replacing container {} ('{}')", job.spec.name, *next,
                            record->task_id));
      manager.kill(name);
    }
    return;
  }
  if (record) manager.remove(name);
  if (auto added = manager.add(container_spec(job, *next)); !added) {
    set_failed(job, fmt::format("cannot run container {}: {}", *next, added.error().what()));
    return;
  }
  job.container_generation[*next] = job.generation;
  save(job);
}

void SamzaScheduler::Impl::derive_state(Job& job) {
  if (job.state == JobState::failed || job.state == JobState::killing) return;
  if (!job.model) {
    job.state = job.model_wanted ? JobState::computing_model : JobState::submitted;
    return;
  }
  const auto& manager = framework_->tasks();
  std::size_t running = 0;
  bool rolling = job.model_wanted;
  for (const auto& id : job.model->container_ids) {
    const tasks::TaskRecord* record = manager.find(container_task_name(job.spec.name, id));
    if (record && record->state == mesos::v1::TASK_RUNNING) ++running;
    if (job.container_generation[id] != job.generation) rolling = true;
  }
  if (running == job.model->container_ids.size() && !rolling) {
    job.degraded = false;  // stored with the state change to RUNNING
    job.state = JobState::running;
  } else if (job.degraded) {
    job.state = JobState::degraded;
  } else {
    job.state = job.model_wanted ? JobState::computing_model : JobState::starting;
  }
}

void SamzaScheduler::Impl::set_failed(Job& job, std::string reason) {
  log_.warning(fmt::format("job '{}' FAILED: {}", job.spec.name, reason));
  job.state = JobState::failed;
  job.reason = std::move(reason);
  job.model_wanted = false;
  save(job);
}

// Inside the TaskManager: note what happened, change the manager only later (post_advance).
void SamzaScheduler::Impl::on_change(const tasks::TaskChange& change) {
  const tasks::TaskRecord& record = change.record;
  auto owner = owner_of(record.name);
  if (!owner) return;
  auto it = jobs_.find(owner->job);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  if (record.state && record.state != change.previous_state) {
    log_.info(fmt::format("task '{}' is {}{}", record.task_id, state_name(record.state),
                          record.message.empty() ? "" : ": " + record.message));
    if (owner->container_id && is_terminal(*record.state) && !record.kill_requested &&
        job.state != JobState::killing) {
      job.degraded = true;
      job.reason = fmt::format("container {}: {}{}{}", *owner->container_id,
                               state_name(record.state), reason_suffix(record.reason),
                               record.message.empty() ? "" : ": " + record.message);
    }
  }
  post_advance(owner->job);
}

void SamzaScheduler::Impl::add_common(const Job& job, tasks::TaskSpec& spec,
                                      std::vector<std::string> arguments,
                                      const std::map<std::string, std::string>& extra_env) const {
  const JobSpec& s = job.spec;
  auto& command = spec.command;
  command.set_shell(false);
  if (!s.docker_image.empty()) {
    mesos::v1::ContainerInfo container;
    container.set_type(mesos::v1::ContainerInfo::DOCKER);
    container.mutable_docker()->set_image(s.docker_image);
    spec.container = std::move(container);
  } else {
    // shell=false: `value` is the file run and `arguments` the whole argv, argv[0] included.
    command.set_value(s.command);
    arguments.insert(arguments.begin(), s.command);
  }
  for (auto& argument : arguments)
    command.add_arguments(std::move(argument));
  for (const auto& uri : s.uris)
    command.add_uris()->set_value(uri);
  auto* environment = command.mutable_environment();
  auto add_variable = [&](const std::string& name, const std::string& value) {
    auto* variable = environment->add_variables();
    variable->set_name(name);
    variable->set_value(value);
  };
  for (const auto& [name, value] : s.env) {
    if (!extra_env.contains(name)) add_variable(name, value);
  }
  for (const auto& [name, value] : extra_env)
    add_variable(name, value);
  spec.resources.scalars = {{"cpus", s.container_cpus}, {"mem", s.container_mem}};
  for (const auto& [key, value] : s.labels) {
    auto* label = spec.labels.add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  auto* label = spec.labels.add_labels();
  label->set_key("heatblast.job");
  label->set_value(s.name);
  spec.constraints = s.constraints;
}

tasks::TaskSpec SamzaScheduler::Impl::job_info_spec(const Job& job) const {
  tasks::TaskSpec spec;
  spec.name = job_info_task_name(job.spec.name);
  add_common(job, spec, {"get-mesos-configs", job.spec.name},
             {{"HEATBLAST_HOST", advertise_host_},
              {"HEATBLAST_PORT", advertise_port_},
              {"HEATBLAST_JOB_INFO_URL", fmt::format("http://{}/jobs/{}/job-info?token={}",
                                                     advertise_, job.spec.name, job.token)},
              {"JAVA_OPTS", job.spec.java_opts}});
  spec.restart.policy = tasks::RestartPolicy::never;
  spec.timeout = to_millis(flags_.job_info_timeout_seconds);
  return spec;
}

tasks::TaskSpec SamzaScheduler::Impl::container_spec(const Job& job, const std::string& id) const {
  tasks::TaskSpec spec;
  spec.name = container_task_name(job.spec.name, id);
  add_common(job, spec, {"run-container"},
             {{"SAMZA_CONTAINER_ID", id},
              {"SAMZA_COORDINATOR_URL",
               fmt::format("http://{}/jobs/{}/coordinator", advertise_, job.spec.name)},
              {"JAVA_OPTS", job.spec.java_opts},
              {"HEATBLAST_HOST", advertise_host_},
              {"HEATBLAST_PORT", advertise_port_}});
  const RestartSpec& restart = job.spec.restart;
  spec.restart.policy = restart.policy == "never"        ? tasks::RestartPolicy::never
                        : restart.policy == "on_failure" ? tasks::RestartPolicy::on_failure
                                                         : tasks::RestartPolicy::always;
  spec.restart.max_restarts = restart.max_restarts;
  spec.restart.backoff = {to_millis(restart.backoff_seconds),
                          to_millis(restart.max_backoff_seconds), 2.0, 0.2};
  return spec;
}

// --- views ---------------------------------------------------------------------------------------

JobView SamzaScheduler::Impl::view_of(const Job& job) const {
  JobView view;
  view.name = job.spec.name;
  view.state = std::string(to_string(job.state));
  view.reason = job.reason;
  view.image = job.spec.docker_image.empty() ? job.spec.command : job.spec.docker_image;
  view.generation = job.generation;
  if (!framework_) return view;
  const auto& manager = framework_->tasks();
  if (const auto* info = manager.find(job_info_task_name(job.spec.name))) {
    view.job_info_state =
        info->state ? state_name(info->state) : std::string(to_string(info->phase));
  }
  if (!job.model) return view;
  view.wanted = job.model->container_ids.size();
  for (const auto& id : job.model->container_ids) {
    ContainerView container;
    container.id = id;
    if (auto gen = job.container_generation.find(id); gen != job.container_generation.end()) {
      container.generation = gen->second;
    }
    if (const auto* record = manager.find(container_task_name(job.spec.name, id))) {
      container.task_id = record->task_id;
      container.agent_id = record->agent_id;
      container.host = record->hostname;
      container.state = state_name(record->state);
      container.phase = std::string(to_string(record->phase));
      container.message = record->message;
      container.restarts = std::max(0, record->launches - 1);
      if (record->reason) container.reason = mesos::v1::TaskStatus::Reason_Name(*record->reason);
      if (record->state == mesos::v1::TASK_RUNNING) ++view.running;
    }
    view.restarts += container.restarts;
    view.containers.push_back(std::move(container));
  }
  return view;
}

std::vector<JobView> SamzaScheduler::Impl::all_views() const {
  std::vector<JobView> out;
  for (const auto& [name, job] : jobs_)
    out.push_back(view_of(job));
  return out;
}

FrameworkView SamzaScheduler::Impl::framework_view() const {
  FrameworkView view;
  view.name = flags_.name;
  if (ha()) {
    view.instance = leading_ ? "leader" : "standby";
    view.leader = leader_address_;
  }
  if (!framework_) {
    if (ha()) view.state = leading_ ? "taking over" : "standby";
    return view;
  }
  const auto& client = framework_->client();
  if (auto id = client.framework_id()) view.id = id->value();
  view.master = client.current_master();
  view.state = std::string(scheduler::to_string(client.state()));
  return view;
}

MetricsView SamzaScheduler::Impl::metrics_view() const {
  MetricsView view;
  view.framework = framework_view();
  view.jobs = all_views();
  view.http_requests = http_requests_;
  if (!framework_) return view;
  const auto counters = framework_->client().counters();
  view.events = counters.events;
  for (const auto& [type, calls] : counters.calls)
    view.calls[type] = calls.sent;
  view.subscriptions = counters.subscriptions;
  view.reconnects = counters.reconnects;
  if (auto it = counters.calls.find("ACCEPT"); it != counters.calls.end()) {
    view.offers_used = it->second.sent;
  }
  if (auto it = counters.calls.find("DECLINE"); it != counters.calls.end()) {
    view.offers_declined = it->second.sent;
  }
  if (auto it = counters.events.find("OFFERS"); it != counters.events.end()) {
    view.offers_received = it->second;
  }
  return view;
}

// --- the public face -----------------------------------------------------------------------------

SamzaScheduler::SamzaScheduler(boost::asio::any_io_executor executor, Flags flags, Logger& logger,
                               Hooks hooks)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(flags), logger,
                                   std::move(hooks))) {}
SamzaScheduler::~SamzaScheduler() {
  impl_->stop();
}
Result<void> SamzaScheduler::start() {
  auto started = impl_->start();
  if (!started) impl_->stop();
  return started;
}
void SamzaScheduler::stop() {
  impl_->stop();
}
std::uint16_t SamzaScheduler::port() const {
  return impl_->port();
}
std::string SamzaScheduler::advertised() const {
  return impl_->advertised();
}
const tasks::TaskManager* SamzaScheduler::task_manager() const {
  return impl_->task_manager();
}
const scheduler::Client* SamzaScheduler::client() const {
  return impl_->client();
}
std::optional<JobView> SamzaScheduler::job(const std::string& name) const {
  return impl_->job(name);
}

}  // namespace heatblast::samza
