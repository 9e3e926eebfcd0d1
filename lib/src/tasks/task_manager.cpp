#include <algorithm>
#include <random>

#include <boost/asio/post.hpp>

#include <fmt/format.h>

#include "heatblast/task_state.hpp"
#include "tasks/heap.hpp"
#include "tasks/task_manager_impl.hpp"

namespace heatblast::tasks {
namespace {

using mesos::v1::TaskState;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;
using SteadyClock = std::chrono::steady_clock;

// See TaskSpec::constraints for the accepted forms.
bool attribute_matches(const mesos::v1::Offer& offer, const std::string& name,
                       const std::string& value) {
  if (name == "hostname") return offer.hostname() == value;
  for (const auto& attribute : offer.attributes()) {
    if (attribute.name() != name) continue;
    if (attribute.has_text()) return attribute.text().value() == value;
    if (attribute.has_scalar()) return fmt::format("{}", attribute.scalar().value()) == value;
    if (attribute.has_set()) {
      const auto& items = attribute.set().item();
      return std::find(items.begin(), items.end(), value) != items.end();
    }
  }
  return false;
}

bool constraints_match(const mesos::v1::Offer& offer,
                       const std::map<std::string, std::string>& constraints) {
  for (const auto& [name, value] : constraints) {
    if (!attribute_matches(offer, name, value)) return false;
  }
  return true;
}

}  // namespace

// A buffer allocated inside a burst (the launches of a ramp, the statuses of a reconciliation)
// outlives the burst's own memory, and each keeps a page of the freed burst resident: measured
// at 10,000 tasks, the three strings of each run pinned about 13 MiB of free heap that
// malloc_trim() cannot return. Reserved here, they sit beside the task's other long-lived
// memory; a later assignment no longer than the reserve reuses the buffer, so a relaunch or a
// new status allocates nothing.
void reserve_run_strings(TaskRecord& record) {
  constexpr std::size_t kRunSuffix = 17;  // ".<16 hex digits>": see task_info()
  // A Mesos agent id is "<the master's uuid>-S<n>" (38 characters and the digits); the master's
  // status messages ("Reconciliation: Latest task state", ...) fit in as much.
  constexpr std::size_t kAgentId = 47;
  constexpr std::size_t kMessage = 47;
  record.task_id.reserve(record.name.size() + kRunSuffix);
  record.agent_id.reserve(kAgentId);
  record.message.reserve(kMessage);
}

Result<void> TaskStore::write_tasks(const std::vector<Write>& writes) {
  for (const auto& write : writes) {
    auto written =
        write.spec ? save_task(*write.spec, *write.record) : remove_task(std::string(write.name));
    if (!written) return written;
  }
  return {};
}

std::string_view to_string(Phase phase) noexcept {
  switch (phase) {
    case Phase::pending:
      return "pending";
    case Phase::launched:
      return "launched";
    case Phase::active:
      return "active";
    case Phase::backing_off:
      return "backing_off";
    case Phase::done:
      return "done";
  }
  return "unknown";
}

Result<void> TaskManager::Impl::load() {
  if (client_.state() != scheduler::State::disconnected || loaded_) {
    return fail(errc::invalid_argument,
                "TaskManager::load() must come once, before the client starts");
  }
  loaded_ = true;
  if (!options_.store) return {};
  auto loaded = options_.store->load_tasks();
  if (!loaded) return tl::unexpected(loaded.error());
  for (auto& [spec, record] : *loaded) {
    Entry entry(specs_.intern(std::move(spec)), std::move(record));
    // A run that was out when the program stopped is adopted through reconciliation. A
    // backoff goes on where it stood: its restart count, delay and retry time are stored, so
    // a program restarted in a crash loop does not grant its tasks fresh retries.
    entry.backoff.set_attempts(entry.record.backoff_attempts);
    if (entry.record.phase == Phase::backing_off && !entry.record.retry_at) {
      entry.record.retry_at = SteadyClock::now();
    }
    if (entry.record.phase != Phase::backing_off) entry.record.retry_at.reset();
    // A run's timeout counts from its launch, not from our restart.
    if (entry.spec().timeout.count() > 0 && entry.record.launched_at &&
        (entry.record.phase == Phase::launched || entry.record.phase == Phase::active)) {
      const auto ran = std::chrono::system_clock::now() - *entry.record.launched_at;
      entry.deadline = SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                                entry.spec().timeout - ran);
    }
    const std::string name = entry.record.name;
    if (auto old = entries_.find(name); old != entries_.end()) account(old->second, -1);
    auto it = entries_.insert_or_assign(name, std::move(entry)).first;
    account(it->second, +1);
  }
  arm_timer();
  return {};
}

namespace {

// What add() and update_spec() refuse.
Result<void> check_spec(const TaskSpec& spec) {
  if (spec.name.empty() || spec.name.find_first_of("/\\ \t\n") != std::string::npos) {
    return fail(errc::invalid_argument,
                fmt::format("task name '{}' is empty or has '/', '\\' or blanks", spec.name));
  }
  if (!spec.command.has_value() && !spec.container) {
    return fail(errc::invalid_argument, fmt::format("task '{}' has no command", spec.name));
  }
  if (spec.resources.scalars.empty() && spec.resources.port_count == 0 &&
      spec.resources.ports.empty()) {
    return fail(
        errc::invalid_argument,
        fmt::format("task '{}' needs some resources (Mesos refuses a task without)", spec.name));
  }
  return {};
}

}  // namespace

