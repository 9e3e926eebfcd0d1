#include "store/task_codec.hpp"

#include <algorithm>

namespace heatblast::store {
namespace {

using std::chrono::milliseconds;

bool known_state(int value) {
  return mesos::v1::TaskState_IsValid(value);
}

}  // namespace

StoredTask to_stored(std::string_view name, const tasks::TaskSpec& spec,
                     const tasks::TaskRecord& record) {
  StoredTask out;
  out.set_name(std::string(name));
  *out.mutable_command() = spec.command;
  if (spec.container) *out.mutable_container() = *spec.container;
  for (const auto& [name, amount] : spec.resources.scalars)
    (*out.mutable_scalars())[name] = amount;
  out.set_port_count(spec.resources.port_count);
  for (auto port : spec.resources.ports)
    out.add_ports(port);
  out.set_role(spec.resources.role);
  out.set_allow_revocable(spec.resources.allow_revocable);
  *out.mutable_labels() = spec.labels;
  out.set_restart_policy(static_cast<int>(spec.restart.policy));
  out.set_backoff_initial_ms(spec.restart.backoff.initial.count());
  out.set_backoff_max_ms(spec.restart.backoff.max.count());
  out.set_backoff_multiplier(spec.restart.backoff.multiplier);
  out.set_backoff_jitter(spec.restart.backoff.jitter);
  out.set_backoff_flat_for_ms(spec.restart.backoff.flat_for.count());
  out.set_stable_after_s(spec.restart.stable_after.count());
  out.set_max_restarts(spec.restart.max_restarts);
  out.set_timeout_ms(spec.timeout.count());
  for (const auto& [k, v] : spec.constraints)
    (*out.mutable_constraints())[k] = v;

  out.set_phase(static_cast<int>(record.phase));
  out.set_task_id(record.task_id);
  out.set_agent_id(record.agent_id);
  out.set_hostname(record.hostname);
  if (record.state) out.set_state(*record.state);
  out.set_message(record.message);
  if (record.reason) out.set_reason(*record.reason);
  out.set_launches(record.launches);
  out.set_kill_requested(record.kill_requested);
  if (record.launched_at) {
    out.set_launched_at_ns(
        std::chrono::duration_cast<std::chrono::nanoseconds>(record.launched_at->time_since_epoch())
            .count());
  }
  if (record.last_outcome) out.set_last_outcome(*record.last_outcome);
  out.set_restarts(record.restarts);
  out.set_backoff_attempts(record.backoff_attempts);
  if (record.retry_at) {
    // A steady-clock instant means nothing to the next process: kept as wall-clock time.
    const auto wall = std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(
                          *record.retry_at - std::chrono::steady_clock::now());
    out.set_retry_at_ns(
        std::chrono::duration_cast<std::chrono::nanoseconds>(wall.time_since_epoch()).count());
  }
  return out;
}

std::pair<tasks::TaskSpec, tasks::TaskRecord> from_stored(const StoredTask& in) {
  tasks::TaskSpec spec;
  spec.name = in.name();
  spec.command = in.command();
  if (in.has_container()) spec.container = in.container();
  for (const auto& [name, amount] : in.scalars())
    spec.resources.scalars[name] = amount;
  spec.resources.port_count = static_cast<std::size_t>(in.port_count());
  spec.resources.ports.assign(in.ports().begin(), in.ports().end());
  spec.resources.role = in.role();
  spec.resources.allow_revocable = in.allow_revocable();
  spec.labels = in.labels();
  const int policy = in.restart_policy();
  spec.restart.policy = policy >= 0 && policy <= 2 ? static_cast<tasks::RestartPolicy>(policy)
                                                   : tasks::RestartPolicy::never;
  if (in.has_backoff_initial_ms())
    spec.restart.backoff.initial = milliseconds(in.backoff_initial_ms());
  if (in.has_backoff_max_ms()) spec.restart.backoff.max = milliseconds(in.backoff_max_ms());
  if (in.has_backoff_multiplier()) spec.restart.backoff.multiplier = in.backoff_multiplier();
  if (in.has_backoff_jitter()) spec.restart.backoff.jitter = in.backoff_jitter();
  if (in.has_backoff_flat_for_ms())
    spec.restart.backoff.flat_for = milliseconds(in.backoff_flat_for_ms());
  if (in.has_stable_after_s())
    spec.restart.stable_after = std::chrono::seconds(in.stable_after_s());
  if (in.has_max_restarts()) spec.restart.max_restarts = in.max_restarts();
  spec.timeout = milliseconds(in.timeout_ms());
  for (const auto& [k, v] : in.constraints())
    spec.constraints[k] = v;

  tasks::TaskRecord record;
  record.name = in.name();
  const int phase = in.phase();
  record.phase =
      phase >= 0 && phase <= 4 ? static_cast<tasks::Phase>(phase) : tasks::Phase::pending;
  record.task_id = in.task_id();
  record.agent_id = in.agent_id();
  record.hostname = in.hostname();
  if (in.has_state() && known_state(in.state())) {
    record.state = static_cast<mesos::v1::TaskState>(in.state());
  }
  record.message = in.message();
  // A reason this build does not know (a newer Mesos's) is dropped rather than kept as garbage.
  if (in.has_reason() && mesos::v1::TaskStatus::Reason_IsValid(in.reason())) {
    record.reason = static_cast<mesos::v1::TaskStatus::Reason>(in.reason());
  }
  record.launches = in.launches();
  record.kill_requested = in.kill_requested();
  if (in.has_launched_at_ns()) {
    record.launched_at = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(in.launched_at_ns())));
  }
  if (in.has_last_outcome() && known_state(in.last_outcome())) {
    record.last_outcome = static_cast<mesos::v1::TaskState>(in.last_outcome());
  }
  record.restarts = std::max(in.restarts(), 0);
  record.backoff_attempts = std::min(in.backoff_attempts(), 1000u);
  if (in.has_retry_at_ns()) {
    const auto wall = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::nanoseconds(in.retry_at_ns())));
    record.retry_at = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          wall - std::chrono::system_clock::now());
  }
  return {std::move(spec), std::move(record)};
}

}  // namespace heatblast::store
