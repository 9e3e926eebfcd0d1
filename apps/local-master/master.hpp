// The core of local-master: a one-machine, Mesos-compatible master as a deterministic state
// machine with no I/O of its own (apart from the optional checkpoint) and no clock (every
// entry point takes `now`). The HTTP layer decodes requests into `scheduler::Call`s, hands them
// to `handle_subscribe` / `handle_call`, answers with the returned HttpAnswer, and streams the
// events the Master sends to each SubscriberSink. Tests drive the same entry points directly.
//
// The Master plays every part of a Mesos cluster on one machine: the master (frameworks,
// offers, reconciliation, failover), the allocator (offer rounds, decline filters, suppression),
// the agent(s) (resources, task bookkeeping, the status update manager that re-sends an update
// until it is acknowledged), and the command/default executor (TASK_STARTING, TASK_RUNNING,
// then FINISHED/FAILED/KILLED, the SIGTERM-then-SIGKILL kill). Processes are run by a
// TaskRunner (real: ProcessRunner; scripted: SimulatedRunner).
//
// Threading: none. All methods must be called from one thread (the wiring's io_context). No
// method calls back into the wiring other than through the SubscriberSinks it handed in, and a
// sink must not call the Master from `send` or `close`.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <mesos/v1/mesos.pb.h>
#include <mesos/v1/scheduler/scheduler.pb.h>

#include "allocator.hpp"
#include "call_validation.hpp"
#include "checkpoint.hpp"
#include "heatblast/error.hpp"
#include "heatblast/resources.hpp"
#include "ids.hpp"
#include "task_runner.hpp"
#include "time.hpp"

namespace heatblast::local_master {

// Where the Master writes a subscriber's events: one per SUBSCRIBE, owned by the Master from
// `handle_subscribe` until it calls `close()` (then destroyed) or until the wiring reports the
// connection gone with `Master::on_subscriber_closed`. Events may be sent before
// `handle_subscribe` returns (SUBSCRIBED and the first HEARTBEAT always are), so an
// implementation queues them behind the response headers. Implementations must not throw and
// must not call into the Master.
class SubscriberSink {
 public:
  virtual ~SubscriberSink() = default;
  // One event: one RecordIO record in the subscriber's content type.
  virtual void send(const mesos::v1::scheduler::Event& event) = 0;
  // End of the stream (after a final ERROR, a failover, or a TEARDOWN); no `send` follows.
  virtual void close() = 0;
};

// What to answer on HTTP. `status` and `body` are what Mesos answers: 200 (SUBSCRIBE, whose body
// is the event stream; UPDATE_FRAMEWORK, empty body), 202 (empty body), 400/403/501/503 with a
// plain-text message in `body`.
struct HttpAnswer {
  int status = 202;
  std::string body;
  // SUBSCRIBE only: the `Mesos-Stream-Id` response header (also on a 200 whose stream carries
  // just an ERROR, as Mesos does).
  std::optional<std::string> stream_id;
  // True for a 200 SUBSCRIBE: the body is the stream written through the sink.
  bool streaming = false;
};

struct MasterOptions {
  // How the master describes itself (MasterInfo) and names the default agent.
  std::string hostname = "localhost";
  std::string ip = "127.0.0.1";
  std::uint16_t port = 5050;
  // The Mesos version reported (MasterInfo, /version, /state): the one whose behaviour
  // local-master follows.
  std::string version = "1.12.0";

  // The agents; at least one. See local_agent_spec() and simulated_agents().
  std::vector<AgentSpec> agents;

  Duration heartbeat_interval = std::chrono::seconds(15);
  // How often offer rounds run (Mesos `--allocation_interval`); a round also runs at the next
  // `advance()` after anything that may produce offers (subscribe, revive, resources freed).
  Duration allocation_interval = std::chrono::seconds(1);
  // Mesos `--offer_timeout`: outstanding offers older than this are rescinded. None by default.
  std::optional<Duration> offer_timeout;
  // The decline filter when Filters.refuse_seconds is not set (or negative).
  Duration default_refuse = std::chrono::seconds(5);
  // The status update manager: an unacknowledged update is re-sent after `min`, then after
  // twice as long each time, at most `max` (Mesos agent: 10 s and 10 min).
  Duration status_update_retry_min = std::chrono::seconds(10);
  Duration status_update_retry_max = std::chrono::minutes(10);
  // The command executor's kill grace period when neither the KILL call nor the TaskInfo has a
  // kill policy (Mesos: 3 s, "for backwards compatibility").
  Duration default_kill_grace = std::chrono::seconds(3);