Result<void> TaskManager::Impl::add(TaskSpec spec) {
  if (auto checked = check_spec(spec); !checked) return checked;
  if (entries_.contains(spec.name)) {
    return fail(errc::invalid_argument, fmt::format("task '{}' already exists", spec.name));
  }
  TaskRecord record;
  record.name = spec.name;
  Entry entry(specs_.intern(std::move(spec)), std::move(record));
  const std::string name = entry.record.name;
  auto [it, inserted] = entries_.emplace(name, std::move(entry));
  account(it->second, +1);
  persist(it->second);
  report(it->second, Phase::pending, std::nullopt);
  want_offers();
  return {};
}

Result<void> TaskManager::Impl::update_spec(TaskSpec spec) {
  if (auto checked = check_spec(spec); !checked) return checked;
  auto it = entries_.find(spec.name);
  if (it == entries_.end())
    return fail(errc::invalid_argument, fmt::format("no task '{}'", spec.name));
  Entry& entry = it->second;
  // A new shared spec (another task's, when it has this content): the old one, still used by
  // other tasks, is not touched.
  entry.shared = specs_.intern(std::move(spec));
  // The delay grown so far stays; the new options bound it from the next relaunch on.
  entry.backoff.set_attempts(entry.record.backoff_attempts);
  persist(entry);
  // Other resources or constraints may fit offers that the old ones did not.
  if (entry.record.phase == Phase::pending) want_offers();
  return {};
}

Result<void> TaskManager::Impl::kill(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return fail(errc::invalid_argument, fmt::format("no task '{}'", name));
  Entry& entry = it->second;
  account(entry, -1);
  entry.record.kill_requested = true;
  account(entry, +1);
  switch (entry.record.phase) {
    case Phase::pending:
    case Phase::backing_off:
      set_phase(entry, Phase::done);
      break;
    case Phase::launched:
    case Phase::active:
      send_kill(entry);
      persist(entry);
      break;
    case Phase::done:
      break;
  }
  return {};
}

Result<void> TaskManager::Impl::remove(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return fail(errc::invalid_argument, fmt::format("no task '{}'", name));
  if (it->second.record.phase == Phase::launched || it->second.record.phase == Phase::active) {
    return fail(errc::invalid_argument,
                fmt::format("task '{}' is still running; kill it first", name));
  }
  account(it->second, -1);
  entries_.erase(it);
  if (options_.store && batch_depth_ > 0) {
    removed_.push_back(name);
    post_flush();
    return {};
  }
  if (options_.store) {
    if (auto removed = options_.store->remove_task(name); !removed) return removed;
  }
  return {};
}

Result<void> TaskManager::Impl::batch(const std::function<void()>& work) {
  ++batch_depth_;
  work();
  --batch_depth_;
  if (batch_depth_ > 0) return {};  // inside handle_event: the event's batch writes it
  if (!flush()) return fail(errc::io_error, "the task store failed to write the batch");
  return {};
}

bool TaskManager::Impl::pass_acknowledgements(std::size_t acknowledgements) {
  const bool written = flush();
  const bool failed = !written || batch_failed_;
  batch_failed_ = false;
  bursting_ = false;
  if (failed) counters_.acknowledgements_held += acknowledgements;
  return !failed;
}

void TaskManager::Impl::handle_event(const Event& event) {
  ++batch_depth_;
  bursting_ = true;
  handle(event);
  --batch_depth_;
  arm_trim();
}

void TaskManager::Impl::arm_trim() {
  if (trim_armed_ || options_.trim_heap_interval.count() <= 0) return;
  trim_armed_ = true;
  trim_timer_.expires_after(options_.trim_heap_interval);
  std::weak_ptr<Impl> weak = weak_from_this();
  trim_timer_.async_wait([weak](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    self->trim_armed_ = false;
    self->trim_now();
  });
}

void TaskManager::Impl::trim_now() {
  // Less than this is not worth a walk of the heap.
  constexpr std::size_t kMinFree = std::size_t{4} << 20;
  if (trim_heap(kMinFree)) ++counters_.heap_trims;
}

void TaskManager::Impl::handle(const Event& event) {
  switch (event.type()) {
    case Event::SUBSCRIBED:
      // A new subscription starts with every filter and suppression of the old one gone
      // (the client re-sends its suppressed roles): decide again, once the master has told
      // which runs it still has (see start_hold).
      last_revive_.reset();
      suppressed_ = false;
      orphans_killed_.clear();
      start_hold();
      // KILLs sent before the connection dropped may never have reached the master.
      for (auto& [name, entry] : entries_) {
        const bool out =
            entry.record.phase == Phase::launched || entry.record.phase == Phase::active;
        if (out && (entry.record.kill_requested || entry.timed_out)) {
          entry.last_kill.reset();  // a new connection: not limited by the old one's KILL
          send_kill(entry);
        }
      }
      break;
    case Event::OFFERS:
      if (holding_) {
        for (const auto& offer : event.offers().offers())
          *held_offers_.add_offers() = offer;
      } else {
        on_offers(event.offers());
      }
      break;
    case Event::RESCIND:
      if (holding_) {
        auto* kept = held_offers_.mutable_offers();
        for (int i = 0; i < kept->size(); ++i) {
          if (kept->Get(i).id().value() != event.rescind().offer_id().value()) continue;
          kept->DeleteSubrange(i, 1);
          break;
        }
      }
      break;
    case Event::UPDATE:
      on_status(event.update().status());
      break;
    default:
      break;
  }
}

std::vector<Call::Reconcile::Task> TaskManager::Impl::known_tasks() const {
  std::vector<Call::Reconcile::Task> out;
  for (const auto& [name, entry] : entries_) {
    if (entry.record.task_id.empty()) continue;
    if (entry.record.phase != Phase::launched && entry.record.phase != Phase::active) continue;
    Call::Reconcile::Task task;
    task.mutable_task_id()->set_value(entry.record.task_id);
    if (!entry.record.agent_id.empty()) task.mutable_agent_id()->set_value(entry.record.agent_id);
    out.push_back(std::move(task));
  }
  return out;
}

