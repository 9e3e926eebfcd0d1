// Integration-test fixtures: local-master in the test's own process (LocalMaster), a framework
// driven by the real scheduler client (TestFramework), and waiting on events with a deadline.
//
// LocalMaster runs a MasterServer on ephemeral loopback ports, on the io_context that also runs
// the client under test, with short heartbeat and allocation intervals, 1..3 replicas, real
// processes (ProcessRunner) or scripted ones (SimulatedRunner), and a temporary work dir. Its
// destructor leaves nothing behind: every process group a task started is SIGKILLed and reaped
// (also when an assertion failed halfway), and the work dir is removed.
//
// Threading: none; everything runs on the test's io_context, driven by wait_for()/run_until().
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fakes/run_until.hpp"
#include "heatblast/http_client.hpp"
#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"
#include "master_server.hpp"
#include "process_runner.hpp"
#include "simulated_runner.hpp"

namespace heatblast::testing {

namespace lm = heatblast::local_master;
using namespace std::chrono_literals;

// Runs `io` until `done()` holds; fails the test when `limit` passes first, saying what was
// awaited and, from `context`, what had happened instead.
template <class Predicate>
void wait_for(boost::asio::io_context& io, std::string_view what, Predicate&& done,
              std::chrono::milliseconds limit, const std::function<std::string()>& context = {}) {
  if (run_until(io, std::forward<Predicate>(done), limit)) return;
  FAIL("timed out after " << limit.count() << " ms waiting for " << what
                          << (context ? "\n" + context() : std::string()));
}

// Processes of group `pgid` that are alive: zombies (ended, waiting for a parent or for PID 1
// to reap them, which some containers do late) do not count. Linux: reads /proc.
inline std::vector<std::string> living_processes_in_group(int pgid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "pid (comm) state ppid pgrp ...": comm may hold anything, so read after its last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    char state = 0;
    int ppid = 0;
    int group = 0;
    if (fields >> state >> ppid >> group && group == pgid && state != 'Z' && state != 'X') {
      out.push_back(fmt::format("{} {} (state {}, parent {})", name,
                                stat.substr(stat.find('('), close - stat.find('(') + 1), state,
                                ppid));
    }
  }
  return out;
}

// Waits until no process of group `pgid` is alive. The master reports a task's end when the
// group's leader (local-master's supervisor) ended; the rest of the group, killed by the same
// signal, may take a moment longer on a busy machine.
inline void wait_group_gone(boost::asio::io_context& io, int pgid,
                            std::chrono::milliseconds limit = 2s) {
  std::vector<std::string> living;
  wait_for(
      io, fmt::format("process group {} to end", pgid),
      [&] {
        living = living_processes_in_group(pgid);
        return living.empty();
      },
      limit, [&] { return fmt::format("still alive: {}", fmt::join(living, "; ")); });
}

// A directory under the system temp dir, removed with everything in it at destruction.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "heatblast-it") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error(fmt::format("mkdtemp '{}' failed", pattern));
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Runs tasks through `inner` and remembers the process groups it started, so that a test that
// fails halfway leaves no process behind: kill_all() SIGKILLs every group not reported ended
// and reaps its leader (a child of this process).
class TrackingRunner final : public lm::TaskRunner {
 public:
  explicit TrackingRunner(lm::TaskRunner& inner) : inner_(inner) {}
  ~TrackingRunner() override { kill_all(); }

  bool docker_available() const override { return inner_.docker_available(); }
  void launch(const lm::LaunchSpec& spec, lm::TimePoint now) override { inner_.launch(spec, now); }
  void signal(std::string_view container_id, lm::TaskSignal signal, lm::TimePoint now) override {
    inner_.signal(container_id, signal, now);
  }
  void adopt(const lm::Adoption& adoption, lm::TimePoint now) override {
    inner_.adopt(adoption, now);
  }
  std::vector<lm::RunnerEvent> poll(lm::TimePoint now) override {
    auto events = inner_.poll(now);
    for (const auto& event : events) {
      if (event.kind == lm::RunnerEvent::Kind::running && event.pid && event.pgid) {
        groups_[event.container_id] = {*event.pid, *event.pgid};
      } else if (event.kind != lm::RunnerEvent::Kind::running) {
        groups_.erase(event.container_id);
      }
    }
    return events;
  }
  std::optional<lm::TimePoint> next_deadline() const override { return inner_.next_deadline(); }