  // The checkpoint (frameworks and tasks, see checkpoint.hpp). Empty: nothing is persisted.
  std::string work_dir;
  // Sandboxes go to <sandbox_root>/slaves/<agent>/frameworks/<framework>/executors/<executor>/
  // runs/<container>. Empty: `work_dir`, or "/tmp/local-master" without a work dir.
  std::string sandbox_root;

  // Seeds the ids (framework/stream/container ids, update uuids); random when unset.
  std::optional<std::uint64_t> seed;
  // Where the Master logs state transitions and dropped calls; nothing when empty.
  std::function<void(std::string_view)> log;
  // Where what an operator must see goes (a checkpoint that could not be written, a replica
  // ZooKeeper dropped, refused connections); local-master keeps it under --quiet. Nothing when
  // empty.
  std::function<void(std::string_view)> warn;
};

// This machine as one agent: all its cpus, its memory less 1 GB (half when under 2 GB), the
// disk of the file system holding `disk_path` (or, when it does not exist yet, its nearest
// existing ancestor) less 5 GB (half when under 10 GB), and ports
// [31000-32000], as a Mesos agent computes its defaults. Reads /proc/meminfo and statvfs.
Result<AgentSpec> local_agent_spec(const std::string& hostname, const std::string& disk_path);

// `count` agents with the same resources, hostnames "agent-1" ... "agent-<count>".
std::vector<AgentSpec> simulated_agents(std::size_t count, const Resources& each);

// A read-only picture of the master, for a `/state`-like endpoint and for tests.
struct TaskSnapshot {
  mesos::v1::TaskInfo info;  // as launched, resources as allocated
  std::string framework_id;
  std::string task_id;
  std::string name;
  std::string agent_id;
  std::string executor_id;
  std::string container_id;
  std::string sandbox;
  mesos::v1::TaskState state = mesos::v1::TASK_STAGING;
  Resources resources;
  std::size_t unacknowledged_updates = 0;
  bool killing = false;
  std::optional<int> pid;
  // The updates the agent generated for the task, oldest first (Mesos's `Task.statuses`).
  std::vector<mesos::v1::TaskStatus> statuses;
};

struct FrameworkSnapshot {
  mesos::v1::FrameworkInfo info;
  std::string id;
  std::string name;
  std::string user;
  std::vector<std::string> roles;
  std::vector<std::string> suppressed_roles;
  bool connected = false;
  double failover_timeout_seconds = 0;
  std::optional<TimePoint> failover_deadline;
  std::optional<TimePoint> registered_time;
  std::vector<TaskSnapshot> tasks;
  // Tasks that ended and whose terminal update was acknowledged, oldest first, at most
  // kMaxCompletedTasks (Mesos: --max_completed_tasks_per_framework).
  std::vector<TaskSnapshot> completed_tasks;
  // Executors of task groups (the default executor) that still run tasks.
  std::vector<mesos::v1::ExecutorInfo> executors;
};

inline constexpr std::size_t kMaxCompletedTasks = 1000;

struct AgentSnapshot {
  std::string id;
  std::string hostname;
  std::vector<mesos::v1::Attribute> attributes;
  Resources total;
  Resources used;
  Resources offered;
};

struct OfferSnapshot {
  mesos::v1::Offer offer;  // as sent to the framework
  std::string id;
  std::string framework_id;
  std::string agent_id;
  std::string role;
  Resources resources;
};

struct MasterSnapshot {
  mesos::v1::MasterInfo master_info;
  std::optional<TimePoint> start_time;
  std::vector<FrameworkSnapshot> frameworks;
  std::vector<std::string> removed_frameworks;
  std::vector<mesos::v1::FrameworkInfo> completed_frameworks;
  std::vector<AgentSnapshot> agents;
  std::vector<OfferSnapshot> offers;
  std::size_t decline_filters = 0;
  // Where the agents' endpoints are served (all agents share local-master's address).
  mesos::v1::Address agent_address;
  // Counts a Mesos master keeps as metrics, by metric name without "master/" (e.g.
  // "messages_decline_offers", "tasks_finished", "valid_status_update_acknowledgements").
  std::map<std::string, std::uint64_t> counters;
};

// What /metrics/snapshot reports, without the per-agent and per-offer copies a MasterSnapshot
// makes (a metrics poll every 50 ms with 1,000 agents cost a tenth of the master's CPU).
struct MasterMetrics {
  std::optional<TimePoint> start_time;
  std::size_t frameworks_connected = 0;
  std::size_t frameworks_disconnected = 0;
  std::size_t agents = 0;
  std::size_t outstanding_offers = 0;
  // As MasterSnapshot's.
  std::map<std::string, std::uint64_t> counters;
  // Live (non-terminal) tasks of all frameworks, by state.
  std::map<mesos::v1::TaskState, std::size_t> live_task_states;
  // The agents' scalar resources summed, for "cpus", "mem", "disk" and "gpus" (each present,
  // 0 when no agent has it), in thousandths as heatblast::Resources adds them.
  std::map<std::string, std::int64_t> total_millis;
  std::map<std::string, std::int64_t> used_millis;
};

// The address and path of an agent's endpoints as a Mesos master reports them in
// `Offer.url`: scheme "http", `agent_address`, path "/slave(1)".
mesos::v1::URL agent_url(const mesos::v1::Address& agent_address);

// The snapshot as JSON, in the shape of Mesos's `/state` where the two overlap ("frameworks",
// "completed_frameworks", "slaves", "tasks", resources as {"cpus":..,"mem":..,"ports":"[..]"}).
std::string render_state_json(const MasterSnapshot& snapshot);

class Master {
 public:
  // No I/O; `runner` must outlive the Master.
  Master(MasterOptions options, TaskRunner& runner);
  ~Master();
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Starts the master: with a work dir, opens the checkpoint and recovers what it holds —
  // frameworks (disconnected, with their failover deadlines), removed framework ids, tasks
  // (their processes adopted through the runner; tasks whose process is gone end with the exit
  // status the runner can still learn, else TASK_FAILED, REASON_EXECUTOR_TERMINATED) and their
  // unacknowledged updates (re-sent when the framework subscribes again). Before `start`, every
  // call is answered 503 "Master has not finished recovery". Errors: the checkpoint's.
  Result<void> start(TimePoint now);