const TaskRecord* TaskManager::Impl::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second.record;
}

std::vector<TaskRecord> TaskManager::Impl::records() const {
  std::vector<TaskRecord> out;
  for (const auto& [name, entry] : entries_)
    out.push_back(entry.record);
  return out;
}

std::size_t TaskManager::Impl::count(std::initializer_list<Phase> phases) const {
  std::size_t n = 0;
  for (const Phase phase : phases)
    n += phase_counts_[static_cast<std::size_t>(phase)];
  return n;
}

void TaskManager::Impl::account(const Entry& entry, int sign) {
  auto& n = phase_counts_[static_cast<std::size_t>(entry.record.phase)];
  n = sign > 0 ? n + 1 : n - 1;
  const bool waits = !entry.record.kill_requested && (entry.record.phase == Phase::pending ||
                                                      entry.record.phase == Phase::backing_off);
  if (!waits) return;
  auto it = entries_.find(entry.record.name);
  if (it == entries_.end()) return;
  ++waiting_changes_;
  if (sign > 0) {
    waiting_.insert(it);
  } else {
    waiting_.erase(it);
  }
}

void TaskManager::Impl::change_phase(Entry& entry, Phase phase) {
  account(entry, -1);
  entry.record.phase = phase;
  account(entry, +1);
}

void TaskManager::Impl::report(const Entry& entry, Phase previous_phase,
                               std::optional<TaskState> previous_state) {
  if (on_change_) on_change_(TaskChange{entry.record, previous_phase, previous_state});
}

bool TaskManager::Impl::persist(Entry& entry) {
  if (!options_.store) return true;
  if (batch_depth_ > 0) {
    if (!entry.dirty) {
      entry.dirty = true;
      dirty_.push_back(entry.record.name);
    }
    post_flush();
    return true;
  }
  auto saved = save(entry);
  entry.unsaved = !saved;
  if (saved) {
    failures_in_row_ = 0;
    return true;
  }
  on_store_failure(entry.record.name, saved.error());
  return false;
}

Result<void> TaskManager::Impl::save(const Entry& entry) {
  if (options_.store->names_from_writes()) {
    return options_.store->write_tasks({{&entry.spec(), &entry.record, entry.record.name}});
  }
  TaskSpec spec = entry.spec();
  spec.name = entry.record.name;
  return options_.store->save_task(spec, entry.record);
}

bool TaskManager::Impl::flush() {
  if (dirty_.empty() && removed_.empty()) return true;
  std::vector<Entry*> entries;
  std::vector<TaskStore::Write> writes;
  writes.reserve(removed_.size() + dirty_.size());
  // A store that reads the spec's name gets a named copy of each (kept until it returns).
  const bool named = !options_.store->names_from_writes();
  std::vector<TaskSpec> copies;
  if (named) copies.reserve(dirty_.size());
  // Removals first: a name removed and added again in the batch ends up saved.
  for (const auto& name : removed_)
    writes.push_back({nullptr, nullptr, name});
  for (const auto& name : dirty_) {
    auto it = entries_.find(name);
    if (it == entries_.end() || !it->second.dirty) continue;  // removed, or listed twice
    it->second.dirty = false;
    entries.push_back(&it->second);
    const TaskSpec* spec = &it->second.spec();
    if (named) {
      spec = &copies.emplace_back(*spec);
      copies.back().name = it->first;
    }
    writes.push_back({spec, &it->second.record, it->first});
  }
  auto written = options_.store->write_tasks(writes);
  const std::string first = writes.empty() ? std::string() : std::string(writes.front().name);
  const std::size_t count = writes.size();
  dirty_.clear();
  removed_.clear();
  // A burst (a program's batch of adds, the launches of a ramp) leaves these as long as the
  // burst was: 32 bytes a task, kept for good after a single burst. Small ones stay for reuse.
  constexpr std::size_t kKeptCapacity = 1024;
  if (dirty_.capacity() > kKeptCapacity) std::vector<std::string>().swap(dirty_);
  if (removed_.capacity() > kKeptCapacity) std::vector<std::string>().swap(removed_);
  for (Entry* entry : entries)
    entry->unsaved = !written;
  if (written) {
    failures_in_row_ = 0;
    return true;
  }
  if (bursting_) batch_failed_ = true;
  on_store_failure(count == 1 ? first : fmt::format("{} and {} more", first, count - 1),
                   written.error());
  return false;
}

void TaskManager::Impl::post_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  std::weak_ptr<Impl> weak = weak_from_this();
  boost::asio::post(client_.get_executor(), [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->flush_posted_ = false;
    self->flush();
  });
}

void TaskManager::Impl::on_store_failure(const std::string& name, const Error& error) {
  ++counters_.store_errors;
  ++failures_in_row_;
  log(scheduler::LogLevel::error,
      fmt::format("tasks: cannot save task '{}': {}", name, error.what()));
  if (options_.store_failures_before_fatal > 0 &&
      failures_in_row_ == options_.store_failures_before_fatal && options_.on_fatal) {
    options_.on_fatal(Error(error.code, fmt::format("the task store failed {} times in a row; "
                                                    "last: {}",
                                                    failures_in_row_, error.what())));
  }
}

void TaskManager::Impl::log(scheduler::LogLevel level, std::string message) const {
  if (options_.on_log) options_.on_log(level, message);
}

void TaskManager::Impl::set_phase(Entry& entry, Phase phase) {
  const Phase previous = entry.record.phase;
  if (previous == phase) return;
  change_phase(entry, phase);
  persist(entry);
  report(entry, previous, entry.record.state);
}