  void kill_all() {
    for (const auto& [container, group] : groups_) {
      if (group.second > 1) ::kill(-group.second, SIGKILL);
      // SIGKILL cannot be ignored, so this returns at once (ECHILD if already reaped).
      if (group.first > 1) ::waitpid(group.first, nullptr, 0);
    }
    groups_.clear();
  }

 private:
  lm::TaskRunner& inner_;
  std::map<std::string, std::pair<int, int>> groups_;  // container -> (pid, pgid)
};

struct LocalMasterConfig {
  int replicas = 1;
  // Scripted tasks (SimulatedRunner, `sim.*` labels) instead of real processes.
  bool simulated = false;
  std::chrono::milliseconds heartbeat_interval{200};
  std::chrono::milliseconds allocation_interval{100};
  // The agent's status update manager's first retry (Mesos: 10 s).
  std::chrono::milliseconds status_update_retry{10s};
  std::string resources = "cpus:2;mem:1024;disk:1024;ports:[31000-31099]";
  // Anything else, applied last.
  std::function<void(lm::MasterOptions&)> tweak;
  // The same for the server's own options (connection limits...).
  std::function<void(lm::MasterServerOptions&)> tweak_server;

  LocalMasterConfig& with_replicas(int n) {
    replicas = n;
    return *this;
  }
  LocalMasterConfig& with_simulated_tasks() {
    simulated = true;
    return *this;
  }
  LocalMasterConfig& with_status_update_retry(std::chrono::milliseconds interval) {
    status_update_retry = interval;
    return *this;
  }
};

class LocalMaster {
 public:
  LocalMaster(boost::asio::io_context& io, LocalMasterConfig config = {})
      : io_(io), config_(std::move(config)), http_(io.get_executor()) {
    lm::MasterServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.replicas = config_.replicas;
    lm::MasterOptions& master = options.master;
    master.hostname = "localhost";
    master.heartbeat_interval = config_.heartbeat_interval;
    master.allocation_interval = config_.allocation_interval;
    master.status_update_retry_min = config_.status_update_retry;
    master.work_dir = work_dir_.str();
    master.seed = 42;
    master.log = [this](std::string_view line) { log_.emplace_back(line); };
    auto resources = parse_resources(config_.resources);
    if (!resources) throw std::runtime_error(resources.error().what());
    master.agents = {lm::AgentSpec{"localhost", std::move(*resources), {}}};
    if (config_.tweak) config_.tweak(master);
    if (config_.tweak_server) config_.tweak_server(options);

    if (config_.simulated) {
      inner_ = std::make_unique<lm::SimulatedRunner>();
    } else {
      auto processes = std::make_unique<lm::ProcessRunner>(
          lm::ProcessRunnerOptions{.meta_dir = work_dir_.str() + "/meta", .docker = ""});
      processes_ = processes.get();
      options.reap = [p = processes_] { p->reap(); };
      inner_ = std::move(processes);
    }
    tracker_ = std::make_unique<TrackingRunner>(*inner_);
    server_ = std::make_unique<lm::MasterServer>(io.get_executor(), options, *tracker_);
    if (processes_ != nullptr) processes_->set_wake([s = server_.get()] { s->wake(); });
    auto started = server_->start();
    if (!started) throw std::runtime_error("local-master: " + started.error().what());
  }

  ~LocalMaster() {
    if (processes_ != nullptr) processes_->set_wake({});  // the server goes before the runner
    http_.cancel_all();
    server_->stop();
    tracker_->kill_all();
  }

  LocalMaster(const LocalMaster&) = delete;
  LocalMaster& operator=(const LocalMaster&) = delete;