  // A SUBSCRIBE (the wiring checked POST, Content-Type and Accept, and decoded the call).
  // 400: the call is invalid (see validate_call) or carries a Mesos-Stream-Id header. 200 with
  // `stream_id` otherwise; then, on `sink`, either one ERROR event and close() (invalid
  // FrameworkInfo, "Framework has been removed", a principal change), or SUBSCRIBED, an
  // immediate HEARTBEAT, one HEARTBEAT per interval and every event of the framework. A
  // resubscribe of a connected framework sends ERROR "Framework failed over" on its old
  // stream and closes it; its outstanding offers are withdrawn without RESCIND.
  HttpAnswer handle_subscribe(const mesos::v1::scheduler::Call& call,
                              std::unique_ptr<SubscriberSink> sink,
                              std::optional<std::string_view> stream_id_header, TimePoint now);

  // Any other call. In Mesos's order: 503 before start; 400 invalid call; 400 "Framework cannot
  // be found" (unknown or removed id); 403 "Framework is not subscribed" (known, disconnected);
  // 400 for a missing or wrong Mesos-Stream-Id; 501 for UNKNOWN; 200 or 400 for
  // UPDATE_FRAMEWORK; 202 for the rest, whose effects arrive as events.
  HttpAnswer handle_call(const mesos::v1::scheduler::Call& call,
                         std::optional<std::string_view> stream_id_header, TimePoint now);

  // The subscription's HTTP connection is gone (EOF or error). The framework becomes
  // disconnected; its offers are withdrawn and its failover timeout starts. Unknown or stale
  // stream ids are ignored. The sink is destroyed without close().
  void on_subscriber_closed(std::string_view stream_id, TimePoint now);

  // Fires everything due at `now`, in this order: task runner events (poll), kill escalations
  // (SIGKILL after the grace period), failover timeouts (framework removal), filter expiry and
  // offer timeouts (RESCIND), status update retries, an offer round when due, heartbeats.
  // Call it at `next_deadline()`, after every handle_* call, and on SIGCHLD / a periodic timer
  // when a ProcessRunner is used.
  void advance(TimePoint now);

  // A runner event, for wirings that push them; `advance` polls the runner itself.
  void on_task_event(const RunnerEvent& event, TimePoint now);

  // The earliest time at which `advance` has something to do, if any.
  std::optional<TimePoint> next_deadline() const;

  const mesos::v1::MasterInfo& master_info() const { return master_info_; }
  // The port the wiring really listens on, known once it has bound (0 may have been asked
  // for): MasterInfo and the agents' address in offers and /state take it. Call after `start`
  // and before the first `advance`.
  void set_listen_port(std::uint16_t port);
  MasterSnapshot snapshot() const;
  std::string state_json() const { return render_state_json(snapshot()); }
  MasterMetrics metrics() const;