bool TaskManager::Impl::launchable(const Entry& entry, SteadyClock::time_point now) const {
  if (entry.record.kill_requested) return false;
  if (entry.record.phase == Phase::pending) return true;
  return entry.record.phase == Phase::backing_off && entry.record.retry_at &&
         *entry.record.retry_at <= now;
}

std::size_t TaskManager::Impl::slots() const {
  if (options_.max_in_flight == 0) return SIZE_MAX;
  const std::size_t out = count({Phase::launched, Phase::active});
  return out >= options_.max_in_flight ? 0 : options_.max_in_flight - out;
}

std::vector<mesos::v1::TaskInfo> TaskManager::Impl::fill(const mesos::v1::Offer& offer,
                                                         SteadyClock::time_point now,
                                                         bool& unmatched) {
  std::vector<mesos::v1::TaskInfo> launches;
  const bool role_ok = options_.role.empty() || !offer.has_allocation_info() ||
                       offer.allocation_info().role() == options_.role;
  auto offered = offer_resources(offer);
  if (!role_ok || !offered) return launches;
  Resources remaining = *offered;
  // Counted once, not per task: slots() walks every task, which made an offer cost O(tasks^2)
  // (profiled: 10,000 tasks under -maxtasks spent >90% of the scheduler's CPU there).
  std::size_t room = slots();
  constexpr std::size_t kUnfitKept = 8;
  std::vector<const Entry*> unfit;
  // Only the waiting tasks. A launch takes its task out of the set (and the ChangeHandler may
  // add or kill tasks): then the walk looks up the name after the last one.
  auto next = waiting_.begin();
  for (std::uint64_t seen = waiting_changes_;
       room > 0 && next != waiting_.end() && !remaining.empty();) {
    const EntryIt current = *next;
    Entry& entry = current->second;
    ++next;
    const auto step = [&] {
      if (waiting_changes_ == seen) return;
      seen = waiting_changes_;
      next = waiting_.upper_bound(current);
    };
    if (!launchable(entry, now)) continue;
    if (!constraints_match(offer, entry.spec().constraints)) {
      unmatched = true;
      continue;
    }
    // What is left only shrinks: a need that did not fit will not fit later in this offer.
    // Thousands of tasks often share one spec, so this keeps an offer from trying them all.
    const auto failed_before = [&](const Entry* other) {
      if (other->shared == entry.shared) return true;
      return other->spec().resources.scalars == entry.spec().resources.scalars &&
             other->spec().resources.port_count == entry.spec().resources.port_count &&
             other->spec().resources.ports == entry.spec().resources.ports &&
             other->spec().resources.role == entry.spec().resources.role &&
             other->spec().resources.allow_revocable == entry.spec().resources.allow_revocable;
    };
    if (std::any_of(unfit.begin(), unfit.end(), failed_before)) continue;
    ResourceNeed need = entry.spec().resources;
    if (need.role.empty() && !options_.role.empty()) need.role = options_.role;
    auto taken = take(need, remaining);
    if (!taken) {
      if (unfit.size() < kUnfitKept) unfit.push_back(&entry);
      continue;
    }
    launches.push_back(task_info(entry, offer, std::move(*taken)));
    if (room != SIZE_MAX) --room;
    step();
  }
  return launches;
}

void TaskManager::Impl::on_offers(const mesos::v1::scheduler::Event::Offers& offers) {
  const auto now = SteadyClock::now();
  struct Launch {
    mesos::v1::OfferID offer_id;
    std::vector<mesos::v1::TaskInfo> tasks;
  };
  std::vector<Launch> launches;
  std::vector<mesos::v1::OfferID> declined;
  ++batch_depth_;
  for (const auto& offer : offers.offers()) {
    bool unmatched = false;
    auto tasks = fill(offer, now, unmatched);
    if (tasks.empty()) {
      if (unmatched) ++counters_.offers_declined_for_constraints;
      declined.push_back(offer.id());
      continue;
    }
    launches.push_back({offer.id(), std::move(tasks)});
  }
  warn_starved(now);
  --batch_depth_;
  // Every launch is on disk before its ACCEPT goes out (one write for all of them): a restarted
  // scheduler must know the runs it may have started.
  if (!launches.empty() && !flush()) {
    for (auto& launch : launches) {
      for (const auto& task : launch.tasks)
        undo_launch(task.name(), "not launched: the task store failed");
      declined.push_back(std::move(launch.offer_id));
    }
    launches.clear();
  }
  for (auto& launch : launches) {
    // What the launches leave of the offer is declined with the default filter.
    std::vector<std::string> names;
    for (const auto& task : launch.tasks)
      names.push_back(task.name());
    ++accepts_in_flight_;
    burst_tasks_ += names.size();
    std::weak_ptr<Impl> weak = weak_from_this();
    client_.launch({std::move(launch.offer_id)}, std::move(launch.tasks), std::nullopt,
                   [weak, names = std::move(names)](Result<void> result) {
                     auto self = weak.lock();
                     if (!self) return;
                     if (!result) self->on_launch_failed(names, result.error());
                     self->on_accept_answered();
                   });
  }
  if (!declined.empty()) {
    mesos::v1::Filters filters;
    filters.set_refuse_seconds(options_.decline_refuse_seconds);
    client_.decline(std::move(declined), filters);
  }
  if (options_.suppress_when_idle && !suppressed_ && nothing_to_launch()) {
    suppressed_ = true;
    client_.suppress(roles());
  }
  if (batch_depth_ == 0) flush();  // what warn_starved() changed, outside an event's batch
}

