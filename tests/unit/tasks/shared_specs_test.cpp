// SharedSpecs: one copy of a spec's content (all but the name) for the tasks that share it.
#include "tasks/shared_specs.hpp"

#include <catch2/catch.hpp>

using namespace heatblast::tasks;

namespace {

TaskSpec shaped(std::string name) {
  TaskSpec s;
  s.name = std::move(name);
  s.command.set_value("run-it");
  s.resources.scalars = {{"cpus", 0.5}, {"mem", 128}};
  s.restart.policy = RestartPolicy::always;
  return s;
}

}  // namespace

TEST_CASE("shared specs: tasks that differ only in their name share one copy", "[tasks]") {
  SharedSpecs specs;
  auto a = specs.intern(shaped("a"));
  auto b = specs.intern(shaped("b"));
  CHECK(a == b);
  CHECK(a->spec.name.empty());
  CHECK(a->spec.command.value() == "run-it");
  CHECK(specs.size() == 1);
}

TEST_CASE("shared specs: any other difference makes another copy", "[tasks]") {
  SharedSpecs specs;
  const auto base = specs.intern(shaped("base"));
  std::vector<TaskSpec> others(8, shaped("other"));
  others[0].command.set_value("run-other");
  others[1].resources.scalars["mem"] = 256;
  others[2].resources.port_count = 1;
  others[3].labels.add_labels()->set_key("k");
  others[4].restart.max_restarts = 3;
  others[5].timeout = std::chrono::milliseconds(10);
  others[6].constraints["rack"] = "r1";
  others[7].container.emplace().set_type(mesos::v1::ContainerInfo::MESOS);
  std::vector<std::shared_ptr<const SharedSpec>> held;
  for (auto& other : others) {
    held.push_back(specs.intern(other));
    CHECK(held.back() != base);
  }
  CHECK(specs.size() == 1 + others.size());
  // The shared copy is the spec as given.
  CHECK(held[1]->spec.resources.scalars.at("mem") == 256);
  CHECK(held[6]->spec.constraints.at("rack") == "r1");
}

TEST_CASE("shared specs: the last holder to go drops the copy", "[tasks]") {
  SharedSpecs specs;
  auto a = specs.intern(shaped("a"));
  auto b = specs.intern(shaped("b"));
  a.reset();
  CHECK(specs.size() == 1);  // b still holds it
  b.reset();
  CHECK(specs.size() == 0);
  // Made again when wanted again.
  auto c = specs.intern(shaped("c"));
  CHECK(c->spec.command.value() == "run-it");
  CHECK(specs.size() == 1);
}
