// samza-scheduler's job description and Samza JobModel: the POST /jobs payload (a job to run,
// or Heatblast's SamzaJobConfig), validated, and the JobModel JSON that Samza 0.10 to 1.8
// containers read from the coordinator URL. Pure functions over text; no I/O.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heatblast/error.hpp"

namespace heatblast::samza {

// How a job's containers are relaunched after they end (the tasks layer does the work).
struct RestartSpec {
  std::string policy = "always";  // "always", "on_failure" or "never"
  int max_restarts = -1;          // per container; -1: no limit
  double backoff_seconds = 1;     // first delay, doubled up to max_backoff_seconds
  double max_backoff_seconds = 60;
};

// What a job runs: a Docker image or a command, with the same arguments either way
// (`get-mesos-configs <jobName>` for the job-info task, `run-container` for a container).
struct JobSpec {
  std::string name;
  std::string docker_image;
  std::string command;
  std::vector<std::string> uris;
  double container_cpus = 1.0;
  double container_mem = 1024;  // MB
  std::map<std::string, std::string> env;
  std::string java_opts;
  std::map<std::string, std::string> config;  // Samza config given at submission
  std::map<std::string, std::string> labels;
  std::string role;
  std::map<std::string, std::string> constraints;  // agent attribute -> exact value
  RestartSpec restart;

  bool runnable() const { return !docker_image.empty() || !command.empty(); }
};

// A validated JobModel: `json` is what GET /jobs/{name}/coordinator serves.
struct JobModel {
  std::string json;
  std::vector<std::string> container_ids;  // "0".."N-1", in numeric order
  std::size_t task_count = 0;
  int max_changelog_partitions = 0;
};

// A parsed POST /jobs (or PUT) body: the job, and the model when the body carried one
// (Heatblast's SamzaJobConfig). A SamzaJobConfig alone names no image: `spec.runnable()` is false.
struct Submission {
  JobSpec spec;
  std::optional<JobModel> model;
};

// Job names are DNS-label-like (letters, digits, '-' and '_'; 1..63 characters; starting and
// ending with a letter or digit), so they are safe in task ids and URLs. Heatblast's own example
// name ("ExampleSamzaTask") has capitals, so capitals are allowed.
bool valid_job_name(std::string_view name);

// Parses a POST /jobs body. errc::invalid_argument with a message naming the field for bad JSON,
// a missing or wrongly typed field, or an invalid value.
Result<Submission> parse_submission(std::string_view body);

// Applies a PUT /jobs/{name} body to `current`: only the fields present change ("jobName", when
// present, must equal the current name). Errors as parse_submission().
Result<JobSpec> apply_update(const JobSpec& current, std::string_view body);

// A model posted to the job-info URL: a Samza JobModel, or Heatblast's SamzaJobConfig (told apart
// by `samzaContainerIdToSSPTaskNames`). `job_name` must match a SamzaJobConfig's jobName.
Result<JobModel> parse_posted_model(std::string_view body, std::string_view job_name);

// The JobSpec as JSON (the API's field names), and back (for the state file).
std::string spec_to_json(const JobSpec& spec);
Result<JobSpec> spec_from_json(std::string_view json);

// Re-validates a stored model's text (the state file).
Result<JobModel> model_from_stored(std::string_view json);

}  // namespace heatblast::samza