void TaskManager::Impl::on_accept_answered() {
  if (accepts_in_flight_ > 0) --accepts_in_flight_;
  // A launch burst (a ramp: an ACCEPT with its TaskInfos for every offer, queued at once) ends
  // when its last ACCEPT is answered. Its memory is free from then on; given back at once, not
  // up to trim_heap_interval later, the process never sits at the burst's peak.
  constexpr std::size_t kBurstTasks = 1000;
  if (accepts_in_flight_ > 0) return;
  const bool burst = burst_tasks_ >= kBurstTasks;
  burst_tasks_ = 0;
  if (burst && options_.trim_heap_interval.count() > 0) trim_now();
}

void TaskManager::Impl::undo_launch(const std::string& name, const std::string& why) {
  auto it = entries_.find(name);
  if (it == entries_.end() || it->second.record.phase != Phase::launched) return;
  Entry& entry = it->second;
  entry.record.task_id.clear();
  entry.record.agent_id.clear();
  entry.record.hostname.clear();
  entry.record.launched_at.reset();
  entry.record.message = why;
  entry.deadline.reset();
  --entry.record.launches;
  // Not written: the store still holds the record from before this launch.
  entry.unsaved = true;
  change_phase(entry, Phase::pending);
  report(entry, Phase::launched, std::nullopt);
}

void TaskManager::Impl::on_launch_failed(const std::vector<std::string>& names,
                                         const Error& error) {
  std::vector<Call::Reconcile::Task> ask;
  bool batched = false;  // the tasks put back to pending are written together
  for (const auto& name : names) {
    auto it = entries_.find(name);
    if (it == entries_.end()) continue;
    Entry& entry = it->second;
    if (entry.record.phase != Phase::launched || entry.record.state) continue;
    // Rejected, or refused before sending (the client's call queue was full): nothing ran.
    if (error.code == errc::call_rejected || error.code == errc::call_queue_full) {
      if (!batched) {
        batched = true;
        ++batch_depth_;
      }
      entry.record.message = error.message;
      --entry.record.launches;
      set_phase(entry, Phase::pending);
    } else {
      Call::Reconcile::Task task;
      task.mutable_task_id()->set_value(entry.record.task_id);
      task.mutable_agent_id()->set_value(entry.record.agent_id);
      ask.push_back(std::move(task));
    }
  }
  if (batched) {
    --batch_depth_;
    if (batch_depth_ == 0) flush();
  }
  if (!ask.empty()) client_.reconcile(std::move(ask));
  want_offers();
}

mesos::v1::TaskInfo TaskManager::Impl::task_info(Entry& entry, const mesos::v1::Offer& offer,
                                                 std::vector<mesos::v1::Resource> resources) {
  mesos::v1::TaskInfo task;
  task.set_name(entry.record.name);
  const std::string task_id = fmt::format("{}.{:016x}", entry.record.name, rng_());
  task.mutable_task_id()->set_value(task_id);
  *task.mutable_agent_id() = offer.agent_id();
  for (auto& resource : resources)
    *task.add_resources() = std::move(resource);
  *task.mutable_command() = entry.spec().command;
  if (entry.spec().container) *task.mutable_container() = *entry.spec().container;
  if (entry.spec().labels.labels_size() > 0) *task.mutable_labels() = entry.spec().labels;

  entry.record.task_id = task_id;
  entry.record.agent_id = offer.agent_id().value();
  entry.record.hostname = offer.hostname();
  entry.record.state.reset();
  entry.record.message.clear();
  entry.record.reason.reset();
  entry.record.retry_at.reset();
  entry.record.starved = false;
  entry.waiting_since.reset();
  entry.record.launched_at = std::chrono::system_clock::now();
  ++entry.record.launches;
  entry.timed_out = false;
  entry.running_since.reset();
  entry.deadline.reset();
  if (entry.spec().timeout.count() > 0) entry.deadline = SteadyClock::now() + entry.spec().timeout;
  set_phase(entry, Phase::launched);
  arm_at(entry.deadline);
  return task;
}

void TaskManager::Impl::warn_starved(SteadyClock::time_point now) {
  if (options_.starved_after.count() <= 0) return;
  // A task that is not waiting had its waiting_since reset at its launch.
  for (std::optional<EntryIt> last;;) {
    auto next = last ? waiting_.upper_bound(*last) : waiting_.begin();
    if (next == waiting_.end()) break;
    const EntryIt current = *next;
    last = current;
    const std::string& name = current->first;
    Entry& entry = current->second;
    if (!launchable(entry, now)) {
      entry.waiting_since.reset();
      continue;
    }
    if (!entry.waiting_since) entry.waiting_since = now;
    if (entry.record.starved || now - *entry.waiting_since < options_.starved_after) continue;
    entry.record.starved = true;
    std::string constraints;
    for (const auto& [attr, value] : entry.spec().constraints)
      constraints += fmt::format("{}{}={}", constraints.empty() ? "" : ", ", attr, value);
    entry.record.message = fmt::format(
        "no offer fitted for {} s (resources{})",
        std::chrono::duration_cast<std::chrono::seconds>(now - *entry.waiting_since).count(),
        constraints.empty() ? "" : "; constraints " + constraints);
    log(scheduler::LogLevel::warning,
        fmt::format("tasks: task '{}' waits: {}", name, entry.record.message));
    persist(entry);
    report(entry, entry.record.phase, entry.record.state);
  }
}

bool TaskManager::Impl::nothing_to_launch() const {
  if (slots() == 0) return true;  // a run that ends frees a slot and calls want_offers()
  return waiting_.empty();
}

std::vector<std::string> TaskManager::Impl::roles() const {
  if (options_.role.empty()) return {};
  return {options_.role};
}

