// render_state_json: the MasterSnapshot as JSON, written by hand (strings quoted by the
// library's JSON encoder).
#include <string>

#include <fmt/format.h>

#include "heatblast/json.hpp"
#include "master.hpp"

namespace heatblast::local_master {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  json::append_quoted(out, text);
  return out;
}

// Mesos's /state shape: scalars as numbers, ranges as "[a-b,c-d]", sets as "{a,b}".
std::string resources_json(const Resources& resources) {
  std::string out = "{";
  bool first = true;
  for (const auto& name : resources.names()) {
    std::string value;
    if (auto ranges = resources.ranges(name); !ranges.empty()) {
      value = "[";
      for (std::size_t i = 0; i < ranges.size(); ++i) {
        if (i > 0) value += ",";
        value += fmt::format("{}-{}", ranges[i].begin, ranges[i].end);
      }
      value = quoted(value + "]");
    } else if (auto items = resources.set(name); !items.empty()) {
      std::string text = "{";
      for (std::size_t i = 0; i < items.size(); ++i)
        text += (i > 0 ? "," : "") + items[i];
      value = quoted(text + "}");
    } else {
      value = fmt::format("{}", resources.scalar(name));
    }
    out += fmt::format("{}{}:{}", first ? "" : ",", quoted(name), value);
    first = false;
  }
  return out + "}";
}

// Mesos's /state shape for agent attributes: {"rack":"r1","level":2,"slots":"[1-4]"}.
std::string attributes_json(const std::vector<mesos::v1::Attribute>& attributes) {
  std::string out = "{";
  for (const auto& attribute : attributes) {
    std::string value;
    switch (attribute.type()) {
      case mesos::v1::Value::SCALAR:
        value = fmt::format("{}", attribute.scalar().value());
        break;
      case mesos::v1::Value::RANGES: {
        std::string ranges;
        for (const auto& range : attribute.ranges().range()) {
          ranges += fmt::format("{}{}-{}", ranges.empty() ? "" : ",", range.begin(), range.end());
        }
        value = quoted("[" + ranges + "]");
        break;
      }
      default:
        value = quoted(attribute.text().value());
        break;
    }
    out += fmt::format("{}{}:{}", out.size() > 1 ? "," : "", quoted(attribute.name()), value);
  }
  return out + "}";
}

template <class T, class F>
std::string array(const std::vector<T>& items, F&& render) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i > 0 ? "," : "") + render(items[i]);
  return out + "]";
}

std::string task_json(const TaskSnapshot& task) {
  return fmt::format(
      "{{\"id\":{},\"name\":{},\"framework_id\":{},\"slave_id\":{},\"executor_id\":{},"
      "\"container_id\":{},\"state\":{},\"resources\":{},\"sandbox\":{},"
      "\"unacknowledged_updates\":{},\"killing\":{}{}}}",
      quoted(task.task_id), quoted(task.name), quoted(task.framework_id), quoted(task.agent_id),
      quoted(task.executor_id), quoted(task.container_id),
      quoted(mesos::v1::TaskState_Name(task.state)), resources_json(task.resources),
      quoted(task.sandbox), task.unacknowledged_updates, task.killing ? "true" : "false",
      task.pid ? fmt::format(",\"pid\":{}", *task.pid) : std::string());
}

std::string framework_json(const FrameworkSnapshot& framework) {
  return fmt::format(
      "{{\"id\":{},\"name\":{},\"user\":{},\"roles\":{},\"suppressed_roles\":{},\"active\":{},"
      "\"connected\":{},\"failover_timeout\":{}{},\"tasks\":{}}}",
      quoted(framework.id), quoted(framework.name), quoted(framework.user),
      array(framework.roles, [](const std::string& role) { return quoted(role); }),
      array(framework.suppressed_roles, [](const std::string& role) { return quoted(role); }),
      framework.connected ? "true" : "false", framework.connected ? "true" : "false",
      framework.failover_timeout_seconds,
      framework.failover_deadline
          ? fmt::format(",\"failover_deadline\":{}", to_epoch_seconds(*framework.failover_deadline))
          : std::string(),
      array(framework.tasks, task_json));
}

}  // namespace

std::string render_state_json(const MasterSnapshot& snapshot) {
  const auto& info = snapshot.master_info;
  return fmt::format(
      "{{\"id\":{},\"pid\":{},\"hostname\":{},\"version\":{},\"start_time\":{},"
      "\"frameworks\":{},\"completed_frameworks\":{},\"slaves\":{},\"offers\":{},"
      "\"decline_filters\":{}}}",
      quoted(info.id()), quoted(info.pid()), quoted(info.hostname()), quoted(info.version()),
      snapshot.start_time ? to_epoch_seconds(*snapshot.start_time) : 0.0,
      array(snapshot.frameworks, framework_json),
      array(snapshot.removed_frameworks,
            [](const std::string& id) { return fmt::format("{{\"id\":{}}}", quoted(id)); }),
      array(snapshot.agents,
            [](const AgentSnapshot& agent) {
              return fmt::format(
                  "{{\"id\":{},\"hostname\":{},\"resources\":{},\"used_resources\":{},"
                  "\"offered_resources\":{},\"attributes\":{}}}",
                  quoted(agent.id), quoted(agent.hostname), resources_json(agent.total),
                  resources_json(agent.used), resources_json(agent.offered),
                  attributes_json(agent.attributes));
            }),
      array(snapshot.offers,
            [](const OfferSnapshot& offer) {
              return fmt::format(
                  "{{\"id\":{},\"framework_id\":{},\"slave_id\":{},\"role\":{},\"resources\":{}}}",
                  quoted(offer.id), quoted(offer.framework_id), quoted(offer.agent_id),
                  quoted(offer.role), resources_json(offer.resources));
            }),
      snapshot.decline_filters);
}

}  // namespace heatblast::local_master