  lm::MasterServer& server() { return *server_; }
  lm::Master& master() { return server_->master(); }
  lm::ProcessRunner* processes() { return processes_; }
  const std::string& work_dir() const { return work_dir_path_; }

  std::string address(int replica) const {
    return fmt::format("127.0.0.1:{}", server_->ports().at(static_cast<std::size_t>(replica)));
  }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (auto port : server_->ports())
      out.push_back(fmt::format("127.0.0.1:{}", port));
    return out;
  }
  std::string leader_address() const { return server_->leader_address(); }

  // Whether a line the Master (or its wiring) logged contains `text`.
  bool logged(std::string_view text) const {
    return std::any_of(log_.begin(), log_.end(), [text](const std::string& line) {
      return line.find(text) != std::string::npos;
    });
  }

  // What the Master logged, the last `lines` lines.
  std::string log_tail(std::size_t lines = 15) const {
    std::string out = "local-master log (last lines):\n";
    const std::size_t from = log_.size() > lines ? log_.size() - lines : 0;
    for (std::size_t i = from; i < log_.size(); ++i)
      out += "  " + log_[i] + "\n";
    return out;
  }

  std::optional<lm::FrameworkSnapshot> framework(const std::string& id) const {
    for (auto& framework : server_->master().snapshot().frameworks) {
      if (framework.id == id) return framework;
    }
    return std::nullopt;
  }
  std::optional<lm::TaskSnapshot> task(const std::string& framework_id,
                                       const std::string& task_id) const {
    auto framework = this->framework(framework_id);
    if (!framework) return std::nullopt;
    for (auto& task : framework->tasks) {
      if (task.task_id == task_id) return task;
    }
    return std::nullopt;
  }
  bool removed(const std::string& framework_id) const {
    const auto removed = server_->master().snapshot().removed_frameworks;
    return std::find(removed.begin(), removed.end(), framework_id) != removed.end();
  }

  // GET `path` from the leader over HTTP (real loopback), running the io_context until the
  // answer came; fails the test after 5 s.
  http::Response get(const std::string& path) {
    http::Request request;
    request.method = "GET";
    request.url = fmt::format("http://{}{}", leader_address(), path);
    request.timeout = 5s;
    std::optional<Result<http::Response>> answer;
    http_.async_send(std::move(request), [&](Result<http::Response> r) { answer = std::move(r); });
    wait_for(
        io_, "GET " + path, [&] { return answer.has_value(); }, 6s);
    if (!*answer) FAIL("GET " << path << " failed: " << answer->error().what());
    return std::move(**answer);
  }

 private:
  boost::asio::io_context& io_;
  LocalMasterConfig config_;
  TempDir work_dir_{"heatblast-local-master"};
  std::string work_dir_path_ = work_dir_.str();
  std::vector<std::string> log_;
  std::unique_ptr<lm::TaskRunner> inner_;
  lm::ProcessRunner* processes_ = nullptr;
  std::unique_ptr<TrackingRunner> tracker_;
  std::unique_ptr<lm::MasterServer> server_;
  http::Client http_;
};

// A framework on the real scheduler client that records what it saw: events, states, logs,
// framework ids, a fatal error, and the outstanding offers.
class TestFramework {
 public:
  using Client = scheduler::Client;
  using Event = scheduler::Event;
  using State = scheduler::State;

  TestFramework(boost::asio::io_context& io, std::vector<std::string> masters, ContentType type,
                const std::function<void(scheduler::Options&)>& tweak = {})
      : io_(io) {
    options_.masters = std::move(masters);
    options_.framework.set_user("tester");
    options_.framework.set_name("integration-test");
    options_.content_type = type;
    options_.backoff = {.initial = 50ms, .max = 200ms, .multiplier = 2, .jitter = 0.5};
    options_.heartbeat_misses = 3;
    options_.call_timeout = 5s;
    options_.connect_timeout = 2s;
    if (tweak) tweak(options_);
  }

  ~TestFramework() { client_.reset(); }
  TestFramework(const TestFramework&) = delete;
  TestFramework& operator=(const TestFramework&) = delete;