void TaskManager::Impl::want_offers() {
  if (nothing_to_launch()) return;
  const auto now = SteadyClock::now();
  if (last_revive_ && now - *last_revive_ < options_.min_revive_interval) {
    revive_due_ = *last_revive_ + options_.min_revive_interval;
    arm_at(revive_due_);
    return;
  }
  last_revive_ = now;
  revive_due_.reset();
  suppressed_ = false;
  if (client_.state() != scheduler::State::subscribed) return;  // SUBSCRIBED calls us again
  std::weak_ptr<Impl> weak = weak_from_this();
  // Sent after the RECONCILE of this subscription: its answer ends the launch hold.
  const std::optional<std::uint64_t> fence =
      holding_ && fence_ready_ ? std::optional(subscriptions_) : std::nullopt;
  client_.revive(roles(), [weak, fence](Result<void> result) {
    auto self = weak.lock();
    if (!self) return;
    if (fence && *fence == self->subscriptions_) self->end_hold();
    if (result) return;
    // Not revived (a rejected or unanswered call while still subscribed): try again after
    // the rate limit, or pending work could wait for offers forever.
    self->revive_due_ = SteadyClock::now() + self->options_.min_revive_interval;
    self->arm_at(self->revive_due_);
  });
}

void TaskManager::Impl::on_status(const mesos::v1::TaskStatus& status) {
  const std::string& task_id = status.task_id().value();
  // An update of an earlier run (a master re-sends it until acknowledged, long after the task
  // was relaunched) says nothing about the current run: applying it could end the current run
  // here while it still runs, and launch a second one. It is adopted only as
  // adopt_by_name() says, or killed as an orphan.
  Entry* entry = current_run(task_id);
  if (!entry) {
    entry = adopt_by_name(status);
    if (!entry) {
      kill_if_orphan(status);
      return;  // not ours (or no longer)
    }
  }
  const auto previous_phase = entry->record.phase;
  // The master sends an update again until it is acknowledged (ours was held back when its
  // save failed): the run already ended here, so only the save is retried.
  // So does a restarted master, which may also repeat an earlier, non-terminal state of that
  // run: neither may bring an ended run back.
  // (A pending task whose launch was taken for lost may still turn up running: adopted below.)
  const bool ended_here = previous_phase == Phase::backing_off || previous_phase == Phase::done ||
                          (previous_phase == Phase::pending && is_terminal(status.state()));
  if (ended_here && entry->record.last_outcome && task_id == entry->record.task_id) {
    save_or_hold(*entry);
    return;
  }
  const auto previous_state = entry->record.state;
  // The same state of the same active run, as reconciliation answers after every subscribe:
  // nothing to write. (Each save is a synchronous transaction; hundreds of them per
  // resubscribe kept the scheduler from sending its acknowledgements before the next fault.)
  const bool repeat =
      previous_phase == Phase::active && previous_state == status.state() && !entry->unsaved &&
      (!status.has_message() || status.message() == entry->record.message) &&
      (status.has_reason() ? std::optional(status.reason()) : std::nullopt) ==
          entry->record.reason &&
      (!status.has_agent_id() || status.agent_id().value() == entry->record.agent_id);
  entry->record.state = status.state();
  if (status.has_message()) entry->record.message = status.message();
  entry->record.reason = status.has_reason() ? std::optional(status.reason()) : std::nullopt;
  if (status.has_agent_id()) entry->record.agent_id = status.agent_id().value();

  // A partition-aware master answers reconciliation for a task it never knew with
  // TASK_UNKNOWN, which is not terminal; for a launch never seen, it means the same as LOST.
  const bool unknown_launch = previous_phase == Phase::launched && !previous_state &&
                              status.state() == mesos::v1::TASK_UNKNOWN &&
                              status.reason() == mesos::v1::TaskStatus::REASON_RECONCILIATION;
  if (!is_terminal(status.state()) && !unknown_launch) {
    // A run we asked to end is still alive: the KILL was lost (sent while disconnected, or
    // dropped with the connection). Ask again.
    if (entry->record.kill_requested || entry->timed_out) send_kill(*entry);
    if (status.state() == mesos::v1::TASK_RUNNING && !entry->running_since) {
      entry->running_since = SteadyClock::now();
    }
    change_phase(*entry, Phase::active);
    if (!repeat) save_or_hold(*entry);
    report(*entry, previous_phase, previous_state);
    return;
  }

  // A launch the master never knew (the ACCEPT was lost with the connection): not a run, so
  // launch it again whatever the policy; nothing can be running twice.
  // So is a launch the master dropped because its offer was no longer valid (a rescind
  // raced the ACCEPT).
  // Only a state that says the master does not have the task counts: a run whose own updates
  // were lost (a dropped or stalled stream) may be answered FINISHED or FAILED by
  // reconciliation, and it did run.
  const bool unknown_to_master =
      status.state() == mesos::v1::TASK_LOST || status.state() == mesos::v1::TASK_DROPPED ||
      status.state() == mesos::v1::TASK_GONE || status.state() == mesos::v1::TASK_UNKNOWN;
  const bool never_started = previous_phase == Phase::launched && !previous_state &&
                             unknown_to_master &&
                             (status.reason() == mesos::v1::TaskStatus::REASON_RECONCILIATION ||
                              status.reason() == mesos::v1::TaskStatus::REASON_INVALID_OFFERS);
  entry->record.last_outcome = status.state();
  entry->deadline.reset();
  if (never_started && !entry->record.kill_requested) {
    --entry->record.launches;
    change_phase(*entry, Phase::pending);
    save_or_hold(*entry);
    report(*entry, previous_phase, previous_state);
    want_offers();
    return;
  }
  if (entry->running_since &&
      SteadyClock::now() - *entry->running_since >= entry->spec().restart.stable_after) {
    entry->backoff.reset();
    entry->record.backoff_attempts = 0;
  }
  entry->running_since.reset();
  if (should_restart(*entry, status.state())) {
    ++entry->record.restarts;
    entry->retry_due = false;
    entry->record.retry_at =
        SteadyClock::now() + entry->backoff.next(entry->spec().restart.backoff, rng_);
    entry->record.backoff_attempts = entry->backoff.attempts();
    change_phase(*entry, Phase::backing_off);
    arm_at(entry->record.retry_at);
  } else {
    change_phase(*entry, Phase::done);
  }
  save_or_hold(*entry);
  report(*entry, previous_phase, previous_state);
  // A slot under max_in_flight may have freed for a task that waits.
  if (options_.max_in_flight > 0) want_offers();
}

