// samza-scheduler's payloads: POST /jobs bodies (Heatblast's included), PUT updates, the
// JobModel posted back by a job-info task, and the JobModel shape Samza 0.10 to 1.8 reads.
#include "job_model.hpp"

#include <string>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <catch2/catch.hpp>

namespace {

using namespace heatblast::samza;

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string error_of(const heatblast::Result<Submission>& result) {
  REQUIRE_FALSE(result.has_value());
  return result.error().what();
}

// What Heatblast's job image posted: its SamzaJobConfig, two containers, entries with
// containerId and taskNamesToSystemStreamPartitions.
const std::string kHeatblastConfig = R"({
  "jobName": "ExampleSamzaTask",
  "samzaConfig": {"job.name": "ExampleSamzaTask", "task.inputs": "kafka.tweets"},
  "samzaContainerIdToSSPTaskNames": [
    {"containerId": 0, "taskNamesToSystemStreamPartitions": {
      "Partition 0": [{"system": "kafka", "stream": "tweets", "partition": 0}],
      "Partition 2": [{"system": "kafka", "stream": "tweets", "partition": 2}]}},
    {"containerId": 1, "taskNamesToSystemStreamPartitions": {
      "Partition 1": [{"system": "kafka", "stream": "tweets", "partition": 1}]}}
  ],
  "samzaTaskNameToChangeLogPartitionMapping": {"Partition 0": 0, "Partition 1": 1, "Partition 2": 4}
})";

}  // namespace

TEST_CASE("Heatblast's README payload is a valid job with the defaults") {
  auto parsed = parse_submission(
      R"({"jobName": "ExampleSamzaTask", "dockerImage": "registry.example.com/heatblast-example-samza:latest"})");
  REQUIRE(parsed);
  CHECK(parsed->spec.name == "ExampleSamzaTask");
  CHECK(parsed->spec.docker_image == "registry.example.com/heatblast-example-samza:latest");
  CHECK(parsed->spec.container_cpus == 1.0);
  CHECK(parsed->spec.container_mem == 1024);
  CHECK(parsed->spec.restart.policy == "always");
  CHECK_FALSE(parsed->model.has_value());
}

TEST_CASE("the three curl bodies of Heatblast's README are accepted unchanged") {
  for (const char* name :
       {"ExampleSamzaTask", "RepartitionTweetsByUsernameTask", "CountTweetsByUsernameTask"}) {
    auto parsed = parse_submission(fmt::format(
        R"({{"jobName": "{}", "dockerImage": "registry.banno-internal.com/heatblast-example-samza:latest"}})",
        name));
    REQUIRE(parsed);
    CHECK(parsed->spec.name == name);
    CHECK(parsed->spec.runnable());
  }
}

TEST_CASE("every optional field is read") {
  auto parsed = parse_submission(R"({
    "jobName": "wiki-stats", "command": "/opt/job/run.sh", "uris": ["http://x/job.tgz"],
    "containerCpus": 0.5, "containerMem": 512, "env": {"A": "1"}, "javaOpts": "-Xmx400m",
    "config": {"task.window.ms": "1000"}, "labels": {"team": "data"}, "role": "samza",
    "constraints": [["rack", "CLUSTER", "r1"]],
    "restartPolicy": {"policy": "on_failure", "maxRestarts": 5, "backoffSeconds": 2,
                      "maxBackoffSeconds": 30}})");
  REQUIRE(parsed);
  const JobSpec& spec = parsed->spec;
  CHECK(spec.command == "/opt/job/run.sh");
  CHECK(spec.uris == std::vector<std::string>{"http://x/job.tgz"});
  CHECK(spec.container_cpus == 0.5);
  CHECK(spec.container_mem == 512);
  CHECK(spec.env.at("A") == "1");
  CHECK(spec.java_opts == "-Xmx400m");
  CHECK(spec.config.at("task.window.ms") == "1000");
  CHECK(spec.labels.at("team") == "data");
  CHECK(spec.role == "samza");
  CHECK(spec.constraints.at("rack") == "r1");
  CHECK(spec.restart.policy == "on_failure");
  CHECK(spec.restart.max_restarts == 5);
  CHECK(spec.restart.backoff_seconds == 2);
  CHECK(spec.restart.max_backoff_seconds == 30);

  // And it survives the state file.
  auto back = spec_from_json(spec_to_json(spec));
  REQUIRE(back);
  CHECK(spec_to_json(*back) == spec_to_json(spec));
}