  // Called from on_state, after the state was recorded (e.g. to lift a fault at the right time).
  std::function<void(State state)> on_state_hook;
  // What Handlers::known_tasks answers.
  std::vector<scheduler::Call::Reconcile::Task> known_tasks;

  const scheduler::Options& options() const { return options_; }

  Client& client() {
    if (!client_) FAIL("the client was not started");
    return *client_;
  }

  void start() {
    client_ = std::make_unique<Client>(io_.get_executor(), options_, handlers());
    auto started = client_->start();
    if (!started) FAIL("Client::start failed: " << started.error().what());
  }

  void wait_subscribed(std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, "the client to be subscribed", [&] { return client_->state() == State::subscribed; },
        limit, [&] { return history(); });
  }
  // Waits until `n` SUBSCRIBED events in all have been seen (n = 2: one resubscription).
  void wait_subscriptions(std::uint64_t n, std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, fmt::format("subscription #{}", n),
        [&] { return client_->counters().subscriptions >= n && subscribed(); }, limit,
        [&] { return history(); });
  }
  bool subscribed() const { return client_ && client_->state() == State::subscribed; }

  // The next outstanding offer (waiting for one), removed from the set.
  mesos::v1::Offer take_offer(std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, "an offer", [&] { return !offers_.empty(); }, limit, [&] { return history(); });
    auto offer = offers_.begin()->second;
    offers_.erase(offers_.begin());
    return offer;
  }
  const std::map<std::string, mesos::v1::Offer>& offers() const { return offers_; }

  // A command task using cpus 0.1 and mem 32 of `offer`.
  mesos::v1::TaskInfo command_task(const std::string& id, const std::string& command,
                                   const mesos::v1::Offer& offer) const {
    mesos::v1::TaskInfo task = task_on(id, offer);
    task.mutable_command()->set_value(command);
    return task;
  }
  // A command task for a SimulatedRunner, scripted by `sim.*` labels.
  mesos::v1::TaskInfo simulated_task(const std::string& id, const mesos::v1::Offer& offer,
                                     const std::map<std::string, std::string>& labels) const {
    mesos::v1::TaskInfo task = command_task(id, "simulated", offer);
    for (const auto& [key, value] : labels) {
      auto* label = task.mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    return task;
  }

  // ACCEPT `offer` launching `tasks`, unused resources back at once (no decline filter).
  void launch(const mesos::v1::Offer& offer, std::vector<mesos::v1::TaskInfo> tasks) {
    mesos::v1::Filters filters;
    filters.set_refuse_seconds(0);
    client().launch({offer.id()}, std::move(tasks), filters,
                    [this](Result<void> r) { call_results_.push_back(std::move(r)); });
  }

  // Every UPDATE's status for `task_id`, in arrival order, from the `from`-th event on.
  std::vector<mesos::v1::TaskStatus> updates(const std::string& task_id,
                                             std::size_t from = 0) const {
    std::vector<mesos::v1::TaskStatus> out;
    for (std::size_t i = from; i < events_.size(); ++i) {
      const auto& event = events_[i];
      if (event.type() == Event::UPDATE && event.update().status().task_id().value() == task_id) {
        out.push_back(event.update().status());
      }
    }
    return out;
  }
  bool saw_state(const std::string& task_id, mesos::v1::TaskState state,
                 std::size_t from = 0) const {
    for (const auto& status : updates(task_id, from)) {
      if (status.state() == state) return true;
    }
    return false;
  }
  void wait_task_state(const std::string& task_id, mesos::v1::TaskState state,
                       std::chrono::milliseconds limit = 5s, std::size_t from = 0) {
    wait_for(
        io_, fmt::format("task '{}' to reach {}", task_id, mesos::v1::TaskState_Name(state)),
        [&] { return saw_state(task_id, state, from); }, limit, [&] { return history(); });
  }

  std::size_t count(Event::Type type, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < events_.size(); ++i)
      n += events_[i].type() == type;
    return n;
  }
  bool logged(scheduler::LogLevel level, std::string_view text) const {
    for (const auto& [l, message] : logs_) {
      if (l == level && message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  const std::vector<Event>& events() const { return events_; }
  const std::vector<std::string>& framework_ids() const { return framework_ids_; }
  const std::vector<std::pair<State, std::string>>& states() const { return states_; }
  const std::optional<Error>& fatal() const { return fatal_; }
  const std::vector<Result<void>>& call_results() const { return call_results_; }

  // What happened so far, for failure messages: state changes, updates, the last log lines.
  std::string history() const {
    std::string out = "client history:\n  states:";
    for (const auto& [state, reason] : states_)
      out += fmt::format("\n    {} ({})", scheduler::to_string(state), reason);
    out += "\n  updates:";
    for (const auto& event : events_) {
      if (event.type() != Event::UPDATE) continue;
      const auto& s = event.update().status();
      out += fmt::format("\n    '{}' {}{}{}", s.task_id().value(),
                         mesos::v1::TaskState_Name(s.state()),
                         s.has_reason() ? " " + mesos::v1::TaskStatus::Reason_Name(s.reason()) : "",
                         s.has_uuid() ? " (uuid)" : "");
      if (!s.message().empty()) out += ": " + s.message();
    }
    out += "\n  last log lines:";
    const std::size_t from = logs_.size() > 12 ? logs_.size() - 12 : 0;
    for (std::size_t i = from; i < logs_.size(); ++i)
      out += "\n    " + logs_[i].second;
    if (fatal_) out += "\n  fatal: " + fatal_->what();
    if (client_) {
      const auto counters = client_->counters();
      out += fmt::format(
          "\n  counters: subscriptions {}, reconnects {}, redirects {}, heartbeat timeouts {}, "
          "acknowledgements {}",
          counters.subscriptions, counters.reconnects, counters.redirects,
          counters.heartbeat_timeouts, counters.acknowledgements);
    }
    return out;
  }

 private:
  static mesos::v1::TaskInfo task_on(const std::string& id, const mesos::v1::Offer& offer) {
    mesos::v1::TaskInfo task;
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
    *task.mutable_agent_id() = offer.agent_id();
    auto offered = offer_resources(offer);
    if (!offered) FAIL("the offer's resources are invalid: " << offered.error().what());
    ResourceNeed need;
    need.scalars = {{"cpus", 0.1}, {"mem", 32}};
    auto resources = allocate(need, *offered);
    if (!resources) FAIL("the offer is too small: " << resources.error().what());
    for (auto& resource : *resources)
      *task.add_resources() = std::move(resource);
    return task;
  }

  scheduler::Handlers handlers() {
    scheduler::Handlers h;
    h.on_event = [this](const Event& event) {
      events_.push_back(event);
      if (event.type() == Event::OFFERS) {
        for (const auto& offer : event.offers().offers())
          offers_[offer.id().value()] = offer;
      } else if (event.type() == Event::RESCIND) {
        offers_.erase(event.rescind().offer_id().value());
      }
    };
    h.on_framework_id = [this](const mesos::v1::FrameworkID& id) {
      framework_ids_.push_back(id.value());
    };
    h.on_state = [this](State state, std::string_view reason) {
      states_.emplace_back(state, std::string(reason));
      if (state != State::subscribed) offers_.clear();  // void once the subscription is gone
      if (on_state_hook) on_state_hook(state);
    };
    h.on_fatal = [this](const Error& error) { fatal_ = error; };
    h.known_tasks = [this] { return known_tasks; };
    h.on_log = [this](scheduler::LogLevel level, std::string_view message) {
      logs_.emplace_back(level, std::string(message));
    };
    return h;
  }

  boost::asio::io_context& io_;
  scheduler::Options options_;
  std::vector<Event> events_;
  std::vector<std::string> framework_ids_;
  std::vector<std::pair<State, std::string>> states_;
  std::vector<std::pair<scheduler::LogLevel, std::string>> logs_;
  std::optional<Error> fatal_;
  std::map<std::string, mesos::v1::Offer> offers_;
  std::vector<Result<void>> call_results_;
  std::unique_ptr<Client> client_;
};

}  // namespace heatblast::testing
