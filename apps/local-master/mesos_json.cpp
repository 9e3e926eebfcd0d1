// Mesos's JSON shapes, written by hand: the field names and value forms are those of a Mesos
// 1.12 master's model functions (src/common/http.cpp, src/master/readonly_handler.cpp).
// Fields that only local-master has (a task's sandbox, its unacknowledged updates) are extra
// keys, which Mesos clients ignore.
#include "mesos_json.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "call_validation.hpp"
#include "heatblast/json.hpp"
#include "heatblast/task_state.hpp"

namespace heatblast::local_master {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  json::append_quoted(out, text);
  return out;
}

// Mesos writes doubles as doubles: 2.0, not 2.
std::string number(double value) {
  if (!std::isfinite(value)) return "0.0";
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// One JSON object, built field by field.
class Object {
 public:
  Object& raw(std::string_view key, std::string_view json) {
    out_ += first_ ? "" : ",";
    first_ = false;
    json::append_quoted(out_, key);
    out_ += ':';
    out_ += json;
    return *this;
  }
  Object& str(std::string_view key, std::string_view value) { return raw(key, quoted(value)); }
  Object& num(std::string_view key, double value) { return raw(key, number(value)); }
  Object& integer(std::string_view key, std::uint64_t value) {
    return raw(key, std::to_string(value));
  }
  Object& boolean(std::string_view key, bool value) { return raw(key, value ? "true" : "false"); }
  std::string done() const { return out_ + "}"; }

 private:
  std::string out_ = "{";
  bool first_ = true;
};

template <class Range, class F>
std::string array(const Range& items, F&& render) {
  std::string out = "[";
  bool first = true;
  for (const auto& item : items) {
    out += first ? "" : ",";
    first = false;
    out += render(item);
  }
  return out + "]";
}

std::string strings(const std::vector<std::string>& items) {
  return array(items, [](const std::string& item) { return quoted(item); });
}

std::string ranges_text(const mesos::v1::Value::Ranges& ranges) {
  std::string text = "[";
  for (int i = 0; i < ranges.range_size(); ++i) {
    if (i > 0) text += ", ";
    text += fmt::format("{}-{}", ranges.range(i).begin(), ranges.range(i).end());
  }
  return text + "]";
}

std::string set_text(const mesos::v1::Value::Set& set) {
  std::string text = "{";
  for (int i = 0; i < set.item_size(); ++i)
    text += (i > 0 ? ", " : "") + set.item(i);
  return text + "}";
}

// Resources as Mesos models them: cpus, gpus, mem and disk always present, other scalars
// summed, ranges as "[a-b, c-d]", sets as "{a, b}".
std::string resources_json(const Resources& resources) {
  std::map<std::string, double> scalars = {{"cpus", 0}, {"gpus", 0}, {"mem", 0}, {"disk", 0}};
  std::map<std::string, std::string> texts;
  for (const auto& name : resources.names()) {
    if (auto ranges = resources.ranges(name); !ranges.empty()) {
      std::string text = "[";
      for (std::size_t i = 0; i < ranges.size(); ++i)
        text += fmt::format("{}{}-{}", i > 0 ? ", " : "", ranges[i].begin, ranges[i].end);
      texts[name] = text + "]";
    } else if (auto items = resources.set(name); !items.empty()) {
      std::string text = "{";
      for (std::size_t i = 0; i < items.size(); ++i)
        text += (i > 0 ? ", " : "") + items[i];
      texts[name] = text + "}";
    } else {
      scalars[name] = resources.scalar(name);
    }
  }
  Object object;
  for (const auto& [name, value] : scalars)
    object.num(name, value);
  for (const auto& [name, text] : texts)
    object.str(name, text);
  return object.done();
}

std::string resources_full_json(const Resources& resources) {
  return array(resources.to_proto(),
               [](const mesos::v1::Resource& resource) { return json::encode(resource); });
}

std::string attributes_json(const std::vector<mesos::v1::Attribute>& attributes) {
  Object object;
  for (const auto& attribute : attributes) {
    switch (attribute.type()) {
      case mesos::v1::Value::SCALAR:
        object.num(attribute.name(), attribute.scalar().value());
        break;
      case mesos::v1::Value::RANGES:
        object.str(attribute.name(), ranges_text(attribute.ranges()));
        break;
      case mesos::v1::Value::SET:
        object.str(attribute.name(), set_text(attribute.set()));
        break;
      case mesos::v1::Value::TEXT:
        object.str(attribute.name(), attribute.text().value());
        break;
    }
  }
  return object.done();
}

std::string labels_json(const mesos::v1::Labels& labels) {
  return array(labels.labels(), [](const mesos::v1::Label& label) { return json::encode(label); });
}

std::string status_json(const mesos::v1::TaskStatus& status) {
  Object object;
  object.str("state", mesos::v1::TaskState_Name(status.state()));
  object.num("timestamp", status.timestamp());
  if (status.has_labels()) object.raw("labels", labels_json(status.labels()));
  if (status.has_container_status()) {
    object.raw("container_status", json::encode(status.container_status()));
  }
  if (status.has_healthy()) object.boolean("healthy", status.healthy());
  return object.done();
}

std::string task_role(const TaskSnapshot& task) {
  for (const auto& resource : task.info.resources()) {
    if (resource.has_allocation_info()) return resource.allocation_info().role();
  }
  return "*";
}

std::string task_json(const TaskSnapshot& task) {
  Object object;
  object.str("id", task.task_id)
      .str("name", task.name)
      .str("framework_id", task.framework_id)
      // A Mesos master knows no executor for a command task: its executor_id is empty.
      .str("executor_id", task.executor_id == task.task_id ? "" : task.executor_id)
      .str("slave_id", task.agent_id)
      .str("state", mesos::v1::TaskState_Name(task.state))
      .raw("resources", resources_json(task.resources))
      .str("role", task_role(task))
      .raw("statuses", array(task.statuses, status_json));
  if (task.info.has_labels()) object.raw("labels", labels_json(task.info.labels()));
  if (task.info.has_discovery()) object.raw("discovery", json::encode(task.info.discovery()));
  if (task.info.has_container()) object.raw("container", json::encode(task.info.container()));
  if (task.info.has_health_check()) {
    object.raw("health_check", json::encode(task.info.health_check()));
  }
  if (task.info.has_kill_policy()) {
    object.raw("kill_policy", json::encode(task.info.kill_policy()));
  }
  if (task.info.has_command() && task.info.command().has_user()) {
    object.str("user", task.info.command().user());
  }
  // local-master's own.
  object.str("container_id", task.container_id)
      .str("sandbox", task.sandbox)
      .integer("unacknowledged_updates", task.unacknowledged_updates)
      .boolean("killing", task.killing);
  if (task.pid) object.integer("pid", static_cast<std::uint64_t>(*task.pid));
  return object.done();
}

std::string offer_json(const OfferSnapshot& offer) {
  return Object()
      .str("id", offer.id)
      .str("framework_id", offer.framework_id)
      .raw("allocation_info", json::encode(offer.offer.allocation_info()))
      .str("slave_id", offer.agent_id)
      .raw("resources", resources_json(offer.resources))
      .done();
}

std::vector<std::string> capability_names(const mesos::v1::FrameworkInfo& info) {
  std::vector<std::string> names;
  for (const auto& capability : info.capabilities()) {
    names.push_back(mesos::v1::FrameworkInfo::Capability::Type_Name(capability.type()));
  }
  return names;
}

bool multi_role(const mesos::v1::FrameworkInfo& info) {
  return std::any_of(info.capabilities().begin(), info.capabilities().end(),
                     [](const auto& capability) {
                       return capability.type() == mesos::v1::FrameworkInfo::Capability::MULTI_ROLE;
                     });
}

// The FrameworkInfo part of a framework's JSON, shared by active and completed frameworks.
void framework_info_fields(Object& object, const mesos::v1::FrameworkInfo& info) {
  object.str("id", info.id().value())
      .str("name", info.name())
      .raw("capabilities", strings(capability_names(info)))
      .str("hostname", info.hostname())
      .str("webui_url", info.webui_url())
      .str("user", info.user())
      .num("failover_timeout", info.failover_timeout())
      .boolean("checkpoint", info.checkpoint());
  if (info.has_principal()) object.str("principal", info.principal());
  const std::vector<std::string> roles = framework_roles(info);
  if (multi_role(info)) {
    object.raw("roles", strings(roles));
  } else {
    object.str("role", roles.empty() ? "*" : roles.front());
  }
  if (info.has_labels()) object.raw("labels", labels_json(info.labels()));
}

std::string framework_json(const FrameworkSnapshot& framework, const MasterSnapshot& snapshot) {
  Resources used;
  for (const auto& task : framework.tasks) {
    if (!is_terminal(task.state)) used += task.resources;
  }
  for (const auto& executor : framework.executors) {
    auto resources = Resources::from_proto(executor.resources());
    if (resources) used += *resources;
  }
  Resources offered;
  std::vector<OfferSnapshot> offers;
  for (const auto& offer : snapshot.offers) {
    if (offer.framework_id != framework.id) continue;
    offered += offer.resources;
    offers.push_back(offer);
  }
  Object object;
  framework_info_fields(object, framework.info);
  object.raw("used_resources", resources_json(used))
      .raw("offered_resources", resources_json(offered))
      .raw("resources", resources_json(used + offered))
      .boolean("active", framework.connected)
      .boolean("connected", framework.connected)
      .boolean("recovered", false)
      .num("registered_time",
           framework.registered_time ? to_epoch_seconds(*framework.registered_time) : 0.0)
      .num("unregistered_time", 0.0)
      .raw("tasks", array(framework.tasks, task_json))
      .raw("unreachable_tasks", "[]")
      .raw("completed_tasks", array(framework.completed_tasks, task_json))
      .raw("offers", array(offers, offer_json))
      .raw("executors",
           array(framework.executors,
                 [](const mesos::v1::ExecutorInfo& executor) { return json::encode(executor); }))
      // local-master's own.
      .raw("suppressed_roles", strings(framework.suppressed_roles));
  if (framework.failover_deadline) {
    object.num("failover_deadline", to_epoch_seconds(*framework.failover_deadline));
  }
  return object.done();
}

std::string completed_framework_json(const mesos::v1::FrameworkInfo& info) {
  Object object;
  framework_info_fields(object, info);
  const std::string none = resources_json(Resources());
  object.raw("used_resources", none)
      .raw("offered_resources", none)
      .raw("resources", none)
      .boolean("active", false)
      .boolean("connected", false)
      .boolean("recovered", false)
      .raw("tasks", "[]")
      .raw("unreachable_tasks", "[]")
      .raw("completed_tasks", "[]")
      .raw("offers", "[]")
      .raw("executors", "[]");
  return object.done();
}

std::string agent_pid(const MasterSnapshot& snapshot) {
  return fmt::format("slave(1)@{}:{}", snapshot.agent_address.ip(), snapshot.agent_address.port());
}

std::string agent_json(const AgentSnapshot& agent, const MasterSnapshot& snapshot) {
  std::map<std::string, Resources> reserved;
  for (const auto& resource : agent.total) {
    if (!is_reserved(resource)) continue;
    const std::string role = reservation_role(resource);
    if (reserved.contains(role)) continue;
    reserved[role] = agent.total.filter([&role](const mesos::v1::Resource& r) {
      return is_reserved(r) && reservation_role(r) == role;
    });
  }
  Object reserved_json;
  Object reserved_full;
  for (const auto& [role, resources] : reserved) {
    reserved_json.raw(role, resources_json(resources));
    reserved_full.raw(role, resources_full_json(resources));
  }
  const double start = snapshot.start_time ? to_epoch_seconds(*snapshot.start_time) : 0.0;
  return Object()
      .str("id", agent.id)
      .str("hostname", agent.hostname)
      .integer("port", snapshot.agent_address.port())
      .raw("attributes", attributes_json(agent.attributes))
      .str("pid", agent_pid(snapshot))
      .num("registered_time", start)
      .raw("resources", resources_json(agent.total))
      .raw("used_resources", resources_json(agent.used))
      .raw("offered_resources", resources_json(agent.offered))
      .raw("reserved_resources", reserved_json.done())
      .raw("unreserved_resources", resources_json(agent.total.unreserved()))
      .boolean("active", true)
      .boolean("deactivated", false)
      .str("version", snapshot.master_info.version())
      .raw("capabilities", strings({"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"}))
      .raw("reserved_resources_full", reserved_full.done())
      .raw("unreserved_resources_full", resources_full_json(agent.total.unreserved()))
      .raw("used_resources_full", resources_full_json(agent.used))
      .raw("offered_resources_full", resources_full_json(agent.offered))
      .done();
}

std::string agents_json(const MasterSnapshot& snapshot) {
  return array(snapshot.agents,
               [&](const AgentSnapshot& agent) { return agent_json(agent, snapshot); });
}

std::string frameworks_array(const MasterSnapshot& snapshot, const std::string* only) {
  std::string out = "[";
  for (const auto& framework : snapshot.frameworks) {
    if (only != nullptr && framework.id != *only) continue;
    out += (out.size() > 1 ? "," : "") + framework_json(framework, snapshot);
  }
  return out + "]";
}

std::string completed_frameworks_array(const MasterSnapshot& snapshot, const std::string* only) {
  std::string out = "[";
  for (const auto& info : snapshot.completed_frameworks) {
    if (only != nullptr && info.id().value() != *only) continue;
    out += (out.size() > 1 ? "," : "") + completed_framework_json(info);
  }
  return out + "]";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      const int high = i + 2 < text.size() ? hex_digit(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? hex_digit(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return fail(errc::invalid_argument, "Malformed percent-encoding in query");
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') return fail(errc::invalid_argument, "Query contains a NUL character");
    out += c;
  }
  return out;
}

// A non-negative integer parameter, or `fallback` when absent or unparsable.
std::size_t size_parameter(const std::map<std::string, std::string>& query, const char* name,
                           std::size_t fallback) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return fallback;
  std::size_t value = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9' || value > (std::size_t{1} << 40)) return fallback;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

const std::string* parameter(const std::map<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  return it == query.end() ? nullptr : &it->second;
}

}  // namespace

Result<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    if (!key) return tl::unexpected(key.error());
    auto value =
        percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!value) return tl::unexpected(value.error());
    out.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

