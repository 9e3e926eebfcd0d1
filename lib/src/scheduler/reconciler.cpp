#include "scheduler/reconciler.hpp"

namespace heatblast::scheduler {

std::vector<Reconciler::Task> Reconciler::begin(std::vector<Task> tasks, Clock::time_point now) {
  pending_.clear();
  backoff_.reset();
  for (auto& task : tasks)
    pending_.insert_or_assign(task.task_id().value(), std::move(task));
  next_retry_ = now + backoff_.next();
  std::vector<Task> out;
  out.reserve(pending_.size());
  for (const auto& [id, task] : pending_)
    out.push_back(task);
  return out;
}

std::optional<Reconciler::Clock::time_point> Reconciler::next_retry() const {
  if (pending_.empty()) return std::nullopt;
  return next_retry_;
}

std::vector<Reconciler::Task> Reconciler::due(Clock::time_point now) {
  std::vector<Task> out;
  if (pending_.empty() || now < next_retry_) return out;
  next_retry_ = now + backoff_.next();
  out.reserve(pending_.size());
  for (const auto& [id, task] : pending_)
    out.push_back(task);
  return out;
}

}  // namespace heatblast::scheduler
