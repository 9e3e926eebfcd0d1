// heatblast::tasks::TaskManager: the one place where wanted tasks meet offers. It launches the
// tasks a program wants, follows them through their states, restarts them by policy, kills on
// request and, after a reconnect, adopts what still runs instead of launching it twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/error.hpp"
#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"

namespace heatblast::tasks {

enum class RestartPolicy {
  never,       // a task that ends is done, whatever the outcome
  on_failure,  // relaunched after FAILED, LOST, ERROR, DROPPED, GONE (not after FINISHED/KILLED)
  always,      // relaunched after any end that was not a kill() of ours
};

struct RestartOptions {
  RestartPolicy policy = RestartPolicy::never;
  // Delay before each relaunch: capped exponential with jitter, reset once a run lasted
  // `stable_after`.
  scheduler::BackoffOptions backoff{std::chrono::seconds(1), std::chrono::seconds(60), 2.0, 0.2};
  std::chrono::seconds stable_after{60};
  // Relaunches allowed in all (-1: no limit).
  int max_restarts = -1;
};

// What a program wants run.
struct TaskSpec {
  // Unique within the manager; Mesos task ids are "<name>.<random suffix>" so that a relaunch
  // never reuses an id.
  std::string name;
  mesos::v1::CommandInfo command;
  std::optional<mesos::v1::ContainerInfo> container;
  ResourceNeed resources;
  mesos::v1::Labels labels;
  RestartOptions restart;
  // Killed when it has run (since launch) this long; zero = no limit.
  std::chrono::milliseconds timeout{0};
  // What an offer must match, every entry of it ("name" -> value):
  //   "hostname" -> the offer's host name, exactly;
  //   a TEXT attribute -> its text, exactly ("rack" -> "r1");
  //   a SCALAR attribute -> its number as the shortest text that reads back the same
  //     ("gpus" -> "2", "speed" -> "2.5"; "2.0" does not match);
  //   a SET attribute -> one of its members ("zones" -> "a" matches {a,b});
  // RANGES attributes and names the offer lacks never match. An offer that only fails a
  // task's constraints is counted in ManagerCounters::offers_declined_for_constraints.
  std::map<std::string, std::string> constraints;
};

// Where a wanted task is in its life, from the manager's side.
enum class Phase {
  pending,      // waiting for an offer that fits
  launched,     // sent in an ACCEPT; no status yet
  active,       // STAGING, STARTING, RUNNING, KILLING (or UNREACHABLE)
  backing_off,  // ended; relaunch due at `retry_at`
  done,         // ended for good
};

std::string_view to_string(Phase phase) noexcept;

// One wanted task and its current run.
struct TaskRecord {
  std::string name;
  Phase phase = Phase::pending;
  std::string task_id;  // of the current or last run; empty before the first launch
  std::string agent_id;
  std::string hostname;
  std::optional<mesos::v1::TaskState> state;  // latest Mesos state of the current run
  std::string message;                        // latest status message
  // TaskStatus.reason of the latest status of the current run; none when that status had no
  // reason (or before the first status). Stored; records saved before it existed load without.
  std::optional<mesos::v1::TaskStatus::Reason> reason;
  int launches = 0;  // runs started so far
  // Relaunches decided so far, counted against RestartOptions::max_restarts, and how far the
  // relaunch delay has grown. Both are stored, so a restarted program keeps the limit and the
  // delay of a task in a crash loop.
  int restarts = 0;
  unsigned backoff_attempts = 0;
  bool kill_requested = false;
  std::optional<std::chrono::system_clock::time_point> launched_at;
  // When a task backing off is relaunched. The store keeps it as wall-clock time.
  std::optional<std::chrono::steady_clock::time_point> retry_at;
  // Launchable for longer than ManagerOptions::starved_after while offers came and none
  // fitted (`message` says what it needs); cleared at its next launch.
  bool starved = false;
  // The outcome of the last finished run (FINISHED, FAILED, ...), if any.
  std::optional<mesos::v1::TaskState> last_outcome;
};

// A state change reported to the program.
struct TaskChange {
  const TaskRecord& record;
  Phase previous_phase;
  std::optional<mesos::v1::TaskState> previous_state;
};

// Persistence of the manager's records, so that a restarted program adopts its tasks. The
// store layer (heatblast/store.hpp) provides a SQLite one.
class TaskStore {
 public:
  // One write of a batch: saves `record` (with its spec), or, when `spec` is null, removes the
  // task `name`.
  struct Write {
    const TaskSpec* spec = nullptr;
    const TaskRecord* record = nullptr;
    std::string_view name;
  };