std::string render_state_json(const MasterSnapshot& snapshot) {
  const auto& info = snapshot.master_info;
  const double start = snapshot.start_time ? to_epoch_seconds(*snapshot.start_time) : 0.0;
  return Object()
      .str("version", info.version())
      .str("build_date", "")
      .num("build_time", 0)
      .str("build_user", "")
      .num("start_time", start)
      .num("elected_time", start)
      .str("id", info.id())
      .str("pid", info.pid())
      .str("hostname", info.hostname())
      .raw("capabilities", "[]")
      .integer("activated_slaves", snapshot.agents.size())
      .integer("deactivated_slaves", 0)
      .integer("unreachable_slaves", 0)
      .str("leader", info.pid())
      .raw("leader_info", json::encode(info))
      .raw("flags", "{}")
      .raw("slaves", agents_json(snapshot))
      .raw("recovered_slaves", "[]")
      .raw("frameworks", frameworks_array(snapshot, nullptr))
      .raw("completed_frameworks", completed_frameworks_array(snapshot, nullptr))
      .raw("unregistered_frameworks", "[]")
      // local-master's own.
      .raw("offers", array(snapshot.offers, offer_json))
      .integer("decline_filters", snapshot.decline_filters)
      .done();
}

std::string frameworks_json(const MasterSnapshot& snapshot,
                            const std::map<std::string, std::string>& query) {
  const std::string* only = parameter(query, "framework_id");
  return Object()
      .raw("frameworks", frameworks_array(snapshot, only))
      .raw("completed_frameworks", completed_frameworks_array(snapshot, only))
      .raw("unregistered_frameworks", "[]")
      .done();
}