void TaskManager::Impl::save_or_hold(Entry& entry) {
  if (persist(entry)) return;
  if (client_.hold_acknowledgement()) ++counters_.acknowledgements_held;
}

TaskManager::Impl::Entry* TaskManager::Impl::current_run(const std::string& task_id) {
  const auto dot = task_id.rfind('.');
  if (dot == std::string::npos) return nullptr;
  auto it = entries_.find(std::string_view(task_id).substr(0, dot));
  if (it == entries_.end() || it->second.record.task_id != task_id) return nullptr;
  return &it->second;
}

TaskManager::Impl::Entry* TaskManager::Impl::adopt_by_name(const mesos::v1::TaskStatus& status) {
  const std::string& task_id = status.task_id().value();
  const auto dot = task_id.rfind('.');
  if (dot == std::string::npos || is_terminal(status.state())) return nullptr;
  auto it = entries_.find(std::string_view(task_id).substr(0, dot));
  if (it == entries_.end() || it->second.record.phase != Phase::pending) return nullptr;
  Entry& entry = it->second;
  // The run taken for lost is not this task's any more: its late updates must not reach it
  // (current_run() now finds this one).
  entry.record.task_id = task_id;
  ++entry.record.launches;
  return &entry;
}

void TaskManager::Impl::kill_if_orphan(const mesos::v1::TaskStatus& status) {
  const std::string& task_id = status.task_id().value();
  if (is_terminal(status.state())) {
    orphans_killed_.erase(task_id);
    // Without a uuid (a reconciliation answer: the run's latest state) the master may still
    // re-send the run's earlier, unacknowledged updates; with one, this is its last update.
    if (status.has_uuid()) {
      ended_runs_.erase(task_id);
    } else if (ended_runs_.insert(task_id).second) {
      ended_order_.push_back(task_id);
    }
    while (ended_order_.size() > kMaxEndedRuns) {
      ended_runs_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
    return;
  }
  // A STARTING or RUNNING re-sent for a run known to have ended: nothing to kill. Killing it
  // anyway costs a call per re-send, and hundreds of them queued ahead of acknowledgements.
  if (ended_runs_.contains(task_id)) return;
  const auto dot = task_id.rfind('.');
  constexpr std::size_t kSuffix = 16;  // task_info() names runs "<name>.<16 hex digits>"
  if (dot == std::string::npos || task_id.size() - dot - 1 != kSuffix ||
      task_id.find_first_not_of("0123456789abcdef", dot + 1) != std::string::npos) {
    return;
  }
  auto it = entries_.find(std::string_view(task_id).substr(0, dot));
  if (it == entries_.end() || it->second.record.task_id == task_id) return;
  if (!orphans_killed_.insert(task_id).second) return;
  ++counters_.orphans_killed;
  log(scheduler::LogLevel::warning,
      fmt::format("tasks: run '{}' of task '{}' is not its current run ('{}'); killing it", task_id,
                  it->first,
                  it->second.record.task_id.empty() ? "none" : it->second.record.task_id));
  std::optional<mesos::v1::AgentID> agent;
  if (status.has_agent_id()) agent = status.agent_id();
  client_.kill(status.task_id(), agent);
}

void TaskManager::Impl::start_hold() {
  held_offers_.Clear();
  const std::uint64_t subscription = ++subscriptions_;
  if (options_.adoption_hold.count() <= 0) {
    holding_ = false;
    hold_until_.reset();
    want_offers();
    return;
  }
  holding_ = true;
  fence_ready_ = false;
  hold_until_ = SteadyClock::now() + options_.adoption_hold;
  arm_at(hold_until_);
  // Posted: the client queues its implicit RECONCILE after on_event(SUBSCRIBED) returns, and
  // calls go out one at a time in order, so the REVIVE sent from here is answered after it.
  std::weak_ptr<Impl> weak = weak_from_this();
  boost::asio::post(client_.get_executor(), [weak, subscription] {
    if (auto self = weak.lock()) self->send_fence(subscription);
  });
}

void TaskManager::Impl::send_fence(std::uint64_t subscription) {
  if (subscription != subscriptions_ || !holding_) return;
  if (client_.state() != scheduler::State::subscribed) {
    end_hold();
    return;
  }
  // From here on, any call goes out after the client's RECONCILE and can end the hold: the
  // one the manager makes anyway. SUPPRESS when nothing waits (a program may still add tasks
  // later: their REVIVE ends the hold then); else REVIVE, now or when the rate limit allows.
  fence_ready_ = true;
  if (nothing_to_launch() && options_.suppress_when_idle) {
    suppressed_ = true;
    std::weak_ptr<Impl> weak = weak_from_this();
    client_.suppress(roles(), [weak, subscription](Result<void>) {
      auto self = weak.lock();
      if (self && subscription == self->subscriptions_) self->end_hold();
    });
    return;
  }
  want_offers();
}

void TaskManager::Impl::end_hold() {
  if (!holding_) return;
  holding_ = false;
  hold_until_.reset();
  mesos::v1::scheduler::Event::Offers offers;
  offers.Swap(&held_offers_);
  if (offers.offers_size() > 0 && client_.state() == scheduler::State::subscribed) {
    on_offers(offers);
  }
}

bool TaskManager::Impl::should_restart(const Entry& entry, TaskState state) const {
  if (entry.record.kill_requested) return false;
  if (entry.spec().restart.max_restarts >= 0 &&
      entry.record.restarts >= entry.spec().restart.max_restarts) {
    return false;
  }
  const bool failed =
      state != mesos::v1::TASK_FINISHED && (state != mesos::v1::TASK_KILLED || entry.timed_out);
  switch (entry.spec().restart.policy) {
    case RestartPolicy::never:
      return false;
    case RestartPolicy::on_failure:
      return failed;
    case RestartPolicy::always:
      return true;
  }
  return false;
}

void TaskManager::Impl::send_kill(Entry& entry) {
  if (entry.record.task_id.empty()) return;
  // Statuses of a dying task come fast; one KILL a second is plenty.
  const auto now = SteadyClock::now();
  if (entry.last_kill && now - *entry.last_kill < std::chrono::seconds(1)) return;
  entry.last_kill = now;
  std::optional<mesos::v1::AgentID> agent;
  if (!entry.record.agent_id.empty()) {
    agent.emplace();
    agent->set_value(entry.record.agent_id);
  }
  mesos::v1::TaskID id;
  id.set_value(entry.record.task_id);
  client_.kill(id, agent);
}

void TaskManager::Impl::arm_timer() {
  std::optional<SteadyClock::time_point> next = revive_due_;
  auto earliest = [&](std::optional<SteadyClock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  earliest(hold_until_);
  for (const auto& [name, entry] : entries_) {
    // A relaunch already due waits for an offer, not for the timer: arming on its past
    // instant would fire at once, again and again, until an offer comes.
    if (entry.record.phase == Phase::backing_off && !entry.retry_due) {
      earliest(entry.record.retry_at);
    }
    if (entry.record.phase == Phase::launched || entry.record.phase == Phase::active) {
      if (!entry.timed_out) earliest(entry.deadline);
    }
  }
  arm_at(next);
}

void TaskManager::Impl::arm_at(std::optional<SteadyClock::time_point> next) {
  if (!next) return;
  if (armed_for_ && *armed_for_ <= *next) return;  // an earlier wake-up is set already
  armed_for_ = next;
  timer_.expires_at(*next);
  std::weak_ptr<Impl> weak = weak_from_this();
  timer_.async_wait([weak](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_timer();
  });
}

void TaskManager::Impl::on_timer() {
  armed_for_.reset();
  const auto now = SteadyClock::now();
  bool relaunch = false;
  for (auto& [name, entry] : entries_) {
    if (entry.record.phase == Phase::backing_off && !entry.retry_due && entry.record.retry_at &&
        *entry.record.retry_at <= now) {
      entry.retry_due = true;
      relaunch = true;
    }
    if ((entry.record.phase == Phase::launched || entry.record.phase == Phase::active) &&
        entry.deadline && *entry.deadline <= now && !entry.timed_out) {
      entry.timed_out = true;
      entry.record.message = fmt::format("ran longer than its timeout of {} ms; killing it",
                                         entry.spec().timeout.count());
      send_kill(entry);
    }
  }
  if (revive_due_ && *revive_due_ <= now) {
    revive_due_.reset();
    last_revive_.reset();
    relaunch = true;
  }
  if (hold_until_ && *hold_until_ <= now) {
    log(scheduler::LogLevel::info,
        "tasks: the master did not answer the reconciliation in time; launching anyway");
    end_hold();
    relaunch = true;
  }
  if (relaunch) want_offers();
  arm_timer();
}

TaskManager::TaskManager(scheduler::Client& client, ManagerOptions options, ChangeHandler on_change)
    : impl_(std::make_shared<Impl>(client, std::move(options), std::move(on_change))),
      client_(client) {
  if (!impl_->has_store()) return;
  // The updates of one read of the stream are written together, then acknowledged.
  std::weak_ptr<Impl> weak = impl_;
  client.set_acknowledgement_gate([weak](std::size_t acknowledgements) {
    auto self = weak.lock();
    return !self || self->pass_acknowledgements(acknowledgements);
  });
}

TaskManager::~TaskManager() {
  if (impl_->has_store()) client_.set_acknowledgement_gate({});
}
Result<void> TaskManager::load() {
  return impl_->load();
}
Result<void> TaskManager::add(TaskSpec spec) {
  return impl_->add(std::move(spec));
}
Result<void> TaskManager::update_spec(TaskSpec spec) {
  return impl_->update_spec(std::move(spec));
}

Result<void> TaskManager::kill(const std::string& name) {
  return impl_->kill(name);
}
Result<void> TaskManager::remove(const std::string& name) {
  return impl_->remove(name);
}
Result<void> TaskManager::batch(const std::function<void()>& work) {
  return impl_->batch(work);
}
void TaskManager::handle_event(const mesos::v1::scheduler::Event& event) {
  impl_->handle_event(event);
}
std::vector<mesos::v1::scheduler::Call::Reconcile::Task> TaskManager::known_tasks() const {
  return impl_->known_tasks();
}
const TaskRecord* TaskManager::find(const std::string& name) const {
  return impl_->find(name);
}
std::vector<TaskRecord> TaskManager::records() const {
  return impl_->records();
}
std::size_t TaskManager::in_flight() const {
  return impl_->count({Phase::launched, Phase::active});
}
std::size_t TaskManager::pending() const {
  return impl_->count({Phase::pending, Phase::backing_off});
}
std::size_t TaskManager::count(Phase phase) const {
  return impl_->count({phase});
}
bool TaskManager::all_done() const {
  return impl_->all_done();
}
ManagerCounters TaskManager::counters() const {
  return impl_->counters();
}

}  // namespace heatblast::tasks