  virtual ~TaskStore() = default;
  virtual Result<void> save_task(const TaskSpec& spec, const TaskRecord& record) = 0;
  virtual Result<void> remove_task(const std::string& name) = 0;
  virtual Result<std::vector<std::pair<TaskSpec, TaskRecord>>> load_tasks() = 0;
  // Makes `writes`, in order, durable. The manager groups the writes of a burst of events
  // into one call, made before the ACCEPT or the acknowledgements that depend on them; a store
  // that can should make it one write (SqliteStore: one transaction, all or nothing). This
  // default makes them one at a time with save_task() and remove_task(), up to the first
  // failure, which it returns.
  virtual Result<void> write_tasks(const std::vector<Write>& writes);
  // True when write_tasks() takes the task's name from Write::name only, so that its `spec` may
  // have another name (the manager passes the spec it shares between tasks that differ only in
  // their name, sparing a copy per write). False (the default): each `spec` is the task's own.
  virtual bool names_from_writes() const { return false; }
};

struct ManagerOptions {
  // Declined offers are not offered again for this long (Mesos's 5 s default makes the master
  // re-offer the same resources in a loop).
  double decline_refuse_seconds = 120;
  // Nothing to launch: SUPPRESS offers. Work appears (a new task, a relaunch falls due, a slot
  // frees): REVIVE at once when the last REVIVE is at least `min_revive_interval` old, else
  // when it is (one deferred REVIVE covers a whole burst). 1 s suits batch work, where each
  // retry waits for offers; raise it for a framework whose work changes many times a second.
  bool suppress_when_idle = true;
  std::chrono::milliseconds min_revive_interval{std::chrono::seconds(1)};
  // Only offers allocated to this role are used (empty: any).
  std::string role;
  // Runs launched or active at once, relaunches included (0 = no limit). Tasks beyond it wait
  // in `pending` (or `backing_off`) for a slot.
  std::size_t max_in_flight = 0;
  // A task that could be launched for this long while offers came and none fitted is logged
  // and flagged (TaskRecord::starved). 0 = never.
  std::chrono::milliseconds starved_after{std::chrono::seconds(60)};
  TaskStore* store = nullptr;  // optional; must outlive the manager
  // After each SUBSCRIBED, launches wait until the master has answered the implicit
  // reconciliation (one round trip), so that a run left from before a restart is adopted (by
  // its name, see TaskSpec::name) instead of launched twice; offers that come meanwhile are
  // kept and used then. This bounds the wait when no answer comes (0 = no wait).
  std::chrono::milliseconds adoption_hold{std::chrono::seconds(5)};
  // After events were handled, at most once per this interval: when 4 MiB or more of the heap
  // are free, they go back to the OS (glibc's malloc_trim; nothing with another allocator). A
  // burst (an ACCEPT for every offer of a ramp, a reconciliation answer for every task after a
  // resubscribe, their acknowledgements) is freed in holes between records that live on, which
  // the allocator would otherwise keep resident for good: measured at 10,000 tasks, about 40 MiB
  // free in a 58 MiB heap after a stream drop and a leader move. The end of a launch burst (the
  // last ACCEPT of 1,000 or more launches answered) gives it back at once as well. 0 = never.
  std::chrono::milliseconds trim_heap_interval{std::chrono::seconds(5)};
  // Saves that fail this many times in a row end the session through on_fatal (0 = never).
  // Each failed save is logged and counted; an update whose save failed is not acknowledged.
  int store_failures_before_fatal = 5;
  // Optional. Framework fills both in from the program's scheduler::Handlers.
  std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
  std::function<void(const Error& error)> on_fatal;
};

// What the manager has done so far; read with TaskManager::counters().
struct ManagerCounters {
  std::uint64_t store_errors = 0;           // saves that failed
  std::uint64_t acknowledgements_held = 0;  // updates left unacknowledged: their save failed
  std::uint64_t offers_declined_for_constraints = 0;  // a task waited, only constraints refused
  // Live runs "<name>.<suffix>" of a known task that were not its current run, killed.
  std::uint64_t orphans_killed = 0;
  // Times freed heap memory was given back to the OS (ManagerOptions::trim_heap_interval).
  std::uint64_t heap_trims = 0;
};

// Runs on the client's executor; every member must be called there.
//
// Wiring: the simplest is heatblast::tasks::Framework (heatblast/framework.hpp), which owns a
// Client and a TaskManager and wires them. By hand: the Client must outlive the TaskManager
// (the manager keeps a reference to it), and the client's Handlers must call handle_event()
// from on_event (before or after the program's own handling) and return known_tasks() from
// known_tasks; construct the manager and call load() before client.start().
// Acknowledgements stay with the client. With a store, the manager writes the changes of the
// events that arrive together as one batch (TaskStore::write_tasks), before the ACCEPT that
// launches them and before the client acknowledges any of those updates (the manager installs
// Client::set_acknowledgement_gate); when that write fails, the updates are not acknowledged
// and the master sends them again. The ChangeHandler may see a change before it is written.
// The ChangeHandler runs inside handle_event() and the other members; it may call add() and
// kill(), but remove() only later (post it to the executor).
//
// A launch that never ran — the master answered the ACCEPT with an error, did not know the task
// when reconciling, or dropped it for an invalid offer — goes back to `pending` and does not
// count as a run, whatever the restart policy: it cannot be running anywhere.
class TaskManager {
 public:
  using ChangeHandler = std::function<void(const TaskChange& change)>;