std::string slaves_json(const MasterSnapshot& snapshot) {
  return Object().raw("slaves", agents_json(snapshot)).raw("recovered_slaves", "[]").done();
}

std::string tasks_json(const MasterSnapshot& snapshot,
                       const std::map<std::string, std::string>& query) {
  const std::string* framework_id = parameter(query, "framework_id");
  const std::string* task_id = parameter(query, "task_id");
  std::vector<const TaskSnapshot*> tasks;
  auto consider = [&](const TaskSnapshot& task) {
    if (framework_id != nullptr && task.framework_id != *framework_id) return;
    if (task_id != nullptr && task.task_id != *task_id) return;
    tasks.push_back(&task);
  };
  for (const auto& framework : snapshot.frameworks) {
    for (const auto& task : framework.tasks)
      consider(task);
    for (const auto& task : framework.completed_tasks)
      consider(task);
  }
  auto latest = [](const TaskSnapshot* task) {
    return task->statuses.empty() ? 0.0 : task->statuses.back().timestamp();
  };
  const std::string* order = parameter(query, "order");
  const bool ascending = order != nullptr && *order == "asc";
  std::stable_sort(tasks.begin(), tasks.end(), [&](const auto* a, const auto* b) {
    return ascending ? latest(a) < latest(b) : latest(a) > latest(b);
  });
  const std::size_t offset = std::min(size_parameter(query, "offset", 0), tasks.size());
  const std::size_t limit = size_parameter(query, "limit", 100);
  const std::size_t end = offset + std::min(limit, tasks.size() - offset);
  std::vector<const TaskSnapshot*> page(tasks.begin() + static_cast<std::ptrdiff_t>(offset),
                                        tasks.begin() + static_cast<std::ptrdiff_t>(end));
  return Object()
      .raw("tasks", array(page, [](const TaskSnapshot* task) { return task_json(*task); }))
      .done();
}

