#include "job_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "json_util.hpp"

namespace heatblast::samza {
namespace {

using rapidjson::Document;
using rapidjson::Value;
using Allocator = Document::AllocatorType;

tl::unexpected<Error> bad(std::string message) {
  return fail(errc::invalid_argument, std::move(message));
}

Result<std::string> get_string(const Value& value, std::string_view field) {
  if (!value.IsString()) return bad(fmt::format("'{}' must be a string", field));
  return std::string(json::view(value));
}

Result<double> get_positive(const Value& value, std::string_view field) {
  if (!value.IsNumber() || !std::isfinite(value.GetDouble()) || value.GetDouble() <= 0) {
    return bad(fmt::format("'{}' must be a positive number", field));
  }
  return value.GetDouble();
}

Result<std::map<std::string, std::string>> get_string_map(const Value& value,
                                                          std::string_view field) {
  if (!value.IsObject()) return bad(fmt::format("'{}' must be an object of strings", field));
  std::map<std::string, std::string> out;
  for (const auto& member : value.GetObject()) {
    const std::string key(json::view(member.name));
    if (!member.value.IsString()) {
      return bad(fmt::format("'{}.{}' must be a string", field, key));
    }
    out[key] = std::string(json::view(member.value));
  }
  return out;
}

Result<std::vector<std::string>> get_string_list(const Value& value, std::string_view field) {
  if (!value.IsArray()) return bad(fmt::format("'{}' must be an array of strings", field));
  std::vector<std::string> out;
  for (const auto& item : value.GetArray()) {
    if (!item.IsString() || item.GetStringLength() == 0) {
      return bad(fmt::format("'{}' must hold non-empty strings", field));
    }
    out.emplace_back(json::view(item));
  }
  return out;
}

// {"rack": "r1"}, or Marathon's [["rack", "CLUSTER", "r1"]] (the only operator the tasks layer
// has: an exact attribute value).
Result<std::map<std::string, std::string>> get_constraints(const Value& value) {
  if (value.IsObject()) return get_string_map(value, "constraints");
  if (!value.IsArray()) return bad("'constraints' must be an object or an array");
  std::map<std::string, std::string> out;
  for (const auto& item : value.GetArray()) {
    if (!item.IsArray() || item.Size() != 3 || !item[0].IsString() || !item[1].IsString() ||
        !item[2].IsString() || json::view(item[1]) != "CLUSTER") {
      return bad("'constraints' entries must be [\"attribute\", \"CLUSTER\", \"value\"]");
    }
    out[std::string(json::view(item[0]))] = std::string(json::view(item[2]));
  }
  return out;
}

Result<RestartSpec> get_restart(const Value& value, RestartSpec restart) {
  if (!value.IsObject()) return bad("'restartPolicy' must be an object");
  for (const auto& member : value.GetObject()) {
    const std::string_view key = json::view(member.name);
    if (key == "policy") {
      auto policy = get_string(member.value, "restartPolicy.policy");
      if (!policy) return tl::unexpected(policy.error());
      if (*policy != "always" && *policy != "on_failure" && *policy != "never") {
        return bad("'restartPolicy.policy' must be \"always\", \"on_failure\" or \"never\"");
      }
      restart.policy = *policy;
    } else if (key == "maxRestarts") {
      if (!member.value.IsInt() || member.value.GetInt() < -1) {
        return bad("'restartPolicy.maxRestarts' must be an integer >= -1");
      }
      restart.max_restarts = member.value.GetInt();
    } else if (key == "backoffSeconds" || key == "maxBackoffSeconds") {
      auto seconds = get_positive(member.value, fmt::format("restartPolicy.{}", key));
      if (!seconds) return tl::unexpected(seconds.error());
      (key == "backoffSeconds" ? restart.backoff_seconds : restart.max_backoff_seconds) = *seconds;
    } else {
      return bad(fmt::format("unknown field 'restartPolicy.{}'", key));
    }
  }
  if (restart.max_backoff_seconds < restart.backoff_seconds) {
    return bad("'restartPolicy.maxBackoffSeconds' must not be below 'backoffSeconds'");
  }
  return restart;
}

// One field of a job description onto `spec`. False: not a field of a job.
Result<bool> apply_field(std::string_view key, const Value& value, JobSpec& spec) {
  auto assign = [&](auto& target, auto result) -> Result<bool> {
    if (!result) return tl::unexpected(result.error());
    target = std::move(*result);
    return true;
  };
  if (key == "dockerImage") return assign(spec.docker_image, get_string(value, key));
  if (key == "command") return assign(spec.command, get_string(value, key));
  if (key == "javaOpts") return assign(spec.java_opts, get_string(value, key));
  if (key == "role") return assign(spec.role, get_string(value, key));
  if (key == "uris") return assign(spec.uris, get_string_list(value, key));
  if (key == "containerCpus") return assign(spec.container_cpus, get_positive(value, key));
  if (key == "containerMem") return assign(spec.container_mem, get_positive(value, key));
  if (key == "env") return assign(spec.env, get_string_map(value, key));
  if (key == "config" || key == "samzaConfig")
    return assign(spec.config, get_string_map(value, key));
  if (key == "labels") return assign(spec.labels, get_string_map(value, key));
  if (key == "constraints") return assign(spec.constraints, get_constraints(value));
  if (key == "restartPolicy") return assign(spec.restart, get_restart(value, spec.restart));
  return false;
}

bool is_samza_job_config(const Value& root) {
  return root.HasMember("samzaContainerIdToSSPTaskNames");
}

Result<void> check_spec(const JobSpec& spec) {
  if (!spec.docker_image.empty() && !spec.command.empty()) {
    return bad("give either 'dockerImage' or 'command', not both");
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos) {
      return bad(fmt::format("'env' has an invalid variable name '{}'", name));
    }
  }
  return {};
}

// --- JobModel ---------------------------------------------------------------------------------

Result<int> non_negative_int(const Value& value, std::string_view field) {
  if (!value.IsInt() || value.GetInt() < 0) {
    return bad(fmt::format("'{}' must be a non-negative integer", field));
  }
  return value.GetInt();
}

Result<void> check_ssps(const Value& list, std::string_view field) {
  if (!list.IsArray()) return bad(fmt::format("'{}' must be an array", field));
  for (const auto& ssp : list.GetArray()) {
    if (!ssp.IsObject() || !ssp.HasMember("system") || !ssp["system"].IsString() ||
        !ssp.HasMember("stream") || !ssp["stream"].IsString() || !ssp.HasMember("partition")) {
      return bad(fmt::format("'{}' entries need \"system\", \"stream\" and \"partition\"", field));
    }
    if (auto p = non_negative_int(ssp["partition"], fmt::format("{}.partition", field)); !p) {
      return tl::unexpected(p.error());
    }
  }
  return {};
}

// One task of a container: task-name filled in when absent; changelog partition required.
Result<int> normalize_task(const std::string& name, Value& task, Allocator& allocator,
                           std::string_view where) {
  if (!task.IsObject()) return bad(fmt::format("'{}' must be an object", where));
  if (!task.HasMember("task-name")) {
    task.AddMember("task-name", json::string_value(name, allocator), allocator);
  } else if (!task["task-name"].IsString() || json::view(task["task-name"]) != name) {
    return bad(fmt::format("'{}.task-name' must equal its key \"{}\"", where, name));
  }
  if (!task.HasMember("system-stream-partitions")) {
    return bad(fmt::format("'{}.system-stream-partitions' is missing", where));
  }
  if (auto ok = check_ssps(task["system-stream-partitions"],
                           fmt::format("{}.system-stream-partitions", where));
      !ok) {
    return tl::unexpected(ok.error());
  }
  if (!task.HasMember("changelog-partition")) {
    return bad(fmt::format("'{}.changelog-partition' is missing", where));
  }
  return non_negative_int(task["changelog-partition"],
                          fmt::format("{}.changelog-partition", where));
}

// A container: its key must be its number; "container-id" (what Samza 0.10 reads) is added
// when a newer Samza wrote only "processor-id".
Result<void> normalize_container(const std::string& key, Value& container, Allocator& allocator,
                                 std::set<std::string>& task_names, int& max_changelog,
                                 std::size_t& task_count) {
  const std::string where = fmt::format("containers.{}", key);
  if (!container.IsObject()) return bad(fmt::format("'{}' must be an object", where));
  const int id = std::stoi(key);
  if (container.HasMember("container-id")) {
    if (!container["container-id"].IsInt() || container["container-id"].GetInt() != id) {
      return bad(fmt::format("'{}.container-id' must equal its key {}", where, key));
    }
  } else {
    container.AddMember("container-id", id, allocator);
  }
  if (container.HasMember("processor-id") &&
      (!container["processor-id"].IsString() || json::view(container["processor-id"]) != key)) {
    return bad(fmt::format("'{}.processor-id' must equal its key \"{}\"", where, key));
  }
  if (!container.HasMember("tasks") || !container["tasks"].IsObject()) {
    return bad(fmt::format("'{}.tasks' must be an object", where));
  }
  for (auto& member : json::members(container["tasks"])) {
    const std::string name(json::view(member.name));
    if (!task_names.insert(name).second) {
      return bad(fmt::format("task \"{}\" is in more than one container", name));
    }
    auto changelog =
        normalize_task(name, member.value, allocator, fmt::format("{}.tasks.{}", where, name));
    if (!changelog) return tl::unexpected(changelog.error());
    max_changelog = std::max(max_changelog, *changelog + 1);
    ++task_count;
  }
  return {};
}

bool is_index(std::string_view key) {
  return !key.empty() && key.size() <= 6 &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         (key == "0" || key[0] != '0');
}

// Checks a JobModel document and brings it to the shape every Samza from 0.10 reads: container
// keys "0".."N-1", string config values, "container-id" present, and
// max-change-log-stream-partitions = the largest changelog partition + 1. Other keys stay.
Result<JobModel> normalize_model(Document& doc) {
  if (!doc.IsObject()) return bad("the JobModel must be a JSON object");
  auto& allocator = doc.GetAllocator();
  if (!doc.HasMember("config")) return bad("'config' is missing");
  if (auto config = get_string_map(doc["config"], "config"); !config) {
    return tl::unexpected(config.error());
  }
  if (!doc.HasMember("containers") || !doc["containers"].IsObject() ||
      doc["containers"].MemberCount() == 0) {
    return bad("'containers' must be a non-empty object");
  }
  JobModel model;
  std::set<int> ids;
  std::set<std::string> task_names;
  for (auto& member : json::members(doc["containers"])) {
    const std::string key(json::view(member.name));
    if (!is_index(key)) return bad(fmt::format("container key \"{}\" is not a number", key));
    ids.insert(std::stoi(key));
    if (auto ok = normalize_container(key, member.value, allocator, task_names,
                                      model.max_changelog_partitions, model.task_count);
        !ok) {
      return tl::unexpected(ok.error());
    }
  }
  if (*ids.rbegin() != static_cast<int>(ids.size()) - 1) {
    return bad(fmt::format("container keys must be \"0\"..\"{}\"", ids.size() - 1));
  }
  for (int id : ids)
    model.container_ids.push_back(std::to_string(id));
  if (doc.HasMember("max-change-log-stream-partitions")) {
    doc["max-change-log-stream-partitions"].SetInt(model.max_changelog_partitions);
  } else {
    doc.AddMember("max-change-log-stream-partitions", model.max_changelog_partitions, allocator);
  }
  model.json = json::to_string(doc);
  return model;
}

// Heatblast's samzaContainerIdToSSPTaskNames: [{"containerId": 0,
// "taskNamesToSystemStreamPartitions": {"Partition 0": [ssp...]}}], or the same as an object keyed
// by container id. Each becomes (id, tasks object).
Result<std::vector<std::pair<std::string, const Value*>>> heatblast_containers(const Value& value) {
  constexpr std::string_view field = "samzaContainerIdToSSPTaskNames";
  std::vector<std::pair<std::string, const Value*>> out;
  if (value.IsObject()) {
    for (const auto& member : value.GetObject())
      out.emplace_back(std::string(json::view(member.name)), &member.value);
    return out;
  }
  if (!value.IsArray()) return bad(fmt::format("'{}' must be an array or an object", field));
  for (const auto& entry : value.GetArray()) {
    if (!entry.IsObject() || !entry.HasMember("containerId") ||
        !entry.HasMember("taskNamesToSystemStreamPartitions")) {
      return bad(fmt::format(
          "'{}' entries need \"containerId\" and \"taskNamesToSystemStreamPartitions\"", field));
    }
    auto id = non_negative_int(entry["containerId"], fmt::format("{}.containerId", field));
    if (!id) return tl::unexpected(id.error());
    out.emplace_back(std::to_string(*id), &entry["taskNamesToSystemStreamPartitions"]);
  }
  return out;
}

// Heatblast's SamzaJobConfig as a JobModel document.
Result<Document> job_model_from_heatblast(const Value& root) {
  Document doc;
  doc.SetObject();
  auto& allocator = doc.GetAllocator();
  if (!root.HasMember("samzaConfig")) return bad("'samzaConfig' is missing");
  Value config(root["samzaConfig"], allocator);
  doc.AddMember("config", config, allocator);
  auto containers = heatblast_containers(root["samzaContainerIdToSSPTaskNames"]);
  if (!containers) return tl::unexpected(containers.error());
  const Value* changelog = root.HasMember("samzaTaskNameToChangeLogPartitionMapping")
                               ? &root["samzaTaskNameToChangeLogPartitionMapping"]
                               : nullptr;
  if (!changelog || !changelog->IsObject()) {
    return bad("'samzaTaskNameToChangeLogPartitionMapping' must be an object");
  }
  Value out_containers(rapidjson::kObjectType);
  for (const auto& [id, tasks] : *containers) {
    if (!tasks->IsObject()) {
      return bad(
          fmt::format("'samzaContainerIdToSSPTaskNames' of container {} must be an object", id));
    }
    Value out_tasks(rapidjson::kObjectType);
    for (const auto& task : tasks->GetObject()) {
      const std::string_view name = json::view(task.name);
      if (!changelog->HasMember(task.name)) {
        return bad(fmt::format("'samzaTaskNameToChangeLogPartitionMapping' has no entry for \"{}\"",
                               name));
      }
      Value out_task(rapidjson::kObjectType);
      out_task.AddMember("task-name", json::string_value(name, allocator), allocator);
      out_task.AddMember("system-stream-partitions", Value(task.value, allocator), allocator);
      out_task.AddMember("changelog-partition", Value((*changelog)[task.name], allocator),
                         allocator);
      out_tasks.AddMember(json::string_value(name, allocator), out_task, allocator);
    }
    Value container(rapidjson::kObjectType);
    if (is_index(id)) container.AddMember("container-id", std::stoi(id), allocator);
    container.AddMember("tasks", out_tasks, allocator);
    out_containers.AddMember(json::string_value(id, allocator), container, allocator);
  }
  doc.AddMember("containers", out_containers, allocator);
  return doc;
}

Result<JobModel> model_from_heatblast(const Value& root) {
  auto doc = job_model_from_heatblast(root);
  if (!doc) return tl::unexpected(doc.error());
  return normalize_model(*doc);
}

void write_map(rapidjson::Writer<rapidjson::StringBuffer>& writer, std::string_view key,
               const std::map<std::string, std::string>& map) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  writer.StartObject();
  for (const auto& [name, value] : map) {
    writer.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  }
  writer.EndObject();
}

}  // namespace

