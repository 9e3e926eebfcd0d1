// Reconciler: one round of explicit task reconciliation. The master silently drops requests for
// tasks on agents that have not reregistered yet, so the tasks still without an answer are asked
// again with backoff until every one has been answered (docs/reconciliation.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/backoff.hpp"

namespace heatblast::scheduler {

class Reconciler {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = Call::Reconcile::Task;

  explicit Reconciler(BackoffOptions options, std::uint64_t seed = std::random_device{}())
      : backoff_(options, seed) {}

  // Starts a new round (replacing any running one) and returns the tasks to ask about now.
  std::vector<Task> begin(std::vector<Task> tasks, Clock::time_point now);

  // An UPDATE arrived for this task during the round: it is answered.
  void answered(const std::string& task_id) { pending_.erase(task_id); }

  bool done() const noexcept { return pending_.empty(); }
  std::size_t pending() const noexcept { return pending_.size(); }
  // When the unanswered tasks should be asked again; nullopt when the round is done.
  std::optional<Clock::time_point> next_retry() const;

  // The tasks to ask again if the retry time has come (and schedules the one after), else none.
  std::vector<Task> due(Clock::time_point now);

  void clear() { pending_.clear(); }

 private:
  Backoff backoff_;
  std::unordered_map<std::string, Task> pending_;
  Clock::time_point next_retry_{};
};

}  // namespace heatblast::scheduler