namespace {

std::string executor_json(const TaskSnapshot& task, bool completed) {
  const std::string tasks = task_json(task);
  return Object()
      .str("id", task.executor_id)
      .str("name", task.executor_id == task.task_id
                       ? "Command Executor (Task: " + task.task_id + ")"
                       : task.executor_id)
      .str("source", task.executor_id)
      .str("container", task.container_id)
      .str("directory", task.sandbox)
      .raw("resources", resources_json(task.resources))
      .str("role", task_role(task))
      .str("type", task.executor_id == task.task_id ? "COMMAND" : "DEFAULT")
      .raw("tasks", completed ? "[]" : "[" + tasks + "]")
      .raw("queued_tasks", "[]")
      .raw("completed_tasks", completed ? "[" + tasks + "]" : "[]")
      .done();
}

}  // namespace

std::string agent_state_json(const MasterSnapshot& snapshot, const std::string& agent_id) {
  const AgentSnapshot* agent = nullptr;
  for (const auto& candidate : snapshot.agents) {
    if (candidate.id == agent_id) agent = &candidate;
  }
  if (agent == nullptr) return "{}";
  std::string frameworks = "[";
  for (const auto& framework : snapshot.frameworks) {
    std::string executors = "[";
    std::string completed = "[";
    for (const auto& task : framework.tasks) {
      if (task.agent_id != agent_id) continue;
      executors += (executors.size() > 1 ? "," : "") + executor_json(task, false);
    }
    for (const auto& task : framework.completed_tasks) {
      if (task.agent_id != agent_id) continue;
      completed += (completed.size() > 1 ? "," : "") + executor_json(task, true);
    }
    Object object;
    framework_info_fields(object, framework.info);
    object.raw("executors", executors + "]").raw("completed_executors", completed + "]");
    frameworks += (frameworks.size() > 1 ? "," : "") + object.done();
  }
  const auto& info = snapshot.master_info;
  const double start = snapshot.start_time ? to_epoch_seconds(*snapshot.start_time) : 0.0;
  return Object()
      .str("version", info.version())
      .str("build_date", "")
      .num("build_time", 0)
      .str("build_user", "")
      .num("start_time", start)
      .str("id", agent->id)
      .str("pid", agent_pid(snapshot))
      .str("hostname", agent->hostname)
      .raw("capabilities", strings({"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"}))
      .raw("resources", resources_json(agent->total))
      .raw("unreserved_resources", resources_json(agent->total.unreserved()))
      .raw("attributes", attributes_json(agent->attributes))
      .str("master_hostname", info.hostname())
      .raw("flags", "{}")
      .raw("frameworks", frameworks + "]")
      .raw("completed_frameworks", "[]")
      .done();
}