bool valid_job_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_'; });
}

Result<Submission> parse_submission(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->IsObject()) return bad("the body must be a JSON object");
  Submission out;
  if (!doc->HasMember("jobName")) return bad("'jobName' is missing");
  auto name = get_string((*doc)["jobName"], "jobName");
  if (!name) return tl::unexpected(name.error());
  if (!valid_job_name(*name)) {
    return bad(
        fmt::format("'jobName' \"{}\" is invalid: use 1-63 letters, digits, '-' or '_', "
                    "starting and ending with a letter or digit",
                    *name));
  }
  out.spec.name = *name;
  const bool heatblast = is_samza_job_config(*doc);
  for (const auto& member : std::as_const(*doc).GetObject()) {
    const std::string_view key = json::view(member.name);
    if (key == "jobName" || (heatblast && (key == "samzaContainerIdToSSPTaskNames" ||
                                           key == "samzaTaskNameToChangeLogPartitionMapping"))) {
      continue;
    }
    auto applied = apply_field(key, member.value, out.spec);
    if (!applied) return tl::unexpected(applied.error());
    if (!*applied) return bad(fmt::format("unknown field '{}'", key));
  }
  if (auto ok = check_spec(out.spec); !ok) return tl::unexpected(ok.error());
  if (heatblast) {
    auto model = model_from_heatblast(*doc);
    if (!model) return tl::unexpected(model.error());
    out.model = std::move(*model);
  } else if (!out.spec.runnable()) {
    return bad("'dockerImage' (or 'command') is missing");
  }
  return out;
}

