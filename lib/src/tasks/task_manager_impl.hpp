// TaskManager::Impl: the task manager's state and steps (private to the library). Declared here,
// defined in task_manager.cpp, as Client::Impl is (scheduler/client_impl.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "heatblast/tasks.hpp"
#include "scheduler/backoff.hpp"
#include "tasks/shared_specs.hpp"

namespace heatblast::tasks {

// Gives the strings a run fills in (its id, agent id, status message) their buffers now, when
// the task is added or loaded, rather than in the burst that fills them (see task_manager.cpp).
void reserve_run_strings(TaskRecord& record);

class TaskManager::Impl : public std::enable_shared_from_this<Impl> {
 public:
  using Call = mesos::v1::scheduler::Call;
  using Event = mesos::v1::scheduler::Event;
  using TaskState = mesos::v1::TaskState;
  using SteadyClock = std::chrono::steady_clock;

  Impl(scheduler::Client& client, ManagerOptions options, ChangeHandler on_change)
      : client_(client),
        options_(std::move(options)),
        on_change_(std::move(on_change)),
        timer_(client.get_executor()),
        trim_timer_(client.get_executor()),
        rng_(std::random_device{}()) {}

  ~Impl() {
    timer_.cancel();
    trim_timer_.cancel();
  }

  Result<void> load();
  Result<void> add(TaskSpec spec);
  Result<void> update_spec(TaskSpec spec);
  Result<void> kill(const std::string& name);
  Result<void> remove(const std::string& name);
  void handle_event(const Event& event);
  bool has_store() const { return options_.store != nullptr; }
  std::vector<Call::Reconcile::Task> known_tasks() const;
  const TaskRecord* find(const std::string& name) const;
  std::vector<TaskRecord> records() const;

  Result<void> batch(const std::function<void()>& work);
  // The client's acknowledgement gate: writes the burst's batch; false holds its acks.
  bool pass_acknowledgements(std::size_t acknowledgements);

  bool all_done() const { return !entries_.empty() && count({Phase::done}) == entries_.size(); }
  ManagerCounters counters() const { return counters_; }

  std::size_t count(std::initializer_list<Phase> phases) const;

 private:
  struct Entry {
    Entry(std::shared_ptr<const SharedSpec> s, TaskRecord r)
        : shared(std::move(s)), record(std::move(r)) {
      reserve_run_strings(record);
    }
    // The task's spec but its name (record.name): shared with every task of the same content.
    const TaskSpec& spec() const { return shared->spec; }
    std::shared_ptr<const SharedSpec> shared;
    TaskRecord record;
    scheduler::BackoffSequence backoff;  // drawn with the manager's rng_
    bool timed_out = false;
    bool retry_due = false;  // backing off, its retry_at passed: the timer is done with it
    // Since when it could be launched but no offer fitted (see warn_starved).
    std::optional<SteadyClock::time_point> waiting_since;
    std::optional<SteadyClock::time_point> running_since;
    std::optional<SteadyClock::time_point> deadline;  // -timeout of the current run
    std::optional<SteadyClock::time_point> last_kill;
    bool unsaved = false;  // the last save failed: the store is behind `record`
    bool dirty = false;    // changed in the open batch, not written yet
  };

  using EntryIt = std::map<std::string, Entry, std::less<>>::iterator;
  // Orders the waiting set by name (map iterators stay valid until their entry is erased).
  struct NameLess {
    bool operator()(const EntryIt& a, const EntryIt& b) const { return a->first < b->first; }
  };

  // --- reporting and persistence -------------------------------------------------------------

  void report(const Entry& entry, Phase previous_phase, std::optional<TaskState> previous_state);

  // Saves the entry; false when the store failed. The caller of an update's handling holds
  // back that update's acknowledgement then: only what is recorded may be acknowledged.
  bool persist(Entry& entry);
  // One save through the store now, with the task's spec named as the store needs it.
  Result<void> save(const Entry& entry);
  // Writes the open batch (every dirty entry, the removals) in one TaskStore::write_tasks;
  // false when that failed (the entries stay `unsaved`, to be written again).
  bool flush();
  // After a change made in a batch outside of the client's delivery (a test's direct
  // handle_event): the batch is written on the next turn even without a gate call.
  void post_flush();
  // Keeps the per-phase counts and the waiting set in step: -1 before `entry` changes its
  // phase or kill_requested, +1 after (and on insert / erase).
  void account(const Entry& entry, int sign);
  void change_phase(Entry& entry, Phase phase);
  void on_store_failure(const std::string& name, const Error& error);
  void log(scheduler::LogLevel level, std::string message) const;
  void set_phase(Entry& entry, Phase phase);

  void handle(const Event& event);

  // --- offers --------------------------------------------------------------------------------

  bool launchable(const Entry& entry, SteadyClock::time_point now) const;

  // Room left under ManagerOptions::max_in_flight (SIZE_MAX without a limit).
  std::size_t slots() const;

  // The launches `offer` takes. `unmatched` tells whether a waiting task was refused by its
  // constraints only (counted, so that a user sees why nothing runs).
  std::vector<mesos::v1::TaskInfo> fill(const mesos::v1::Offer& offer, SteadyClock::time_point now,
                                        bool& unmatched);

  void on_offers(const mesos::v1::scheduler::Event::Offers& offers);
  // A launch whose record could not be written goes back to pending; its ACCEPT is not sent.
  void undo_launch(const std::string& name, const std::string& why);

  // The ACCEPT carrying these launches failed. Rejected by the master: nothing was launched, so
  // the tasks wait for another offer. No answer: the master may have launched them, so ask it
  // (an unknown task comes back LOST for reconciliation, which relaunches it; see on_status).
  void on_launch_failed(const std::vector<std::string>& names, const Error& error);