TEST_CASE("bad input names the field") {
  CHECK_THAT(error_of(parse_submission("{")), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of(parse_submission("[]")), Catch::Contains("JSON object"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": "a", "dockerImage": "x"} trailing)")),
             Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of(parse_submission(R"({"dockerImage": "x"})")),
             Catch::Contains("'jobName' is missing"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": "a"})")), Catch::Contains("'dockerImage'"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": 5, "dockerImage": "x"})")),
             Catch::Contains("'jobName' must be a string"));
  CHECK_THAT(
      error_of(parse_submission(R"({"jobName": "a", "dockerImage": "x", "containerMem": -1})")),
      Catch::Contains("'containerMem'"));
  CHECK_THAT(
      error_of(parse_submission(R"({"jobName": "a", "dockerImage": "x", "config": {"k": 1}})")),
      Catch::Contains("'config.k' must be a string"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": "a", "dockerImage": "x", "colour": "red"})")),
             Catch::Contains("unknown field 'colour'"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": "a", "dockerImage": "x", "command": "y"})")),
             Catch::Contains("not both"));
  CHECK_THAT(error_of(parse_submission(
                 R"({"jobName": "a", "dockerImage": "x", "restartPolicy": {"policy": "often"}})")),
             Catch::Contains("restartPolicy.policy"));
  // Deep nesting is an error, not a crash.
  CHECK_THAT(error_of(parse_submission(std::string(100000, '[') + std::string(100000, ']'))),
             Catch::Contains("JSON object"));
}

TEST_CASE("job names are DNS-label-like") {
  CHECK(valid_job_name("ExampleSamzaTask"));
  CHECK(valid_job_name("wiki-stats_2"));
  CHECK(valid_job_name(std::string(63, 'a')));
  CHECK_FALSE(valid_job_name(""));
  CHECK_FALSE(valid_job_name(std::string(64, 'a')));
  CHECK_FALSE(valid_job_name("-a"));
  CHECK_FALSE(valid_job_name("a-"));
  CHECK_FALSE(valid_job_name("a.b"));
  CHECK_FALSE(valid_job_name("a/b"));
  CHECK_FALSE(valid_job_name("a b"));
  CHECK_FALSE(valid_job_name("a%2Fb"));
  CHECK_THAT(error_of(parse_submission(R"({"jobName": "../etc", "dockerImage": "x"})")),
             Catch::Contains("'jobName'"));
}

TEST_CASE("Heatblast's SamzaJobConfig becomes a JobModel that Samza 0.10 reads") {
  auto parsed = parse_submission(kHeatblastConfig);
  REQUIRE(parsed);
  CHECK_FALSE(parsed->spec.runnable());  // it names no image: the model of an existing job
  CHECK(parsed->spec.config.at("task.inputs") == "kafka.tweets");
  REQUIRE(parsed->model);
  const JobModel& model = *parsed->model;
  CHECK(model.container_ids == std::vector<std::string>{"0", "1"});
  CHECK(model.task_count == 3);
  CHECK(model.max_changelog_partitions == 5);

  auto doc = parse(model.json);
  CHECK(std::string(doc["config"]["job.name"].GetString()) == "ExampleSamzaTask");
  CHECK(doc["max-change-log-stream-partitions"].GetInt() == 5);
  const auto& c0 = doc["containers"]["0"];
  CHECK(c0["container-id"].GetInt() == 0);
  const auto& task = c0["tasks"]["Partition 2"];
  CHECK(std::string(task["task-name"].GetString()) == "Partition 2");
  CHECK(task["changelog-partition"].GetInt() == 4);
  const auto& ssp = task["system-stream-partitions"][0];
  CHECK(std::string(ssp["system"].GetString()) == "kafka");
  CHECK(std::string(ssp["stream"].GetString()) == "tweets");
  CHECK(ssp["partition"].GetInt() == 2);
  CHECK(doc["containers"]["1"]["container-id"].GetInt() == 1);

  // The same posted to the job-info URL.
  auto posted = parse_posted_model(kHeatblastConfig, "ExampleSamzaTask");
  REQUIRE(posted);
  CHECK(posted->json == model.json);
  auto wrong_job = parse_posted_model(kHeatblastConfig, "other");
  REQUIRE_FALSE(wrong_job);
  CHECK_THAT(wrong_job.error().what(), Catch::Contains("'jobName'"));
}

TEST_CASE("the SamzaJobConfig's container map may also be an object keyed by id") {
  auto parsed = parse_posted_model(R"({"jobName": "j", "samzaConfig": {},
    "samzaContainerIdToSSPTaskNames": {"0": {"Partition 0": [{"system": "kafka", "stream": "s", "partition": 0}]}},
    "samzaTaskNameToChangeLogPartitionMapping": {"Partition 0": 0}})",
                                   "j");
  REQUIRE(parsed);
  CHECK(parsed->container_ids == std::vector<std::string>{"0"});
  CHECK(parsed->max_changelog_partitions == 1);
}

TEST_CASE("a task missing from the changelog mapping is an error naming it") {
  auto parsed = parse_posted_model(R"({"jobName": "j", "samzaConfig": {},
    "samzaContainerIdToSSPTaskNames": [{"containerId": 0, "taskNamesToSystemStreamPartitions":
      {"Partition 7": [{"system": "kafka", "stream": "s", "partition": 7}]}}],
    "samzaTaskNameToChangeLogPartitionMapping": {}})",
                                   "j");
  REQUIRE_FALSE(parsed);
  CHECK_THAT(parsed.error().what(), Catch::Contains("Partition 7"));
}