Result<JobSpec> apply_update(const JobSpec& current, std::string_view body) {
  auto doc = json::parse(body);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->IsObject()) return bad("the body must be a JSON object");
  JobSpec spec = current;
  for (const auto& member : std::as_const(*doc).GetObject()) {
    const std::string_view key = json::view(member.name);
    if (key == "jobName") {
      if (!member.value.IsString() || json::view(member.value) != current.name) {
        return bad("'jobName' cannot change");
      }
      continue;
    }
    auto applied = apply_field(key, member.value, spec);
    if (!applied) return tl::unexpected(applied.error());
    if (!*applied) return bad(fmt::format("unknown field '{}'", key));
  }
  // A new image replaces a command and the other way round.
  if (doc->HasMember("dockerImage") && !doc->HasMember("command")) spec.command.clear();
  if (doc->HasMember("command") && !doc->HasMember("dockerImage")) spec.docker_image.clear();
  if (auto ok = check_spec(spec); !ok) return tl::unexpected(ok.error());
  if (!spec.runnable()) return bad("'dockerImage' (or 'command') is missing");
  return spec;
}

Result<JobModel> parse_posted_model(std::string_view body, std::string_view job_name) {
  auto doc = json::parse(body);
  if (!doc) return tl::unexpected(doc.error());
  if (!doc->IsObject()) return bad("the body must be a JSON object");
  if (is_samza_job_config(*doc)) {
    if (!doc->HasMember("jobName") || !(*doc)["jobName"].IsString() ||
        json::view((*doc)["jobName"]) != job_name) {
      return bad(fmt::format("'jobName' must be \"{}\"", job_name));
    }
    return model_from_heatblast(*doc);
  }
  return normalize_model(*doc);
}

