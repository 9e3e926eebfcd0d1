#include "master.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>
#include <random>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/util/message_differencer.h>

#include "call_validation.hpp"

namespace heatblast::local_master {
namespace {

using mesos::v1::TaskState;
using mesos::v1::TaskStatus;
using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;
using Capability = mesos::v1::FrameworkInfo::Capability;

HttpAnswer answer(int status, std::string body = {}) {
  HttpAnswer result;
  result.status = status;
  result.body = std::move(body);
  return result;
}

Event event_of(Event::Type type) {
  Event event;
  event.set_type(type);
  return event;
}

Event error_event(const std::string& message) {
  Event event = event_of(Event::ERROR);
  event.mutable_error()->set_message(message);
  return event;
}

std::string signal_text(int signal_number) {
  const char* text = ::strsignal(signal_number);
  return text != nullptr ? text : fmt::format("signal {}", signal_number);
}

std::uint32_t ip_in_network_order(const std::string& ip) {
  in_addr address{};
  if (::inet_pton(AF_INET, ip.c_str(), &address) != 1) return 0;
  return address.s_addr;
}

// The fields a Task keeps in its checkpoint record, listed once for both directions:
// `copy(task_field, record_field)` stores them (Master::record_of) and restores them
// (Master::restore_task). A Task field that must survive a restart is one line here, plus its
// column in checkpoint.cpp.
template <class TaskT, class RecordT, class Copy>
void persisted_task_fields(TaskT& task, RecordT& record, Copy copy) {
  copy(task.framework_id, record.framework_id);
  copy(task.info, record.info);
  copy(task.executor_id, record.executor_id);
  copy(task.container_id, record.container_id);
  copy(task.sandbox, record.sandbox);
  copy(task.latest, record.latest);
  copy(task.updates.pending, record.pending);
  copy(task.pid, record.pid);
  copy(task.pgid, record.pgid);
  copy(task.killed, record.killed);
  copy(task.ended, record.ended);
}

// `to = from`, or element-wise between containers of different kinds (a deque and a vector).
template <class To, class From>
void copy_field(To& to, const From& from) {
  if constexpr (std::is_assignable_v<To&, const From&>) {
    to = from;
  } else {
    to.assign(from.begin(), from.end());
  }
}

bool partition_aware(const mesos::v1::FrameworkInfo& info) {
  return has_capability(info, Capability::PARTITION_AWARE);
}

std::vector<std::string> to_vector(const google::protobuf::RepeatedPtrField<std::string>& roles) {
  return {roles.begin(), roles.end()};
}

// The role an offer's resources were allocated to (the first allocation_info found).
std::string allocation_role(const Resources& resources) {
  for (const auto& resource : resources) {
    if (resource.has_allocation_info()) return resource.allocation_info().role();
  }
  return "*";
}

// "tasks_finished" for TASK_FINISHED: the name of Mesos's per-state task metric.
std::string task_state_metric(TaskState state) {
  std::string name = mesos::v1::TaskState_Name(state);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "tasks_" + name.substr(std::string_view("task_").size());
}

Duration grace_of(const mesos::v1::KillPolicy& policy, Duration fallback) {
  if (!policy.has_grace_period()) return fallback;
  return std::max(Duration(policy.grace_period().nanoseconds()), Duration::zero());
}

}  // namespace

mesos::v1::URL agent_url(const mesos::v1::Address& agent_address) {
  mesos::v1::URL url;
  url.set_scheme("http");
  *url.mutable_address() = agent_address;
  url.set_path("/slave(1)");
  return url;
}

// ---------------------------------------------------------------------------------------------
// Construction, logging, state machine

Master::Master(MasterOptions options, TaskRunner& runner)
    : options_(std::move(options)),
      runner_(runner),
      ids_(options_.seed ? *options_.seed : std::random_device{}()) {
  sandbox_root_ = !options_.sandbox_root.empty() ? options_.sandbox_root
                  : !options_.work_dir.empty()   ? options_.work_dir
                                                 : "/tmp/local-master";
}

Master::~Master() = default;

std::string_view Master::to_string(FrameworkState state) {
  switch (state) {
    case FrameworkState::subscribed:
      return "subscribed";
    case FrameworkState::disconnected:
      return "disconnected";
  }
  return "unknown";
}

void Master::transition_to(Framework& framework, FrameworkState state, std::string_view why) {
  log("framework '{}': {} -> {} ({})", framework.info.id().value(), to_string(framework.state),
      to_string(state), why);
  framework.state = state;
}

Result<void> Master::start(TimePoint now) {
  if (phase_ != Phase::created) return {};
  if (options_.agents.empty()) {
    return fail(errc::invalid_argument, "local-master needs at least one agent");
  }
  const std::string master_id = ids_.uuid_string();
  master_info_.set_id(master_id);
  master_info_.set_ip(ip_in_network_order(options_.ip));
  master_info_.set_port(options_.port);
  master_info_.set_pid(fmt::format("master@{}:{}", options_.ip, options_.port));
  master_info_.set_hostname(options_.hostname);
  master_info_.set_version(options_.version);
  auto* address = master_info_.mutable_address();
  address->set_hostname(options_.hostname);
  address->set_ip(options_.ip);
  address->set_port(options_.port);
  agent_address_ = *address;

  allocator_ = std::make_unique<Allocator>(
      AllocatorOptions{master_id, options_.default_refuse, options_.offer_timeout});

  if (!options_.work_dir.empty()) {
    auto opened = Checkpoint::open(options_.work_dir);
    if (!opened) return tl::unexpected(opened.error());
    checkpoint_ = std::move(*opened);
  }
  auto recovered = recover(now);
  if (!recovered) return recovered;

  start_time_ = now;
  next_allocation_ = now;
  last_now_ = now;
  phase_ = Phase::running;
  log("master '{}' running with {} agent(s)", master_id, options_.agents.size());
  flush();
  return {};
}

void Master::set_listen_port(std::uint16_t port) {
  master_info_.set_port(port);
  master_info_.set_pid(fmt::format("master@{}:{}", options_.ip, port));
  master_info_.mutable_address()->set_port(port);
  agent_address_.set_port(port);
}

// ---------------------------------------------------------------------------------------------
// Recovery

Result<void> Master::recover(TimePoint now) {
  RecoveredState state;
  if (checkpoint_) {
    auto loaded = checkpoint_->load();
    if (!loaded) return tl::unexpected(loaded.error());
    state = std::move(*loaded);
  }

  // Agents keep their ids across restarts, so that recovered tasks still point at them.
  std::vector<std::pair<std::string, std::string>> new_meta;
  for (std::size_t i = 0; i < options_.agents.size(); ++i) {
    const std::string key = fmt::format("agent.{}", i);
    auto it = state.meta.find(key);
    mesos::v1::AgentID id;
    if (it != state.meta.end()) {
      id.set_value(it->second);
    } else {
      id.set_value(fmt::format("{}-S{}", master_info_.id(), i));
      new_meta.emplace_back(key, id.value());
    }
    allocator_->add_agent(id, options_.agents[i]);
  }
  if (checkpoint_ && !new_meta.empty()) {
    auto written = checkpoint_->transaction([&]() -> Result<void> {
      for (const auto& [key, value] : new_meta) {
        auto put = checkpoint_->put_meta(key, value);
        if (!put) return put;
      }
      return {};
    });
    if (!written) return written;
  }

  for (auto& record : state.frameworks) {
    const std::string id = record.info.id().value();
    if (record.removed) {
      removed_frameworks_[id] = std::move(record.info);
      continue;
    }
    Framework framework;
    framework.info = std::move(record.info);
    framework.state = FrameworkState::disconnected;
    const Duration timeout =
        duration_from_seconds(framework.info.failover_timeout()).value_or(Duration::zero());
    // A framework connected when the previous master stopped lost its connection then.
    framework.failover_deadline = record.failover_deadline.value_or(now + timeout);
    framework.resume_updates_on_subscribe = true;
    auto [it, inserted] = frameworks_.emplace(id, std::move(framework));
    allocator_->set_framework(id, allocation_of(it->second, record.suppressed_roles));
    log("framework '{}' recovered (disconnected)", id);
  }

  for (auto& record : state.tasks) {
    const std::string task_id = record.info.task_id().value();
    auto fit = frameworks_.find(record.framework_id);
    const Agent* agent = allocator_->find_agent(record.info.agent_id().value());
    if (fit == frameworks_.end() || agent == nullptr) {
      // Its framework was removed (or its agent is no longer configured): stop what is left.
      if (!record.ended) {
        runner_.adopt(
            {record.container_id, record.sandbox, record.pid.value_or(0), record.pgid.value_or(0)},
            now);
        runner_.signal(record.container_id, TaskSignal::terminate, now);
        orphans_[record.container_id] = now + options_.default_kill_grace;
      }
      dirty_tasks_.emplace(record.framework_id, task_id);
      continue;
    }
    Framework& framework = fit->second;
    Task task = restore_task(record, now);
    if (record.group_executor) {
      auto [eit, created] = framework.executors.try_emplace(task.group.value());
      if (created) {
        eit->second.info = *record.group_executor;
        eit->second.agent_id = task.agent_id;
        auto executor_resources = normalize_task_resources(record.group_executor->resources(),
                                                           allocation_role(task.resources));
        if (executor_resources) eit->second.resources = std::move(*executor_resources);
      }
      if (!task.ended) eit->second.live_tasks.insert(task_id);
    }

    auto [tit, inserted] = framework.tasks.emplace(task_id, std::move(task));
    Task& restored = tit->second;
    watch_task(record.framework_id, restored);
    if (restored.ended) continue;
    allocator_->restore_use(record.framework_id, restored.agent_id.value(), restored.resources);
    containers_[restored.container_id] = {record.framework_id, task_id};
    // The runner decides whether the process is still there (without a recorded pid it is
    // not: the runner reports it gone).
    runner_.adopt({restored.container_id, restored.sandbox, restored.pid.value_or(0),
                   restored.pgid.value_or(0)},
                  now);
  }
  for (auto& [id, framework] : frameworks_) {
    for (auto& [executor_id, executor] : framework.executors) {
      if (!executor.live_tasks.empty()) {
        allocator_->restore_use(id, executor.agent_id.value(), executor.resources);
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// SUBSCRIBE

HttpAnswer Master::handle_subscribe(const Call& call, std::unique_ptr<SubscriberSink> sink,
                                    std::optional<std::string_view> stream_id_header,
                                    TimePoint now) {
  last_now_ = now;
  if (phase_ != Phase::running) return answer(503, "Master has not finished recovery");
  auto valid = validate_call(call);
  if (!valid) return answer(400, valid.error().message);
  if (call.type() != Call::SUBSCRIBE) {
    return answer(400, "Expecting a 'SUBSCRIBE' call on the subscription endpoint");
  }
  if (stream_id_header) {
    return answer(400, "Subscribe calls should not include the 'Mesos-Stream-Id' header");
  }

  HttpAnswer result = answer(200);
  result.stream_id = ids_.uuid_string();
  result.streaming = true;

  const auto& subscribe = call.subscribe();
  mesos::v1::FrameworkInfo info = subscribe.framework_info();
  auto refuse = [&](const std::string& message) {
    log("refusing subscription of framework '{}': {}", info.name(), message);
    sink->send(error_event(message));
    sink->close();
    return result;
  };

  auto framework_valid = validate_framework_info(info, subscribe.suppressed_roles());
  if (!framework_valid) return refuse(framework_valid.error().message);

  Framework* framework = nullptr;
  if (info.has_id()) {
    const std::string& id = info.id().value();
    if (removed_frameworks_.contains(id)) return refuse("Framework has been removed");
    auto it = frameworks_.find(id);
    if (it != frameworks_.end()) {
      framework = &it->second;
      const auto& old = framework->info;
      if (old.has_principal() != info.has_principal() || old.principal() != info.principal()) {
        return refuse("Changing framework's principal is not allowed");
      }
      // Changes of `user` and `checkpoint` are ignored on resubscription.
      info.set_user(old.user());
      info.set_checkpoint(old.checkpoint());
      if (framework->state == FrameworkState::subscribed) {
        send(*framework, error_event("Framework failed over"));
        if (framework->sink) framework->sink->close();
        framework->sink.reset();
        transition_to(*framework, FrameworkState::disconnected, "failed over");
      }
      // Its offers are withdrawn silently; fresh ones follow.
      allocator_->deactivate_framework(id);
    }
  } else {
    info.mutable_id()->set_value(fmt::format("{}-{:04}", master_info_.id(), next_framework_++));
  }

  const std::string id = info.id().value();
  count(framework == nullptr ? "messages_register_framework" : "messages_reregister_framework");
  if (framework == nullptr) {
    framework = &frameworks_[id];
    log("framework '{}' ({}) added", id, info.name());
  }
  framework->registered_time = now;
  framework->info = info;
  framework->sink = std::move(sink);
  framework->stream_id = *result.stream_id;
  framework->failover_deadline.reset();
  transition_to(*framework, FrameworkState::subscribed, "SUBSCRIBE");
  FrameworkAllocation allocation =
      allocation_of(*framework, to_vector(subscribe.suppressed_roles()));
  allocation.active = true;
  allocator_->set_framework(id, std::move(allocation));
  mark_framework(id);

  Event subscribed = event_of(Event::SUBSCRIBED);
  *subscribed.mutable_subscribed()->mutable_framework_id() = info.id();
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(
      to_seconds(options_.heartbeat_interval));
  *subscribed.mutable_subscribed()->mutable_master_info() = master_info_;
  send(*framework, subscribed);
  send(*framework, event_of(Event::HEARTBEAT));
  framework->next_heartbeat = now + options_.heartbeat_interval;

  if (framework->resume_updates_on_subscribe) {
    // As an agent re-registering with a new master: pending updates go out at once.
    framework->resume_updates_on_subscribe = false;
    for (auto& [task_id, task] : framework->tasks) {
      if (task.updates.pending.empty()) continue;
      task.updates.backoff = Duration::zero();
      forward_front(*framework, task, now);
    }
  }
  allocation_pending_ = true;
  flush();
  return result;
}

// ---------------------------------------------------------------------------------------------
// Other calls

HttpAnswer Master::authorize(const Call& call, std::optional<std::string_view> stream_id_header,
                             Framework*& framework) {
  framework = nullptr;
  auto it = frameworks_.find(call.framework_id().value());
  if (it == frameworks_.end()) return answer(400, "Framework cannot be found");
  if (it->second.state != FrameworkState::subscribed) {
    return answer(403, "Framework is not subscribed");
  }
  if (!stream_id_header) {
    return answer(400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header");
  }
  if (*stream_id_header != it->second.stream_id) {
    return answer(400, fmt::format("The stream ID '{}' included in this request didn't match the "
                                   "stream ID currently associated with framework ID {}",
                                   *stream_id_header, it->first));
  }
  framework = &it->second;
  return answer(202);
}

HttpAnswer Master::handle_call(const Call& call, std::optional<std::string_view> stream_id_header,
                               TimePoint now) {
  last_now_ = now;
  if (phase_ != Phase::running) return answer(503, "Master has not finished recovery");
  auto valid = validate_call(call);
  if (!valid) return answer(400, valid.error().message);
  if (call.type() == Call::SUBSCRIBE) {
    return answer(400, "A 'SUBSCRIBE' call must open the subscription stream");
  }
  Framework* framework = nullptr;
  HttpAnswer result = authorize(call, stream_id_header, framework);
  if (framework == nullptr) return result;
  const std::string framework_id = framework->info.id().value();

  switch (call.type()) {
    case Call::SUBSCRIBE:
      break;
    case Call::UNKNOWN:
      return answer(501);
    case Call::TEARDOWN:
      count("messages_unregister_framework");
      teardown(*framework, now);
      break;
    case Call::ACCEPT:
      // As Mesos: an ACCEPT launching tasks counts as such, one without as a decline.
      count(std::any_of(call.accept().operations().begin(), call.accept().operations().end(),
                        [](const auto& operation) {
                          return operation.type() == mesos::v1::Offer::Operation::LAUNCH &&
                                 operation.launch().task_infos_size() > 0;
                        })
                ? "messages_launch_tasks"
                : "messages_decline_offers");
      accept(*framework, call.accept(), now);
      break;
    case Call::DECLINE:
      count("messages_decline_offers");
      allocator_->decline(framework_id, call.decline().offer_ids(), call.decline().filters(), now);
      break;
    case Call::REVIVE:
      count("messages_revive_offers");
      allocator_->revive(framework_id, to_vector(call.revive().roles()));
      allocation_pending_ = true;
      mark_framework(framework_id);
      break;
    case Call::SUPPRESS:
      count("messages_suppress_offers");
      allocator_->suppress(framework_id, to_vector(call.suppress().roles()));
      mark_framework(framework_id);
      break;
    case Call::KILL:
      count("messages_kill_task");
      kill(*framework, call.kill(), now);
      break;
    case Call::SHUTDOWN:
      shutdown(*framework, call.shutdown(), now);
      break;
    case Call::ACKNOWLEDGE:
      count("messages_status_update_acknowledgement");
      acknowledge(*framework, call.acknowledge(), now);
      break;
    case Call::RECONCILE:
      count("messages_reconcile_tasks");
      reconcile(*framework, call.reconcile(), now);
      break;
    case Call::RECONCILE_OPERATIONS:
      count("messages_reconcile_operations");
      reconcile_operations(*framework, call.reconcile_operations());
      break;
    case Call::UPDATE_FRAMEWORK:
      result = update_framework(*framework, call.update_framework());
      break;
    case Call::MESSAGE:
      count("messages_framework_to_executor");
      count("invalid_framework_to_executor_messages");
      // Only custom executors receive messages, and local-master runs none.
      log("dropping MESSAGE of framework '{}' for executor '{}': no custom executors", framework_id,
          call.message().executor_id().value());
      break;
    case Call::REQUEST:
      count("messages_resource_request");
      break;
    case Call::ACCEPT_INVERSE_OFFERS:
    case Call::DECLINE_INVERSE_OFFERS:
    case Call::ACKNOWLEDGE_OPERATION_STATUS:
      // As in Mesos: accepted and, without maintenance or operation feedback, nothing to do.
      break;
  }
  flush();
  return result;
}

void Master::teardown(Framework& framework, TimePoint now) {
  remove_framework(framework, now, "TEARDOWN");
}

HttpAnswer Master::update_framework(Framework& framework, const Call::UpdateFramework& update) {
  const auto& info = update.framework_info();
  auto valid = validate_framework_info(info, update.suppressed_roles());
  if (!valid) return answer(400, valid.error().message);
  const auto& old = framework.info;
  if (info.user() != old.user()) return answer(400, "Updating 'FrameworkInfo.user' is unsupported");
  if (info.has_principal() != old.has_principal() || info.principal() != old.principal()) {
    return answer(400, "Updating 'FrameworkInfo.principal' is unsupported");
  }
  if (info.checkpoint() != old.checkpoint()) {
    return answer(400, "Updating 'FrameworkInfo.checkpoint' is unsupported");
  }
  framework.info = info;
  FrameworkAllocation allocation = allocation_of(framework, to_vector(update.suppressed_roles()));
  allocation.active = framework.state == FrameworkState::subscribed;
  rescind(allocator_->set_framework(info.id().value(), std::move(allocation)));
  allocation_pending_ = true;
  mark_framework(info.id().value());
  return answer(200);
}

// ---------------------------------------------------------------------------------------------
// ACCEPT

void Master::drop_launch(Framework& framework, const mesos::v1::TaskInfo& task, TaskState state,
                         TaskStatus::Reason reason, const std::string& message, TimePoint now) {
  Event event = event_of(Event::UPDATE);
  TaskStatus* status = event.mutable_update()->mutable_status();
  *status->mutable_task_id() = task.task_id();
  status->set_state(state);
  status->set_source(TaskStatus::SOURCE_MASTER);
  status->set_reason(reason);
  status->set_message(message);
  *status->mutable_agent_id() = task.agent_id();
  status->set_timestamp(to_epoch_seconds(now));
  count(task_state_metric(state));
  log("framework '{}': task '{}' {}: {}", framework.info.id().value(), task.task_id().value(),
      TaskState_Name(state), message);
  send(framework, event);
}

void Master::accept(Framework& framework, const Call::Accept& accept, TimePoint now) {
  const std::string framework_id = framework.info.id().value();
  auto taken = allocator_->take_offers(framework_id, accept.offer_ids());
  if (!taken) {
    allocator_->recover_offers(framework_id, accept.offer_ids());
    drop_launches(framework, accept, "Task launched with invalid offers: " + taken.error().message,
                  now);
    return;
  }
  OfferUse use{*allocator_->find_agent(taken->agent_id), taken->role, taken->resources, {}};
  for (const auto& operation : accept.operations()) {
    using Operation = mesos::v1::Offer::Operation;
    switch (operation.type()) {
      case Operation::LAUNCH:
        launch(framework, operation.launch(), use, now);
        break;
      case Operation::LAUNCH_GROUP:
        launch_group(framework, operation.launch_group(), use, now);
        break;
      case Operation::UNKNOWN:
        break;
      default:
        refuse_operation(framework, operation, use.agent);
        break;
    }
  }
  allocator_->return_unused(framework_id, use.agent.id.value(), use.role, use.remaining,
                            accept.filters(), now);
  allocation_pending_ = true;
}

void Master::drop_launches(Framework& framework, const Call::Accept& accept,
                           const std::string& message, TimePoint now) {
  const TaskState state =
      partition_aware(framework.info) ? mesos::v1::TASK_DROPPED : mesos::v1::TASK_LOST;
  for (const auto& operation : accept.operations()) {
    if (operation.type() == mesos::v1::Offer::Operation::LAUNCH) {
      for (const auto& task : operation.launch().task_infos()) {
        drop_launch(framework, task, state, TaskStatus::REASON_INVALID_OFFERS, message, now);
      }
    } else if (operation.type() == mesos::v1::Offer::Operation::LAUNCH_GROUP) {
      for (const auto& task : operation.launch_group().task_group().tasks()) {
        drop_launch(framework, task, state, TaskStatus::REASON_INVALID_OFFERS, message, now);
      }
    }
  }
}

LaunchContext Master::launch_context(const Framework& framework, const OfferUse& use) const {
  LaunchContext context;
  context.framework_id = framework.info.id().value();
  context.agent_id = use.agent.id.value();
  context.role = use.role;
  context.task_id_taken = [&framework, &use](const std::string& id) {
    return framework.tasks.contains(id) || use.ids_in_call.contains(id);
  };
  return context;
}

void Master::launch(Framework& framework, const mesos::v1::Offer::Operation::Launch& launch,
                    OfferUse& use, TimePoint now) {
  for (const auto& task : launch.task_infos()) {
    auto resources = validate_launch_task(task, launch_context(framework, use), use.remaining);
    if (!resources) {
      drop_launch(framework, task, mesos::v1::TASK_ERROR, TaskStatus::REASON_TASK_INVALID,
                  resources.error().message, now);
      continue;
    }
    use.ids_in_call.insert(task.task_id().value());
    use.remaining -= *resources;
    launch_task(framework, task, nullptr, use.agent, *resources, now);
  }
}

void Master::launch_group(Framework& framework,
                          const mesos::v1::Offer::Operation::LaunchGroup& launch, OfferUse& use,
                          TimePoint now) {
  const auto& executor = launch.executor();
  const auto& tasks = launch.task_group().tasks();
  const std::string executor_id = executor.executor_id().value();
  auto existing = framework.executors.find(executor_id);
  const bool known = existing != framework.executors.end();
  const bool running = known && !existing->second.live_tasks.empty();
  auto resources = validate_task_group(launch, launch_context(framework, use), use.remaining,
                                       known ? &existing->second.info : nullptr, running);
  if (!resources) {
    for (const auto& task : tasks) {
      drop_launch(framework, task, mesos::v1::TASK_ERROR, TaskStatus::REASON_TASK_GROUP_INVALID,
                  resources.error().message, now);
    }
    return;
  }
  use.remaining -= resources->total;
  GroupExecutor& group_executor = framework.executors[executor_id];
  if (!running) {
    group_executor.info = executor;
    group_executor.agent_id = use.agent.id;
    group_executor.resources = resources->executor;
    allocator_->use(framework.info.id().value(), use.agent.id.value(), resources->executor);
  }
  for (const auto& task : tasks) {
    use.ids_in_call.insert(task.task_id().value());
    group_executor.live_tasks.insert(task.task_id().value());
  }
  for (int i = 0; i < tasks.size(); ++i) {
    launch_task(framework, tasks[i], &group_executor.info, use.agent,
                resources->tasks[static_cast<std::size_t>(i)], now);
  }
}

void Master::refuse_operation(Framework& framework, const mesos::v1::Offer::Operation& operation,
                              const Agent& agent) {
  const std::string type = mesos::v1::Offer::Operation::Type_Name(operation.type());
  log("framework '{}': '{}' operations are not supported; ignored", framework.info.id().value(),
      type);
  if (!operation.has_id()) return;
  Event event = event_of(Event::UPDATE_OPERATION_STATUS);
  auto* status = event.mutable_update_operation_status()->mutable_status();
  *status->mutable_operation_id() = operation.id();
  status->set_state(mesos::v1::OPERATION_ERROR);
  status->set_message(fmt::format("local-master does not support '{}' operations", type));
  *status->mutable_agent_id() = agent.id;
  send(framework, event);
}

void Master::launch_task(Framework& framework, const mesos::v1::TaskInfo& info,
                         const mesos::v1::ExecutorInfo* group_executor, const Agent& agent,
                         const Resources& resources, TimePoint now) {
  const std::string framework_id = framework.info.id().value();
  const std::string task_id = info.task_id().value();
  Task task;
  task.info = info;
  *task.info.mutable_resources() = resources.to_proto();
  task.framework_id = framework_id;
  task.agent_id = agent.id;
  if (group_executor != nullptr) {
    task.executor_id = group_executor->executor_id();
    task.group = group_executor->executor_id().value();
  } else {
    task.executor_id.set_value(task_id);  // the command executor is named after its task
  }
  task.container_id = ids_.uuid_string();
  task.sandbox =
      fmt::format("{}/slaves/{}/frameworks/{}/executors/{}/runs/{}", sandbox_root_,
                  agent.id.value(), framework_id, task.executor_id.value(), task.container_id);
  task.resources = resources;
  *task.latest.mutable_task_id() = info.task_id();
  task.latest.set_state(mesos::v1::TASK_STAGING);
  allocator_->use(framework_id, agent.id.value(), resources);
  containers_[task.container_id] = {framework_id, task_id};
  auto [it, inserted] = framework.tasks.emplace(task_id, std::move(task));
  Task& launched = it->second;
  mark_task(framework_id, task_id);
  log("framework '{}': launching task '{}' in container '{}'", framework_id, task_id,
      launched.container_id);

  // What the agent's containerizer would refuse before any executor runs.
  if (info.has_container()) {
    std::optional<std::string> refusal;
    if (info.container().type() == mesos::v1::ContainerInfo::DOCKER &&
        !runner_.docker_available()) {
      refusal =
          "Failed to launch container: docker is not available on this agent (no usable "
          "'docker' command)";
    } else if (info.container().type() == mesos::v1::ContainerInfo::MESOS &&
               info.container().mesos().has_image()) {
      refusal =
          "Failed to launch container: container images are not supported by local-master "
          "(it runs MESOS containers as plain processes)";
    }
    if (refusal) {
      send_task_status(framework, launched, mesos::v1::TASK_FAILED, TaskStatus::SOURCE_AGENT,
                       TaskStatus::REASON_CONTAINER_LAUNCH_FAILED, *refusal, now);
      task_ended(framework, launched, now);
      return;
    }
  }

  // The command executor says TASK_STARTING once it runs, which with URIs is after the fetch
  // (a failed fetch goes from STAGING to FAILED, as in Mesos): then it is sent with RUNNING.
  if (info.command().uris().empty()) {
    send_task_status(framework, launched, mesos::v1::TASK_STARTING, TaskStatus::SOURCE_EXECUTOR,
                     std::nullopt, "", now);
  }
  LaunchSpec spec;
  spec.container_id = launched.container_id;
  *spec.framework_id.mutable_value() = framework_id;
  spec.agent_id = launched.agent_id;
  spec.executor_id = launched.executor_id;
  spec.task = launched.info;
  spec.sandbox = launched.sandbox;
  runner_.launch(spec, now);
}

// ---------------------------------------------------------------------------------------------
// Task status updates (the agent's status update manager)

void Master::send_task_status(Framework& framework, Task& task, TaskState state,
                              TaskStatus::Source source, std::optional<TaskStatus::Reason> reason,
                              const std::string& message, TimePoint now) {
  TaskStatus status;
  *status.mutable_task_id() = task.info.task_id();
  status.set_state(state);
  status.set_source(source);
  if (reason) status.set_reason(*reason);
  if (!message.empty()) status.set_message(message);
  *status.mutable_agent_id() = task.agent_id;
  *status.mutable_executor_id() = task.executor_id;
  status.set_timestamp(to_epoch_seconds(now));
  status.set_uuid(ids_.uuid_bytes());
  auto* container = status.mutable_container_status();
  container->mutable_container_id()->set_value(task.container_id);
  if (task.pid) container->set_executor_pid(static_cast<unsigned>(*task.pid));
  // Tasks share the agent's network, and an agent then reports its own address as the
  // container's.
  container->add_network_infos()->add_ip_addresses()->set_ip_address(options_.ip);
  task.latest = status;
  task.statuses.push_back(status);
  if (is_terminal(state)) {
    count(task_state_metric(state));
    log_task_end(framework, task, status);
  }
  task.updates.pending.push_back(std::move(status));
  if (task.updates.pending.size() == 1) {
    task.updates.backoff = Duration::zero();
    forward_front(framework, task, now);
  }
  mark_task(framework.info.id().value(), task.info.task_id().value());
}

void Master::forward_front(Framework& framework, Task& task, TimePoint now) {
  if (task.updates.pending.empty()) {
    task.updates.next_retry.reset();
    return;
  }
  Event event = event_of(Event::UPDATE);
  *event.mutable_update()->mutable_status() = task.updates.pending.front();
  send(framework, event);  // dropped while the framework is disconnected; retried later
  task.updates.backoff = task.updates.backoff == Duration::zero()
                             ? options_.status_update_retry_min
                             : std::min(task.updates.backoff * 2, options_.status_update_retry_max);
  task.updates.next_retry = now + task.updates.backoff;
  watch_task(framework.info.id().value(), task);
}

void Master::watch_task(const std::string& framework_id, const Task& task) {
  const std::string& task_id = task.info.task_id().value();
  if (task.updates.next_retry)
    task_deadlines_.emplace(*task.updates.next_retry, std::pair{framework_id, task_id});
  if (task.escalate_at && !task.ended)
    task_deadlines_.emplace(*task.escalate_at, std::pair{framework_id, task_id});
}

bool Master::task_due_at(const std::string& framework_id, const std::string& task_id,
                         TimePoint at) const {
  auto fit = frameworks_.find(framework_id);
  if (fit == frameworks_.end()) return false;
  auto tit = fit->second.tasks.find(task_id);
  if (tit == fit->second.tasks.end()) return false;
  const Task& task = tit->second;
  return task.updates.next_retry == at || (!task.ended && task.escalate_at == at);
}

void Master::acknowledge(Framework& framework, const Call::Acknowledge& ack, TimePoint now) {
  const std::string framework_id = framework.info.id().value();
  auto it = framework.tasks.find(ack.task_id().value());
  if (it == framework.tasks.end()) {
    log("framework '{}': ignoring acknowledgement for unknown task '{}'", framework_id,
        ack.task_id().value());
    count("invalid_status_update_acknowledgements");
    return;
  }
  Task& task = it->second;
  if (ack.agent_id().value() != task.agent_id.value() || task.updates.pending.empty() ||
      task.updates.pending.front().uuid() != ack.uuid()) {
    log("framework '{}': ignoring unexpected acknowledgement {} for task '{}'", framework_id,
        uuid_bytes_to_string(ack.uuid()), ack.task_id().value());
    count("invalid_status_update_acknowledgements");
    return;
  }
  count("valid_status_update_acknowledgements");
  const TaskState acked = task.updates.pending.front().state();
  task.updates.pending.pop_front();
  task.updates.backoff = Duration::zero();
  mark_task(framework_id, ack.task_id().value());
  if (is_terminal(acked)) {
    forget_task(framework, ack.task_id().value());
    return;
  }
  if (task.updates.pending.empty()) {
    task.updates.next_retry.reset();
  } else {
    forward_front(framework, task, now);
  }
}

void Master::forget_task(Framework& framework, const std::string& task_id) {
  auto it = framework.tasks.find(task_id);
  if (it == framework.tasks.end()) return;
  Task& task = it->second;
  if (task.group) {
    auto executor = framework.executors.find(*task.group);
    if (executor != framework.executors.end() && executor->second.live_tasks.empty()) {
      bool any_left = false;
      for (const auto& [other_id, other] : framework.tasks) {
        if (other_id != task_id && other.group == task.group) any_left = true;
      }
      if (!any_left) framework.executors.erase(executor);
    }
  }
  containers_.erase(task.container_id);
  mark_task(framework.info.id().value(), task_id);
  framework.completed_tasks.push_back(task_snapshot(framework, task));
  if (framework.completed_tasks.size() > kMaxCompletedTasks) framework.completed_tasks.pop_front();
  framework.tasks.erase(it);
}

void Master::log_task_end(const Framework& framework, const Task& task, const TaskStatus& status) {
  std::string how = TaskState_Name(status.state());
  if (status.has_reason()) how += fmt::format(" ({})", TaskStatus::Reason_Name(status.reason()));
  log("framework '{}': task '{}' ended {}{}", framework.info.id().value(),
      task.info.task_id().value(), how,
      status.message().empty() ? std::string() : ": " + status.message());
}

// ---------------------------------------------------------------------------------------------
// Runner events (the command executor)

Master::Task* Master::find_task_by_container(const std::string& container_id,
                                             Framework** framework) {
  auto it = containers_.find(container_id);
  if (it == containers_.end()) return nullptr;
  auto fit = frameworks_.find(it->second.first);
  if (fit == frameworks_.end()) return nullptr;
  auto tit = fit->second.tasks.find(it->second.second);
  if (tit == fit->second.tasks.end()) return nullptr;
  *framework = &fit->second;
  return &tit->second;
}

void Master::on_task_event(const RunnerEvent& event, TimePoint now) {
  last_now_ = now;
  if (event.kind != RunnerEvent::Kind::running) {
    orphans_.erase(event.container_id);
  }
  Framework* framework = nullptr;
  Task* task = find_task_by_container(event.container_id, &framework);
  if (task == nullptr || task->ended) return;

  switch (event.kind) {
    case RunnerEvent::Kind::running:
      task->pid = event.pid;
      task->pgid = event.pgid;
      if (!task->running_reported) {
        task->running_reported = true;
        if (task->latest.state() == mesos::v1::TASK_STAGING) {
          send_task_status(*framework, *task, mesos::v1::TASK_STARTING, TaskStatus::SOURCE_EXECUTOR,
                           std::nullopt, "", now);
        }
        send_task_status(*framework, *task, mesos::v1::TASK_RUNNING, TaskStatus::SOURCE_EXECUTOR,
                         std::nullopt, "", now);
      }
      mark_task(framework->info.id().value(), task->info.task_id().value());
      break;
    case RunnerEvent::Kind::launch_failed:
      send_task_status(*framework, *task, mesos::v1::TASK_FAILED, TaskStatus::SOURCE_EXECUTOR,
                       TaskStatus::REASON_COMMAND_EXECUTOR_FAILED,
                       "Failed to launch task: " + event.message, now);
      task_ended(*framework, *task, now);
      break;
    case RunnerEvent::Kind::fetch_failed:
      // Mesos has no reason of its own for this: the container's launch failed, said by the
      // agent, with the fetcher's cause (Mesos keeps that in the sandbox's stderr; here it is
      // in the message too).
      send_task_status(*framework, *task, mesos::v1::TASK_FAILED, TaskStatus::SOURCE_AGENT,
                       TaskStatus::REASON_CONTAINER_LAUNCH_FAILED,
                       fmt::format("Failed to launch container: Failed to fetch all URIs for "
                                   "container '{}': {}",
                                   task->container_id, event.message),
                       now);
      task_ended(*framework, *task, now);
      break;
    case RunnerEvent::Kind::exited: {
      const Termination& end = event.termination;
      TaskState state = task->killed ? mesos::v1::TASK_KILLED : mesos::v1::TASK_FAILED;
      std::string message;
      std::optional<TaskStatus::Reason> reason;
      TaskStatus::Source source = TaskStatus::SOURCE_EXECUTOR;
      switch (end.kind) {
        case Termination::Kind::exited:
          if (end.code == 0) state = mesos::v1::TASK_FINISHED;
          message = fmt::format("Command exited with status {}", end.code);
          break;
        case Termination::Kind::signaled:
          message = "Command terminated with signal " + signal_text(end.code);
          break;
        case Termination::Kind::unknown:
          source = TaskStatus::SOURCE_AGENT;
          reason = TaskStatus::REASON_EXECUTOR_TERMINATED;
          message = "Failed to get exit status for Command" +
                    (event.message.empty() ? std::string() : ": " + event.message);
          break;
      }
      send_task_status(*framework, *task, state, source, reason, message, now);
      task_ended(*framework, *task, now);
      break;
    }
  }
}

void Master::task_ended(Framework& framework, Task& task, TimePoint now) {
  if (task.ended) return;
  task.ended = true;
  task.escalate_at.reset();
  const std::string framework_id = framework.info.id().value();
  allocator_->release(framework_id, task.agent_id.value(), task.resources);
  allocation_pending_ = true;
  mark_task(framework_id, task.info.task_id().value());
  if (!task.group) return;
  auto executor = framework.executors.find(*task.group);
  if (executor == framework.executors.end()) return;
  executor->second.live_tasks.erase(task.info.task_id().value());
  if (executor->second.live_tasks.empty()) {
    allocator_->release(framework_id, executor->second.agent_id.value(),
                        executor->second.resources);
    return;
  }
  // The default executor kills the rest of the group when a task does not finish.
  if (task.latest.state() != mesos::v1::TASK_FINISHED) {
    const std::set<std::string> others = executor->second.live_tasks;
    for (const auto& other_id : others) {
      auto other = framework.tasks.find(other_id);
      if (other != framework.tasks.end() && !other->second.killed) {
        kill_one(framework, other->second, nullptr, now);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// KILL, SHUTDOWN

void Master::kill(Framework& framework, const Call::Kill& kill, TimePoint now) {
  auto it = framework.tasks.find(kill.task_id().value());
  if (it == framework.tasks.end()) {
    // As Mesos: a kill of an unknown task is answered like an explicit reconciliation.
    Call::Reconcile reconcile;
    auto* entry = reconcile.add_tasks();
    *entry->mutable_task_id() = kill.task_id();
    if (kill.has_agent_id()) *entry->mutable_agent_id() = kill.agent_id();
    this->reconcile(framework, reconcile, now);
    return;
  }
  kill_task(framework, it->second, kill.has_kill_policy() ? &kill.kill_policy() : nullptr, now);
}

void Master::kill_task(Framework& framework, Task& task,
                       const mesos::v1::KillPolicy* override_policy, TimePoint now) {
  if (!task.group) {
    kill_one(framework, task, override_policy, now);
    return;
  }
  auto executor = framework.executors.find(*task.group);
  if (executor == framework.executors.end()) return;
  const std::set<std::string> live = executor->second.live_tasks;
  for (const auto& task_id : live) {
    auto it = framework.tasks.find(task_id);
    if (it != framework.tasks.end()) kill_one(framework, it->second, override_policy, now);
  }
}

void Master::kill_one(Framework& framework, Task& task,
                      const mesos::v1::KillPolicy* override_policy, TimePoint now) {
  if (task.ended || is_terminal(task.latest.state())) return;
  Duration grace = grace_of(task.info.kill_policy(), options_.default_kill_grace);
  if (override_policy != nullptr && override_policy->has_grace_period()) {
    grace = grace_of(*override_policy, grace);
  }
  if (!task.killed) {
    log("framework '{}': killing task '{}' (SIGTERM, SIGKILL after {} s)",
        framework.info.id().value(), task.info.task_id().value(), to_seconds(grace));
    task.killed = true;
    task.kill_started = now;
    task.escalate_at = now + grace;
    watch_task(framework.info.id().value(), task);
    if (has_capability(framework.info, Capability::TASK_KILLING_STATE)) {
      send_task_status(framework, task, mesos::v1::TASK_KILLING, TaskStatus::SOURCE_EXECUTOR,
                       std::nullopt, "", now);
    }
    runner_.signal(task.container_id, TaskSignal::terminate, now);
    mark_task(framework.info.id().value(), task.info.task_id().value());
    return;
  }
  // A repeated kill may shorten the grace period, never lengthen it (as the command executor).
  if (task.escalate_at && task.kill_started + grace < *task.escalate_at) {
    task.escalate_at = std::max(now, task.kill_started + grace);
    watch_task(framework.info.id().value(), task);
  }
}

void Master::shutdown(Framework& framework, const Call::Shutdown& shutdown, TimePoint now) {
  for (auto& [task_id, task] : framework.tasks) {
    if (task.executor_id.value() == shutdown.executor_id().value() &&
        task.agent_id.value() == shutdown.agent_id().value()) {
      kill_one(framework, task, nullptr, now);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// RECONCILE

TaskStatus Master::reconciliation_status(const Framework&, const Task& task, TimePoint now) const {
  TaskStatus status;
  *status.mutable_task_id() = task.info.task_id();
  status.set_state(task.latest.state());
  status.set_source(TaskStatus::SOURCE_MASTER);
  status.set_reason(TaskStatus::REASON_RECONCILIATION);
  status.set_message("Reconciliation: Latest task state");
  *status.mutable_agent_id() = task.agent_id;
  if (task.group) *status.mutable_executor_id() = task.executor_id;
  if (task.latest.has_healthy()) status.set_healthy(task.latest.healthy());
  status.set_timestamp(to_epoch_seconds(now));
  return status;
}

void Master::reconcile(Framework& framework, const Call::Reconcile& reconcile, TimePoint now) {
  auto send_status = [&](TaskStatus status) {
    Event event = event_of(Event::UPDATE);
    *event.mutable_update()->mutable_status() = std::move(status);
    send(framework, event);
  };
  if (reconcile.tasks().empty()) {
    for (const auto& [task_id, task] : framework.tasks) {
      send_status(reconciliation_status(framework, task, now));
    }
    return;
  }
  const bool aware = partition_aware(framework.info);
  for (const auto& entry : reconcile.tasks()) {
    auto it = framework.tasks.find(entry.task_id().value());
    if (it != framework.tasks.end()) {
      send_status(reconciliation_status(framework, it->second, now));
      continue;
    }
    TaskStatus status;
    *status.mutable_task_id() = entry.task_id();
    status.set_source(TaskStatus::SOURCE_MASTER);
    status.set_reason(TaskStatus::REASON_RECONCILIATION);
    status.set_timestamp(to_epoch_seconds(now));
    if (entry.has_agent_id()) *status.mutable_agent_id() = entry.agent_id();
    if (entry.has_agent_id() && allocator_->find_agent(entry.agent_id().value()) != nullptr) {
      status.set_state(aware ? mesos::v1::TASK_GONE : mesos::v1::TASK_LOST);
      status.set_message("Reconciliation: Task is unknown to the agent");
    } else {
      status.set_state(aware ? mesos::v1::TASK_UNKNOWN : mesos::v1::TASK_LOST);
      status.set_message("Reconciliation: Task is unknown");
    }
    send_status(std::move(status));
  }
}

void Master::reconcile_operations(Framework& framework,
                                  const Call::ReconcileOperations& reconcile) {
  // local-master never has operations with feedback, so every listed one is unknown.
  for (const auto& entry : reconcile.operations()) {
    Event event = event_of(Event::UPDATE_OPERATION_STATUS);
    auto* status = event.mutable_update_operation_status()->mutable_status();
    *status->mutable_operation_id() = entry.operation_id();
    status->set_state(mesos::v1::OPERATION_UNKNOWN);
    status->set_message("Reconciliation: Operation is unknown");
    if (entry.has_agent_id()) *status->mutable_agent_id() = entry.agent_id();
    send(framework, event);
  }
}

// ---------------------------------------------------------------------------------------------
// Frameworks

void Master::send(Framework& framework, const Event& event) {
  if (framework.state == FrameworkState::subscribed && framework.sink) framework.sink->send(event);
}

FrameworkAllocation Master::allocation_of(const Framework& framework,
                                          const std::vector<std::string>& suppressed) const {
  FrameworkAllocation allocation;
  allocation.roles = framework_roles(framework.info);
  allocation.suppressed_roles.insert(suppressed.begin(), suppressed.end());
  allocation.active = framework.state == FrameworkState::subscribed;
  allocation.multi_role = has_capability(framework.info, Capability::MULTI_ROLE);
  allocation.reservation_refinement =
      has_capability(framework.info, Capability::RESERVATION_REFINEMENT);
  return allocation;
}

void Master::rescind(const std::vector<OutstandingOffer>& offers) {
  for (const auto& offer : offers) {
    auto it = frameworks_.find(offer.framework_id);
    if (it == frameworks_.end()) continue;
    Event event = event_of(Event::RESCIND);
    *event.mutable_rescind()->mutable_offer_id() = offer.offer.id();
    send(it->second, event);
  }
  if (!offers.empty()) allocation_pending_ = true;
}

void Master::on_subscriber_closed(std::string_view stream_id, TimePoint now) {
  last_now_ = now;
  for (auto& [id, framework] : frameworks_) {
    if (framework.state != FrameworkState::subscribed || framework.stream_id != stream_id) {
      continue;
    }
    framework.sink.reset();
    transition_to(framework, FrameworkState::disconnected, "subscription stream closed");
    const Duration timeout =
        duration_from_seconds(framework.info.failover_timeout()).value_or(Duration::zero());
    framework.failover_deadline = now + timeout;
    allocator_->deactivate_framework(id);
    allocation_pending_ = true;
    mark_framework(id);
    break;
  }
  flush();
}

void Master::remove_framework(Framework& framework, TimePoint now, std::string_view why) {
  const std::string id = framework.info.id().value();
  log("framework '{}': removing ({})", id, why);
  if (framework.state == FrameworkState::subscribed && framework.sink) framework.sink->close();
  framework.sink.reset();
  for (auto& [task_id, task] : framework.tasks) {
    if (!task.ended) {
      runner_.signal(task.container_id, TaskSignal::terminate, now);
      orphans_[task.container_id] =
          now + grace_of(task.info.kill_policy(), options_.default_kill_grace);
      allocator_->release(id, task.agent_id.value(), task.resources);
    }
    containers_.erase(task.container_id);
    dirty_tasks_.emplace(id, task_id);
  }
  for (auto& [executor_id, executor] : framework.executors) {
    if (!executor.live_tasks.empty()) {
      allocator_->release(id, executor.agent_id.value(), executor.resources);
    }
  }
  allocator_->remove_framework(id);
  removed_frameworks_[id] = framework.info;
  mark_framework(id);
  allocation_pending_ = true;
  frameworks_.erase(id);
}

// ---------------------------------------------------------------------------------------------
// Time

void Master::advance(TimePoint now) {
  last_now_ = now;
  if (phase_ != Phase::running) return;

  for (const auto& event : runner_.poll(now))
    on_task_event(event, now);

  // The tasks with a deadline due; each is checked against its task below.
  std::set<std::pair<std::string, std::string>> due;
  while (!task_deadlines_.empty() && task_deadlines_.begin()->first <= now) {
    due.insert(std::move(task_deadlines_.begin()->second));
    task_deadlines_.erase(task_deadlines_.begin());
  }
  auto find_task =
      [this](const std::pair<std::string, std::string>& key) -> std::pair<Framework*, Task*> {
    auto fit = frameworks_.find(key.first);
    if (fit == frameworks_.end()) return {nullptr, nullptr};
    auto tit = fit->second.tasks.find(key.second);
    if (tit == fit->second.tasks.end()) return {nullptr, nullptr};
    return {&fit->second, &tit->second};
  };
  for (const auto& key : due) {
    auto [framework, task] = find_task(key);
    if (task != nullptr && task->escalate_at && *task->escalate_at <= now && !task->ended) {
      task->escalate_at.reset();
      runner_.signal(task->container_id, TaskSignal::kill, now);
    }
  }
  for (auto it = orphans_.begin(); it != orphans_.end();) {
    if (it->second <= now) {
      runner_.signal(it->first, TaskSignal::kill, now);
      it = orphans_.erase(it);
    } else {
      ++it;
    }
  }

  std::vector<std::string> expired;
  for (const auto& [id, framework] : frameworks_) {
    if (framework.state == FrameworkState::disconnected && framework.failover_deadline &&
        *framework.failover_deadline <= now) {
      expired.push_back(id);
    }
  }
  for (const auto& id : expired)
    remove_framework(frameworks_.at(id), now, "failover timeout");

  rescind(allocator_->expire(now));

  for (const auto& key : due) {
    auto [framework, task] = find_task(key);
    if (task != nullptr && task->updates.next_retry && *task->updates.next_retry <= now) {
      forward_front(*framework, *task, now);
    }
  }

  if (allocation_pending_ || now >= next_allocation_) {
    allocation_pending_ = false;
    next_allocation_ = now + options_.allocation_interval;
    for (auto& [framework_id, offers] : allocator_->allocate(now)) {
      Event event = event_of(Event::OFFERS);
      const Framework& framework = frameworks_.at(framework_id);
      for (auto& offer : offers) {
        complete_offer(framework, offer);
        *event.mutable_offers()->add_offers() = std::move(offer);
      }
      send(frameworks_.at(framework_id), event);
    }
  }

  for (auto& [id, framework] : frameworks_) {
    if (framework.state == FrameworkState::subscribed && framework.next_heartbeat <= now) {
      send(framework, event_of(Event::HEARTBEAT));
      framework.next_heartbeat = now + options_.heartbeat_interval;
    }
  }
  flush();
}

void Master::complete_offer(const Framework& framework, mesos::v1::Offer& offer) const {
  *offer.mutable_url() = agent_url(agent_address_);
  for (const auto& [executor_id, executor] : framework.executors) {
    if (executor.agent_id.value() == offer.agent_id().value() && !executor.live_tasks.empty()) {
      *offer.add_executor_ids() = executor.info.executor_id();
    }
  }
}

std::optional<TimePoint> Master::next_deadline() const {
  if (phase_ != Phase::running) return std::nullopt;
  std::optional<TimePoint> deadline = next_allocation_;
  if (allocation_pending_) deadline = earliest(deadline, last_now_);
  deadline = earliest(deadline, runner_.next_deadline());
  deadline = earliest(deadline, allocator_->next_deadline());
  for (const auto& [container, at] : orphans_)
    deadline = earliest(deadline, at);
  for (const auto& [id, framework] : frameworks_) {
    if (framework.state == FrameworkState::subscribed) {
      deadline = earliest(deadline, framework.next_heartbeat);
    } else {
      deadline = earliest(deadline, framework.failover_deadline);
    }
  }
  while (!task_deadlines_.empty()) {
    const auto& [at, key] = *task_deadlines_.begin();
    if (task_due_at(key.first, key.second, at)) {
      deadline = earliest(deadline, at);
      break;
    }
    task_deadlines_.erase(task_deadlines_.begin());
  }
  return deadline;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

void Master::mark_framework(const std::string& framework_id) {
  if (checkpoint_) dirty_frameworks_.insert(framework_id);
}

void Master::mark_task(const std::string& framework_id, const std::string& task_id) {
  if (checkpoint_) dirty_tasks_.emplace(framework_id, task_id);
}

void Master::flush() {
  if (!checkpoint_) {
    dirty_frameworks_.clear();
    dirty_tasks_.clear();
    return;
  }
  if (dirty_frameworks_.empty() && dirty_tasks_.empty()) return;
  auto written = checkpoint_->transaction([this] { return write_dirty(); });
  if (!written) {
    warn("checkpoint write failed (will retry): {}", written.error().what());
    return;
  }
  dirty_frameworks_.clear();
  dirty_tasks_.clear();
}

Result<void> Master::write_dirty() {
  for (const auto& id : dirty_frameworks_) {
    FrameworkRecord record;
    if (auto it = frameworks_.find(id); it != frameworks_.end()) {
      record.info = it->second.info;
      record.failover_deadline = it->second.failover_deadline;
      if (const auto* allocation = allocator_->find_framework(id)) {
        record.suppressed_roles.assign(allocation->suppressed_roles.begin(),
                                       allocation->suppressed_roles.end());
      }
    } else if (auto removed = removed_frameworks_.find(id); removed != removed_frameworks_.end()) {
      record.info = removed->second;
      record.removed = true;
    } else {
      continue;
    }
    auto put = checkpoint_->put_framework(record);
    if (!put) return put;
  }
  for (const auto& [framework_id, task_id] : dirty_tasks_) {
    auto fit = frameworks_.find(framework_id);
    const Task* task = nullptr;
    if (fit != frameworks_.end()) {
      auto tit = fit->second.tasks.find(task_id);
      if (tit != fit->second.tasks.end()) task = &tit->second;
    }
    auto written = task != nullptr ? checkpoint_->put_task(record_of(fit->second, *task))
                                   : checkpoint_->erase_task(framework_id, task_id);
    if (!written) return written;
  }
  return {};
}

TaskRecord Master::record_of(const Framework& framework, const Task& task) {
  TaskRecord record;
  persisted_task_fields(task, record, [](const auto& from, auto& to) { copy_field(to, from); });
  if (task.group) {
    auto executor = framework.executors.find(*task.group);
    if (executor != framework.executors.end()) record.group_executor = executor->second.info;
  }
  return record;
}

Master::Task Master::restore_task(const TaskRecord& record, TimePoint now) const {
  Task task;
  persisted_task_fields(task, record, [](auto& to, const auto& from) { copy_field(to, from); });
  // What follows from the record rather than being stored.
  task.agent_id = record.info.agent_id();
  if (record.group_executor) task.group = record.group_executor->executor_id().value();
  auto resources = Resources::from_proto(record.info.resources());
  if (resources) task.resources = std::move(*resources);
  if (!task.updates.pending.empty()) {
    task.updates.backoff = options_.status_update_retry_min;
    task.updates.next_retry = now + task.updates.backoff;
  }
  task.running_reported = record.pid.has_value();
  if (task.killed && !task.ended) {
    task.kill_started = now;
    task.escalate_at = now + grace_of(task.info.kill_policy(), options_.default_kill_grace);
  }
  return task;
}

// ---------------------------------------------------------------------------------------------
// Observability

TaskSnapshot Master::task_snapshot(const Framework& framework, const Task& task) const {
  TaskSnapshot view;
  view.info = task.info;
  view.framework_id = framework.info.id().value();
  view.task_id = task.info.task_id().value();
  view.name = task.info.name();
  view.agent_id = task.agent_id.value();
  view.executor_id = task.executor_id.value();
  view.container_id = task.container_id;
  view.sandbox = task.sandbox;
  view.state = task.latest.state();
  view.resources = task.resources;
  view.unacknowledged_updates = task.updates.pending.size();
  view.killing = task.killed && !task.ended;
  view.pid = task.pid;
  view.statuses = task.statuses;
  if (view.statuses.empty() && task.latest.has_state()) view.statuses.push_back(task.latest);
  return view;
}

namespace {

// The scalar resources /metrics/snapshot reports.
constexpr const char* kMetricScalars[] = {"cpus", "mem", "disk", "gpus"};

// Adds what Resources::scalar(name) would give for each of kMetricScalars, in one pass (this
// runs for every agent at every metrics poll).
using MetricMillis = std::array<std::int64_t, std::size(kMetricScalars)>;

void add_scalars(const Resources& resources, MetricMillis& millis) {
  for (const auto& resource : resources) {
    if (resource.type() != mesos::v1::Value::SCALAR) continue;
    for (std::size_t i = 0; i < millis.size(); ++i) {
      if (resource.name() == kMetricScalars[i]) {
        millis[i] += std::llround(resource.scalar().value() * 1000.0);
        break;
      }
    }
  }
}

void set_scalars(const MetricMillis& millis, std::map<std::string, std::int64_t>& out) {
  for (std::size_t i = 0; i < millis.size(); ++i)
    out[kMetricScalars[i]] = millis[i];
}

}  // namespace

MasterMetrics Master::metrics() const {
  MasterMetrics metrics;
  metrics.start_time = start_time_;
  metrics.counters = counters_;
  for (const auto& [id, framework] : frameworks_) {
    ++(framework.state == FrameworkState::subscribed ? metrics.frameworks_connected
                                                     : metrics.frameworks_disconnected);
    for (const auto& [task_id, task] : framework.tasks) {
      if (!is_terminal(task.latest.state())) ++metrics.live_task_states[task.latest.state()];
    }
  }
  MetricMillis total{};
  MetricMillis used{};
  if (allocator_) {
    metrics.agents = allocator_->agents().size();
    metrics.outstanding_offers = allocator_->offers().size();
    for (const auto& agent : allocator_->agents()) {
      add_scalars(agent.total, total);
      add_scalars(agent.used, used);
    }
  }
  set_scalars(total, metrics.total_millis);
  set_scalars(used, metrics.used_millis);
  return metrics;
}

MasterSnapshot Master::snapshot() const {
  MasterSnapshot snapshot;
  snapshot.master_info = master_info_;
  snapshot.start_time = start_time_;
  snapshot.agent_address = agent_address_;
  snapshot.counters = counters_;
  for (const auto& [id, framework] : frameworks_) {
    FrameworkSnapshot view;
    view.info = framework.info;
    view.id = id;
    view.name = framework.info.name();
    view.user = framework.info.user();
    view.roles = framework_roles(framework.info);
    if (allocator_) {
      if (const auto* allocation = allocator_->find_framework(id)) {
        view.suppressed_roles.assign(allocation->suppressed_roles.begin(),
                                     allocation->suppressed_roles.end());
      }
    }
    view.connected = framework.state == FrameworkState::subscribed;
    view.failover_timeout_seconds = framework.info.failover_timeout();
    view.failover_deadline = framework.failover_deadline;
    view.registered_time = framework.registered_time;
    for (const auto& [task_id, task] : framework.tasks)
      view.tasks.push_back(task_snapshot(framework, task));
    view.completed_tasks.assign(framework.completed_tasks.begin(), framework.completed_tasks.end());
    for (const auto& [executor_id, executor] : framework.executors) {
      if (!executor.live_tasks.empty()) view.executors.push_back(executor.info);
    }
    snapshot.frameworks.push_back(std::move(view));
  }
  for (const auto& [id, info] : removed_frameworks_) {
    snapshot.removed_frameworks.push_back(id);
    snapshot.completed_frameworks.push_back(info);
  }
  if (allocator_) {
    for (const auto& agent : allocator_->agents()) {
      snapshot.agents.push_back(AgentSnapshot{agent.id.value(), agent.hostname, agent.attributes,
                                              agent.total, agent.used, agent.offered});
    }
    for (const auto& [id, offer] : allocator_->offers()) {
      OfferSnapshot view{offer.offer,    id,         offer.framework_id,
                         offer.agent_id, offer.role, offer.resources};
      auto framework = frameworks_.find(offer.framework_id);
      if (framework != frameworks_.end()) complete_offer(framework->second, view.offer);
      snapshot.offers.push_back(std::move(view));
    }
    snapshot.decline_filters = allocator_->filter_count();
  }
  return snapshot;
}

}  // namespace heatblast::local_master