  mesos::v1::TaskInfo task_info(Entry& entry, const mesos::v1::Offer& offer,
                                std::vector<mesos::v1::Resource> resources);

  // A task that keeps waiting while offers come and go is surfaced once: logged, flagged in its
  // record (`starved`, with the reason in `message`), and reported as a change.
  void warn_starved(SteadyClock::time_point now);
  bool nothing_to_launch() const;
  std::vector<std::string> roles() const;

  // Something may be launched: make sure offers come (REVIVE also clears decline filters).
  void want_offers();

  // --- statuses ------------------------------------------------------------------------------

  void on_status(const mesos::v1::TaskStatus& status);

  // Saves after an update; when the save failed, the update is not acknowledged, so the
  // master sends it again and the save is retried then.
  void save_or_hold(Entry& entry);

  // The task whose current run is `task_id`, if any. Every run id is "<name>.<suffix>" with no
  // '.' in the suffix (task_info() makes them; adopt_by_name() takes only such ids), so the name
  // is found from the id: no index by task id to keep (one map node and one copy of the id per
  // task).
  Entry* current_run(const std::string& task_id);
  // After a restart without a store, a program re-adds the same specs; an update for
  // "<name>.<suffix>" of a task still pending is that task's run, adopted instead of launched.
  Entry* adopt_by_name(const mesos::v1::TaskStatus& status);
  // A live run "<name>.<16 hex digits>" of a task we have, that is not the task's current run
  // (launched anew before the old run was reported): killed, or it would run untracked.
  void kill_if_orphan(const mesos::v1::TaskStatus& status);

  // --- the launch hold after SUBSCRIBED ------------------------------------------------------
  // Offers may come before the implicit reconciliation reports runs left from before a restart
  // (or a lost connection); a task launched then would run twice. So launches wait until the
  // master has answered that reconciliation, or ManagerOptions::adoption_hold passed. Offers
  // that come meanwhile are kept (not declined) and used when the hold ends.
  void start_hold();
  void send_fence(std::uint64_t subscription);
  void end_hold();
  bool should_restart(const Entry& entry, TaskState state) const;
  void send_kill(Entry& entry);

  // --- the one timer: relaunch backoffs, task timeouts, a deferred REVIVE ---------------------

  // Walks every task for the earliest wake-up (load, and after each firing).
  void arm_timer();
  // A new wake-up at `when` (none: nothing): O(1), the timer only moves earlier.
  void arm_at(std::optional<SteadyClock::time_point> when);
  void on_timer();

  // See ManagerOptions::trim_heap_interval: armed by an event, so an idle scheduler stays idle.
  void arm_trim();
  // Gives freed heap back now (when 4 MiB or more are free), as the timer armed by arm_trim()
  // does later.
  void trim_now();
  void on_accept_answered();

  scheduler::Client& client_;
  ManagerOptions options_;
  ChangeHandler on_change_;
  // Before entries_: the entries' shared specs leave it when they go.
  SharedSpecs specs_;
  // By name: launch order is name order, deterministic. Transparent, for lookups by a part of
  // a task id (current_run()).
  std::map<std::string, Entry, std::less<>> entries_;
  // Per-phase counts, and the tasks that may wait for an offer (pending or backing off, not
  // killed), so that offers, add() and want_offers() do not walk every task.
  std::array<std::size_t, 5> phase_counts_{};
  std::set<EntryIt, NameLess> waiting_;
  std::uint64_t waiting_changes_ = 0;  // inserts and erases in waiting_ (a walk's iterator)
  // The open batch: while batch_depth_ > 0 (handle_event, batch(), on_offers), saves only mark
  // entries dirty; flush() writes them. batch_failed_: a write of the current burst failed.
  int batch_depth_ = 0;
  std::vector<std::string> dirty_;
  std::vector<std::string> removed_;
  bool batch_failed_ = false;
  bool bursting_ = false;  // events were handled since the client's last gate call
  bool flush_posted_ = false;
  boost::asio::steady_timer timer_;
  std::optional<SteadyClock::time_point> armed_for_;
  boost::asio::steady_timer trim_timer_;
  bool trim_armed_ = false;
  // ACCEPTs not yet answered, and the tasks they launched since the last time none was left.
  std::size_t accepts_in_flight_ = 0;
  std::size_t burst_tasks_ = 0;
  std::optional<SteadyClock::time_point> last_revive_;
  std::optional<SteadyClock::time_point> revive_due_;
  bool suppressed_ = false;
  std::mt19937_64 rng_;
  ManagerCounters counters_;
  int failures_in_row_ = 0;
  bool loaded_ = false;
  // The launch hold: SUBSCRIBEDs seen (a fence of an older one is ignored), whether launches
  // wait, until when at most, and the offers kept meanwhile.
  std::uint64_t subscriptions_ = 0;
  bool holding_ = false;
  bool fence_ready_ = false;  // the client's RECONCILE is queued: a call made now can end it
  std::optional<SteadyClock::time_point> hold_until_;
  mesos::v1::scheduler::Event::Offers held_offers_;
  // Orphan runs a KILL was sent for in this subscription (a dying one reports more states).
  std::set<std::string> orphans_killed_;
  // Runs not current that a reconciliation answer reported ended (kept across subscriptions:
  // that stays true), until their last update; the oldest beyond kMaxEndedRuns are forgotten
  // (a run whose last update never comes then costs one needless KILL at most per re-send).
  static constexpr std::size_t kMaxEndedRuns = 65536;
  std::unordered_set<std::string> ended_runs_;
  std::deque<std::string> ended_order_;
};

}  // namespace heatblast::tasks