Result<JobModel> model_from_stored(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) return tl::unexpected(doc.error());
  return normalize_model(*doc);
}

std::string spec_to_json(const JobSpec& spec) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto string = [&](std::string_view key, const std::string& value) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  };
  writer.StartObject();
  string("jobName", spec.name);
  if (!spec.docker_image.empty()) string("dockerImage", spec.docker_image);
  if (!spec.command.empty()) string("command", spec.command);
  writer.Key("uris");
  writer.StartArray();
  for (const auto& uri : spec.uris)
    writer.String(uri.c_str(), static_cast<rapidjson::SizeType>(uri.size()));
  writer.EndArray();
  writer.Key("containerCpus");
  writer.Double(spec.container_cpus);
  writer.Key("containerMem");
  writer.Double(spec.container_mem);
  write_map(writer, "env", spec.env);
  string("javaOpts", spec.java_opts);
  write_map(writer, "config", spec.config);
  write_map(writer, "labels", spec.labels);
  if (!spec.role.empty()) string("role", spec.role);
  write_map(writer, "constraints", spec.constraints);
  writer.Key("restartPolicy");
  writer.StartObject();
  string("policy", spec.restart.policy);
  writer.Key("maxRestarts");
  writer.Int(spec.restart.max_restarts);
  writer.Key("backoffSeconds");
  writer.Double(spec.restart.backoff_seconds);
  writer.Key("maxBackoffSeconds");
  writer.Double(spec.restart.max_backoff_seconds);
  writer.EndObject();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<JobSpec> spec_from_json(std::string_view text) {
  auto submission = parse_submission(text);
  if (!submission) return tl::unexpected(submission.error());
  return std::move(submission->spec);
}

}  // namespace heatblast::samza