TEST_CASE("a posted Samza JobModel is checked, completed, and keeps newer keys") {
  // As Samza 1.x writes it: processor-id instead of container-id, an extra task key.
  auto model = parse_posted_model(R"({"config": {"job.name": "j"},
    "containers": {
      "1": {"processor-id": "1", "tasks": {"Partition 1": {"task-name": "Partition 1",
            "system-stream-partitions": [{"system": "kafka", "stream": "s", "partition": 1}],
            "changelog-partition": 1, "task-mode": "Active"}}},
      "0": {"processor-id": "0", "tasks": {"Partition 0": {
            "system-stream-partitions": [{"system": "kafka", "stream": "s", "partition": 0}],
            "changelog-partition": 0}}}},
    "max-change-log-stream-partitions": 99, "samza-1.8-extra": {"x": [1]}})",
                                  "j");
  REQUIRE(model);
  CHECK(model->container_ids == std::vector<std::string>{"0", "1"});
  auto doc = parse(model->json);
  CHECK(doc["max-change-log-stream-partitions"].GetInt() == 2);  // recomputed
  CHECK(doc["containers"]["1"]["container-id"].GetInt() == 1);   // added for Samza 0.10
  CHECK(std::string(doc["containers"]["1"]["processor-id"].GetString()) == "1");
  CHECK(std::string(doc["containers"]["0"]["tasks"]["Partition 0"]["task-name"].GetString()) ==
        "Partition 0");
  CHECK(std::string(doc["containers"]["1"]["tasks"]["Partition 1"]["task-mode"].GetString()) ==
        "Active");
  CHECK(doc["samza-1.8-extra"]["x"][0].GetInt() == 1);

  auto stored = model_from_stored(model->json);
  REQUIRE(stored);
  CHECK(stored->json == model->json);
}

TEST_CASE("posted JobModels that Samza could not read are refused") {
  auto error = [](const std::string& body) {
    auto model = parse_posted_model(body, "j");
    REQUIRE_FALSE(model);
    return model.error().what();
  };
  const std::string task =
      R"({"system-stream-partitions": [{"system": "k", "stream": "s", "partition": 0}], "changelog-partition": 0})";
  CHECK_THAT(error(R"({"containers": {"0": {"tasks": {}}}})"), Catch::Contains("'config'"));
  CHECK_THAT(error(R"({"config": {"a": 1}, "containers": {"0": {"tasks": {}}}})"),
             Catch::Contains("'config.a' must be a string"));
  CHECK_THAT(error(R"({"config": {}, "containers": {}})"), Catch::Contains("'containers'"));
  CHECK_THAT(error(R"({"config": {}, "containers": {"0": {"tasks": {}}, "2": {"tasks": {}}}})"),
             Catch::Contains("\"0\"..\"1\""));
  CHECK_THAT(error(R"({"config": {}, "containers": {"x": {"tasks": {}}}})"),
             Catch::Contains("not a number"));
  CHECK_THAT(error(R"({"config": {}, "containers": {"0": {"container-id": 3, "tasks": {}}}})"),
             Catch::Contains("container-id"));
  CHECK_THAT(
      error(R"({"config": {}, "containers": {"0": {"tasks": {"T": {"changelog-partition": 0}}}}})"),
      Catch::Contains("system-stream-partitions"));
  CHECK_THAT(error(R"({"config": {}, "containers": {"0": {"tasks": {"T": )" + task +
                   R"(}}, "1": {"tasks": {"T": )" + task + "}}}}"),
             Catch::Contains("more than one container"));
  CHECK_THAT(
      error(
          R"({"config": {}, "containers": {"0": {"tasks": {"T": {"system-stream-partitions": [], "changelog-partition": -1}}}}})"),
      Catch::Contains("changelog-partition"));
}

TEST_CASE("PUT changes only the fields given") {
  auto base = parse_submission(
      R"({"jobName": "j", "dockerImage": "img:1", "env": {"A": "1"}, "containerMem": 256})");
  REQUIRE(base);
  auto updated = apply_update(base->spec, R"({"dockerImage": "img:2", "containerCpus": 2})");
  REQUIRE(updated);
  CHECK(updated->docker_image == "img:2");
  CHECK(updated->container_cpus == 2);
  CHECK(updated->container_mem == 256);
  CHECK(updated->env.at("A") == "1");

  auto to_command = apply_update(base->spec, R"({"command": "/bin/job"})");
  REQUIRE(to_command);
  CHECK(to_command->docker_image.empty());
  CHECK(to_command->command == "/bin/job");

  auto renamed = apply_update(base->spec, R"({"jobName": "k"})");
  REQUIRE_FALSE(renamed);
  CHECK_THAT(renamed.error().what(), Catch::Contains("'jobName'"));
  auto unknown = apply_update(base->spec, R"({"image": "x"})");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error().what(), Catch::Contains("unknown field 'image'"));
}
