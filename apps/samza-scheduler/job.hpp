// A job as samza-scheduler keeps it: what was submitted, where it is in its life, its model and
// the generation of each container (containers of an older generation are replaced one at a
// time). Stored as one JSON record per job in the state file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"
#include "job_model.hpp"

namespace heatblast::samza {

enum class JobState { submitted, computing_model, starting, running, degraded, failed, killing };

// "SUBMITTED", "COMPUTING_MODEL", ...
std::string_view to_string(JobState state) noexcept;

struct Job {
  JobSpec spec;
  JobState state = JobState::submitted;
  // Why the job is FAILED or DEGRADED, or the last problem seen (kept after it passed).
  std::string reason;
  std::string token;  // the job-info URL's secret
  std::optional<JobModel> model;
  bool model_wanted = true;  // a job-info run must (re)compute the model
  int generation = 1;
  std::map<std::string, int> container_generation;  // container id -> generation of its task
  bool degraded = false;  // a container ended on its own since the job last ran in full
};

std::string job_to_json(const Job& job);
Result<Job> job_from_json(std::string_view text);

// The TaskManager names of a job's tasks; Mesos task ids are "<name>.<suffix>".
std::string job_info_task_name(std::string_view job);
std::string container_task_name(std::string_view job, std::string_view container_id);

// Which job, and which container (nullopt: the job-info task), a task name belongs to.
struct TaskOwner {
  std::string job;
  std::optional<std::string> container_id;
};
std::optional<TaskOwner> owner_of(std::string_view task_name);

}  // namespace heatblast::samza
