#include "job.hpp"

#include <utility>

#include "json_util.hpp"

namespace heatblast::samza {
namespace {

constexpr JobState kStates[] = {JobState::submitted, JobState::computing_model, JobState::starting,
                                JobState::running,   JobState::degraded,        JobState::failed,
                                JobState::killing};

constexpr std::string_view kJobInfo = "job-info";
constexpr std::string_view kContainer = "container-";

}  // namespace

std::string_view to_string(JobState state) noexcept {
  switch (state) {
    case JobState::submitted:
      return "SUBMITTED";
    case JobState::computing_model:
      return "COMPUTING_MODEL";
    case JobState::starting:
      return "STARTING";
    case JobState::running:
      return "RUNNING";
    case JobState::degraded:
      return "DEGRADED";
    case JobState::failed:
      return "FAILED";
    case JobState::killing:
      return "KILLING";
  }
  return "UNKNOWN";
}

std::string job_to_json(const Job& job) {
  rapidjson::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  rapidjson::Document spec;
  spec.Parse(spec_to_json(job.spec).c_str());
  doc.AddMember("spec", rapidjson::Value(spec, a), a);
  doc.AddMember("state", json::string_value(to_string(job.state), a), a);
  doc.AddMember("reason", json::string_value(job.reason, a), a);
  doc.AddMember("token", json::string_value(job.token, a), a);
  if (job.model) {
    rapidjson::Document model;
    model.Parse(job.model->json.c_str());
    doc.AddMember("model", rapidjson::Value(model, a), a);
  }
  doc.AddMember("modelWanted", job.model_wanted, a);
  doc.AddMember("generation", job.generation, a);
  doc.AddMember("degraded", job.degraded, a);
  rapidjson::Value containers(rapidjson::kObjectType);
  for (const auto& [id, generation] : job.container_generation)
    containers.AddMember(json::string_value(id, a), rapidjson::Value(generation), a);
  doc.AddMember("containers", containers, a);
  return json::to_string(doc);
}

Result<Job> job_from_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) return tl::unexpected(doc.error());
  auto bad = [] { return fail(errc::invalid_argument, "malformed job record"); };
  if (!doc->IsObject() || !doc->HasMember("spec") || !doc->HasMember("state") ||
      !(*doc)["state"].IsString() || !doc->HasMember("token") || !(*doc)["token"].IsString() ||
      !doc->HasMember("generation") || !(*doc)["generation"].IsInt() ||
      !doc->HasMember("containers") || !(*doc)["containers"].IsObject()) {
    return bad();
  }
  Job job;
  auto spec = spec_from_json(json::to_string((*doc)["spec"]));
  if (!spec) return tl::unexpected(spec.error());
  job.spec = std::move(*spec);
  bool known = false;
  for (JobState state : kStates) {
    if (to_string(state) == json::view((*doc)["state"])) {
      job.state = state;
      known = true;
    }
  }
  if (!known) return bad();
  if (doc->HasMember("reason") && (*doc)["reason"].IsString()) {
    job.reason = std::string(json::view((*doc)["reason"]));
  }
  job.token = std::string(json::view((*doc)["token"]));
  if (doc->HasMember("model")) {
    auto model = model_from_stored(json::to_string((*doc)["model"]));
    if (!model) return tl::unexpected(model.error());
    job.model = std::move(*model);
  }
  job.model_wanted = doc->HasMember("modelWanted") && (*doc)["modelWanted"].IsBool() &&
                     (*doc)["modelWanted"].GetBool();
  job.degraded =
      doc->HasMember("degraded") && (*doc)["degraded"].IsBool() && (*doc)["degraded"].GetBool();
  job.generation = (*doc)["generation"].GetInt();
  for (const auto& member : std::as_const((*doc)["containers"]).GetObject()) {
    if (!member.value.IsInt()) return bad();
    job.container_generation[std::string(json::view(member.name))] = member.value.GetInt();
  }
  return job;
}

std::string job_info_task_name(std::string_view job) {
  return fmt::format("{}.{}", job, kJobInfo);
}

std::string container_task_name(std::string_view job, std::string_view container_id) {
  return fmt::format("{}.{}{}", job, kContainer, container_id);
}

std::optional<TaskOwner> owner_of(std::string_view task_name) {
  const auto dot = task_name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  TaskOwner owner{std::string(task_name.substr(0, dot)), std::nullopt};
  const std::string_view rest = task_name.substr(dot + 1);
  if (rest == kJobInfo) return owner;
  if (rest.starts_with(kContainer) && rest.size() > kContainer.size()) {
    owner.container_id = std::string(rest.substr(kContainer.size()));
    return owner;
  }
  return std::nullopt;
}

}  // namespace heatblast::samza