 private:
  enum class Phase { created, running };
  enum class FrameworkState { subscribed, disconnected };

  struct UpdateStream {
    std::deque<mesos::v1::TaskStatus> pending;  // front: the one being (re)sent
    std::optional<TimePoint> next_retry;
    Duration backoff{0};
  };

  struct Task {
    mesos::v1::TaskInfo info;  // resources normalized (post-refinement, allocated)
    std::string framework_id;
    mesos::v1::AgentID agent_id;
    mesos::v1::ExecutorID executor_id;
    std::optional<std::string> group;  // executor id of its task group (LAUNCH_GROUP)
    std::string container_id;
    std::string sandbox;
    Resources resources;
    mesos::v1::TaskStatus latest;                 // the task's state at the master
    std::vector<mesos::v1::TaskStatus> statuses;  // every update generated, oldest first
    UpdateStream updates;
    std::optional<int> pid;
    std::optional<int> pgid;
    bool running_reported = false;
    bool ended = false;  // the process ended; resources released
    bool killed = false;
    TimePoint kill_started{};
    std::optional<TimePoint> escalate_at;  // SIGKILL due
  };

  struct GroupExecutor {
    mesos::v1::ExecutorInfo info;
    mesos::v1::AgentID agent_id;
    Resources resources;
    std::set<std::string> live_tasks;
  };

  struct Framework {
    mesos::v1::FrameworkInfo info;
    FrameworkState state = FrameworkState::disconnected;
    std::unique_ptr<SubscriberSink> sink;
    std::string stream_id;
    TimePoint next_heartbeat{};
    std::optional<TimePoint> failover_deadline;
    std::map<std::string, Task> tasks;
    std::map<std::string, GroupExecutor> executors;
    bool resume_updates_on_subscribe = false;  // recovered: re-send pending updates at once
    std::optional<TimePoint> registered_time;
    std::deque<TaskSnapshot> completed_tasks;  // bounded by kMaxCompletedTasks
  };

  static std::string_view to_string(FrameworkState state);
  void transition_to(Framework& framework, FrameworkState state, std::string_view why);
  // Formats only when someone listens: under --quiet a busy master formats nothing per task.
  template <class... Args>
  void log(fmt::format_string<Args...> format, Args&&... args) const {
    if (options_.log) options_.log(fmt::format(format, std::forward<Args>(args)...));
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) const {
    if (options_.warn) options_.warn(fmt::format(format, std::forward<Args>(args)...));
  }

  // Calls.
  HttpAnswer authorize(const mesos::v1::scheduler::Call& call,
                       std::optional<std::string_view> stream_id_header, Framework*& framework);
  void teardown(Framework& framework, TimePoint now);
  void accept(Framework& framework, const mesos::v1::scheduler::Call::Accept& accept,
              TimePoint now);
  void kill(Framework& framework, const mesos::v1::scheduler::Call::Kill& kill, TimePoint now);
  void shutdown(Framework& framework, const mesos::v1::scheduler::Call::Shutdown& shutdown,
                TimePoint now);
  void acknowledge(Framework& framework, const mesos::v1::scheduler::Call::Acknowledge& acknowledge,
                   TimePoint now);
  void reconcile(Framework& framework, const mesos::v1::scheduler::Call::Reconcile& reconcile,
                 TimePoint now);
  void reconcile_operations(Framework& framework,
                            const mesos::v1::scheduler::Call::ReconcileOperations& reconcile);
  HttpAnswer update_framework(Framework& framework,
                              const mesos::v1::scheduler::Call::UpdateFramework& update);

  // ACCEPT helpers: the steps of `accept`, in order. The checks themselves are pure
  // functions in call_validation.hpp.
  struct OfferUse {  // the offers an ACCEPT took, as its operations use them up
    const Agent& agent;
    std::string role;
    Resources remaining;
    std::set<std::string> ids_in_call;  // task ids launched earlier in the call
  };
  void drop_launches(Framework& framework, const mesos::v1::scheduler::Call::Accept& accept,
                     const std::string& message, TimePoint now);
  LaunchContext launch_context(const Framework& framework, const OfferUse& use) const;
  void launch(Framework& framework, const mesos::v1::Offer::Operation::Launch& launch,
              OfferUse& use, TimePoint now);
  void launch_group(Framework& framework, const mesos::v1::Offer::Operation::LaunchGroup& launch,
                    OfferUse& use, TimePoint now);
  void refuse_operation(Framework& framework, const mesos::v1::Offer::Operation& operation,
                        const Agent& agent);
  void launch_task(Framework& framework, const mesos::v1::TaskInfo& task,
                   const mesos::v1::ExecutorInfo* group_executor, const Agent& agent,
                   const Resources& resources, TimePoint now);
  void drop_launch(Framework& framework, const mesos::v1::TaskInfo& task,
                   mesos::v1::TaskState state, mesos::v1::TaskStatus::Reason reason,
                   const std::string& message, TimePoint now);