std::string version_json(std::string_view version) {
  // No build stamp: local-master is not a Mesos build, and a reproducible build has none.
  return Object()
      .str("version", version)
      .str("build_date", "")
      .num("build_time", 0)
      .str("build_user", "")
      .done();
}

std::string metrics_json(const MasterMetrics& source, TimePoint now) {
  std::map<std::string, double> metrics;
  auto set = [&](const std::string& name, double value) { metrics["master/" + name] = value; };
  const double start = source.start_time ? to_epoch_seconds(*source.start_time) : 0.0;
  set("uptime_secs", source.start_time ? to_epoch_seconds(now) - start : 0.0);
  set("elected", 1);

  const auto active = static_cast<double>(source.frameworks_connected);
  const auto inactive = static_cast<double>(source.frameworks_disconnected);
  set("frameworks_active", active);
  set("frameworks_inactive", inactive);
  set("frameworks_connected", active);
  set("frameworks_disconnected", inactive);

  const auto agents = static_cast<double>(source.agents);
  set("slaves_active", agents);
  set("slaves_connected", agents);
  set("slaves_disconnected", 0);
  set("slaves_inactive", 0);
  set("slaves_unreachable", 0);
  set("outstanding_offers", static_cast<double>(source.outstanding_offers));

  // Gauges of the tasks' current states, counters of the terminal ones.
  for (const char* state : {"staging", "starting", "running", "killing", "unreachable"})
    set(fmt::format("tasks_{}", state), 0);
  for (const char* state :
       {"finished", "failed", "killed", "lost", "error", "dropped", "gone", "gone_by_operator"})
    set(fmt::format("tasks_{}", state), 0);
  for (const auto& [state, count] : source.live_task_states) {
    std::string name = mesos::v1::TaskState_Name(state).substr(5);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    metrics["master/tasks_" + name] += static_cast<double>(count);
  }

  for (const char* counter :
       {"messages_register_framework", "messages_reregister_framework",
        "messages_unregister_framework", "messages_launch_tasks", "messages_decline_offers",
        "messages_revive_offers", "messages_suppress_offers", "messages_kill_task",
        "messages_status_update_acknowledgement", "messages_reconcile_tasks",
        "messages_reconcile_operations", "messages_framework_to_executor",
        "messages_resource_request", "valid_status_update_acknowledgements",
        "invalid_status_update_acknowledgements", "valid_framework_to_executor_messages",
        "invalid_framework_to_executor_messages"})
    set(counter, 0);
  for (const auto& [name, value] : source.counters)
    set(name, static_cast<double>(value));

  auto amount = [](const std::map<std::string, std::int64_t>& millis, const char* name) {
    auto it = millis.find(name);
    // As heatblast::Resources turns thousandths back into a scalar.
    return it == millis.end() ? 0.0 : static_cast<double>(it->second) / 1000.0;
  };
  for (const char* resource : {"cpus", "mem", "disk", "gpus"}) {
    const double all = amount(source.total_millis, resource);
    const double taken = amount(source.used_millis, resource);
    set(fmt::format("{}_total", resource), all);
    set(fmt::format("{}_used", resource), taken);
    set(fmt::format("{}_percent", resource), all > 0 ? taken / all : 0.0);
  }

  Object object;
  for (const auto& [name, value] : metrics)
    object.num(name, value);
  return object.done();
}

}  // namespace heatblast::local_master
