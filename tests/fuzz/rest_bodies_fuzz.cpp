// Every REST request body the programs accept, the first byte choosing which:
//   samza-scheduler: POST /jobs (parse_submission), PUT /jobs/{name} (apply_update), a model
//   posted to the job-info URL (parse_posted_model), and its state file's records
//   (spec_from_json, model_from_stored, job_from_json);
//   load-tester: the report a worker posts (load::decode).
// etl-scheduler serves only GET /health and reads no body.
#include <cstdlib>

#include "fuzz_input.hpp"
#include "load-tester/figures.hpp"
#include "samza-scheduler/job.hpp"
#include "samza-scheduler/job_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace heatblast;
  fuzz::Input input(data, size);
  const std::uint8_t which = input.byte() % 7;
  const std::string_view body = input.rest();
  switch (which) {
    case 0: {
      auto submission = samza::parse_submission(body);
      // A runnable submission is stored as it was accepted and must read back. One without an
      // image or a command (a bare SamzaJobConfig) is only ever a model for a stored job.
      if (submission && submission->spec.runnable()) {
        if (!samza::spec_from_json(samza::spec_to_json(submission->spec))) std::abort();
      }
      break;
    }
    case 1: {
      auto current = samza::parse_submission(
          R"({"jobName": "ExampleSamzaTask", "dockerImage": "registry.example.com/samza:1"})");
      if (!current) std::abort();
      auto updated = samza::apply_update(current->spec, body);
      if (updated && !samza::spec_from_json(samza::spec_to_json(*updated))) std::abort();
      break;
    }
    case 2:
      (void)samza::parse_posted_model(body, "ExampleSamzaTask");
      break;
    case 3:
      (void)samza::spec_from_json(body);
      break;
    case 4:
      (void)samza::model_from_stored(body);
      break;
    case 5: {
      auto job = samza::job_from_json(body);
      if (job && !samza::job_from_json(samza::job_to_json(*job))) std::abort();
      break;
    }
    case 6: {
      auto figures = load::decode(body);
      if (figures) {
        auto again = load::decode(load::encode(*figures));
        if (!again || again->queries != figures->queries) std::abort();
      }
      break;
    }
  }
  return 0;
}