  // Tasks.
  Task* find_task_by_container(const std::string& container_id, Framework** framework);
  void send_task_status(Framework& framework, Task& task, mesos::v1::TaskState state,
                        mesos::v1::TaskStatus::Source source,
                        std::optional<mesos::v1::TaskStatus::Reason> reason,
                        const std::string& message, TimePoint now);
  void forward_front(Framework& framework, Task& task, TimePoint now);
  // Indexes the task's current next_retry and escalate_at (call after setting either).
  void watch_task(const std::string& framework_id, const Task& task);
  // Whether `at` is still one of the task's deadlines (an index entry may be outdated).
  bool task_due_at(const std::string& framework_id, const std::string& task_id, TimePoint at) const;
  void task_ended(Framework& framework, Task& task, TimePoint now);
  // Kills a task (and, for a task group, every live task of the group, as the default
  // executor does).
  void kill_task(Framework& framework, Task& task, const mesos::v1::KillPolicy* override_policy,
                 TimePoint now);
  void kill_one(Framework& framework, Task& task, const mesos::v1::KillPolicy* override_policy,
                TimePoint now);
  void forget_task(Framework& framework, const std::string& task_id);
  TaskSnapshot task_snapshot(const Framework& framework, const Task& task) const;
  void log_task_end(const Framework& framework, const Task& task,
                    const mesos::v1::TaskStatus& status);
  void count(const std::string& metric) { ++counters_[metric]; }
  // Offer fields the allocator does not know: `url`, and `executor_ids` of the framework's
  // executors running on the agent.
  void complete_offer(const Framework& framework, mesos::v1::Offer& offer) const;
  mesos::v1::TaskStatus reconciliation_status(const Framework& framework, const Task& task,
                                              TimePoint now) const;

  // Frameworks.
  void send(Framework& framework, const mesos::v1::scheduler::Event& event);
  void remove_framework(Framework& framework, TimePoint now, std::string_view why);
  FrameworkAllocation allocation_of(const Framework& framework,
                                    const std::vector<std::string>& suppressed) const;
  void rescind(const std::vector<OutstandingOffer>& offers);

  // Checkpoint.
  void mark_framework(const std::string& framework_id);
  void mark_task(const std::string& framework_id, const std::string& task_id);
  void flush();
  Result<void> write_dirty();  // inside the checkpoint's transaction
  Result<void> recover(TimePoint now);
  // A Task and its checkpoint record, both ways (see persisted_task_fields in master.cpp).
  static TaskRecord record_of(const Framework& framework, const Task& task);
  Task restore_task(const TaskRecord& record, TimePoint now) const;

  MasterOptions options_;
  TaskRunner& runner_;
  IdGenerator ids_;
  Phase phase_ = Phase::created;
  mesos::v1::MasterInfo master_info_;
  std::optional<TimePoint> start_time_;
  std::string sandbox_root_;
  std::unique_ptr<Allocator> allocator_;
  std::map<std::string, Framework> frameworks_;
  std::map<std::string, mesos::v1::FrameworkInfo> removed_frameworks_;
  std::uint64_t next_framework_ = 0;
  // container id -> (framework id, task id), for runner events.
  std::unordered_map<std::string, std::pair<std::string, std::string>> containers_;
  // Processes of removed frameworks' tasks, SIGTERMed, with their SIGKILL deadline.
  std::map<std::string, TimePoint> orphans_;
  // (deadline, framework id, task id) for every next_retry and escalate_at set: walking all
  // tasks for them after every call cost O(tasks) per call. Entries are not removed when the
  // deadline changes or the task goes; whoever reads one checks it against the task
  // (next_deadline, a const method, drops outdated entries at the front).
  mutable std::multimap<TimePoint, std::pair<std::string, std::string>> task_deadlines_;
  bool allocation_pending_ = false;
  TimePoint next_allocation_{};
  std::optional<TimePoint> last_now_;

  mesos::v1::Address agent_address_;
  std::map<std::string, std::uint64_t> counters_;

  std::unique_ptr<Checkpoint> checkpoint_;
  std::set<std::string> dirty_frameworks_;
  std::set<std::pair<std::string, std::string>> dirty_tasks_;
};

}  // namespace heatblast::local_master