  TaskManager(scheduler::Client& client, ManagerOptions options, ChangeHandler on_change);
  ~TaskManager();

  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  // Loads the store's records (tasks to adopt after a restart). Call before the client starts:
  // errc::invalid_argument once the client has started, or when called twice.
  Result<void> load();

  // Wants `spec` run. errc::invalid_argument: an empty or duplicate name, no command, a
  // ResourceNeed with nothing in it.
  Result<void> add(TaskSpec spec);
  // Kills the task's current run and never relaunches it; it becomes `done` when it ended.
  Result<void> kill(const std::string& name);
  // Replaces the spec of the wanted task `spec.name` (a new image, new URLs or environment,
  // other resources or restart options), keeping its record: phase, restarts, backoff, the
  // current run. It is stored at once.
  //   - pending or backing off: the next launch uses the new spec;
  //   - launched or active: nothing happens to the current run (no kill, no relaunch, its
  //     timeout stays as launched); the new spec applies from its next launch, if the restart
  //     policy (the new one) relaunches it;
  //   - done: stored only; nothing launches.
  // errc::invalid_argument: no such task, or a spec that add() would refuse.
  Result<void> update_spec(TaskSpec spec);
  // Forgets a task that is done (errc::invalid_argument when it still runs: kill it first).
  Result<void> remove(const std::string& name);
  // Runs `work` (calls of add(), update_spec(), kill(), remove()) and stores what it changed
  // in one write when it returns (one transaction with SqliteStore) instead of one write per
  // change: for a program that adds thousands of tasks at once. The error is that write's;
  // what it held stays in memory and is written again with the task's next change. Inside
  // handle_event() (from the ChangeHandler) the changes join the event's own batch.
  Result<void> batch(const std::function<void()>& work);

  void handle_event(const mesos::v1::scheduler::Event& event);
  std::vector<mesos::v1::scheduler::Call::Reconcile::Task> known_tasks() const;

  const TaskRecord* find(const std::string& name) const;
  std::vector<TaskRecord> records() const;
  // Tasks whose run is launched or active (what "running" means for -maxtasks).
  std::size_t in_flight() const;
  // Tasks waiting for a launch: pending or backing off.
  std::size_t pending() const;
  // Tasks in `phase`, without copying records.
  std::size_t count(Phase phase) const;
  // Every task added (or loaded) is done, and there was at least one: the batch is over.
  bool all_done() const;
  ManagerCounters counters() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
  scheduler::Client& client_;
};

}  // namespace heatblast::tasks
