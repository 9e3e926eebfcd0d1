// SimulatedRunner: scripted lifecycles driven only by the times passed in.
#include <catch2/catch.hpp>

#include <csignal>

#include "simulated_runner.hpp"

namespace {

using namespace heatblast::local_master;
using std::chrono::seconds;

LaunchSpec sim_task(const std::string& id,
                    std::vector<std::pair<std::string, std::string>> labels) {
  LaunchSpec spec;
  spec.container_id = "c-" + id;
  spec.task.mutable_task_id()->set_value(id);
  for (auto& [key, value] : labels) {
    auto* label = spec.task.mutable_labels()->add_labels();
    label->set_key(key);
    label->set_value(value);
  }
  return spec;
}

const TimePoint kStart = TimePoint(std::chrono::hours(1000));

}  // namespace

TEST_CASE("script_from_labels reads the sim.* labels over the defaults") {
  SimulatedScript defaults;
  auto script = script_from_labels(sim_task("t", {{"sim.start_delay", "1.5"},
                                                  {"sim.duration", "inf"},
                                                  {"sim.exit_code", "7"},
                                                  {"sim.ignore_sigterm", "true"},
                                                  {"other", "ignored"}})
                                       .task,
                                   defaults);
  REQUIRE(script);
  CHECK(script->start_delay == std::chrono::milliseconds(1500));
  CHECK_FALSE(script->duration);
  CHECK(script->exit_code == 7);
  CHECK(script->ignore_sigterm);
  auto bad = script_from_labels(sim_task("t", {{"sim.duration", "soon"}}).task, defaults);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("sim.duration"));
}

TEST_CASE("SimulatedRunner: running after the start delay, exited after the duration") {
  SimulatedRunner runner;
  runner.launch(
      sim_task("t", {{"sim.start_delay", "2"}, {"sim.duration", "5"}, {"sim.exit_code", "4"}}),
      kStart);
  CHECK(runner.next_deadline() == kStart + seconds(2));
  CHECK(runner.poll(kStart + seconds(1)).empty());
  auto running = runner.poll(kStart + seconds(2));
  REQUIRE(running.size() == 1);
  CHECK(running[0].kind == RunnerEvent::Kind::running);
  CHECK(runner.poll(kStart + seconds(6)).empty());
  auto exited = runner.poll(kStart + seconds(7));
  REQUIRE(exited.size() == 1);
  CHECK(exited[0].kind == RunnerEvent::Kind::exited);
  CHECK(exited[0].termination.kind == Termination::Kind::exited);
  CHECK(exited[0].termination.code == 4);
  CHECK(runner.live_tasks() == 0);
  CHECK_FALSE(runner.next_deadline());
}

TEST_CASE("SimulatedRunner: signals end tasks, ignore_sigterm needs SIGKILL") {
  SimulatedRunner runner;
  runner.launch(sim_task("polite", {{"sim.duration", "inf"}}), kStart);
  runner.launch(sim_task("stubborn", {{"sim.duration", "inf"}, {"sim.ignore_sigterm", "true"}}),
                kStart);
  CHECK(runner.poll(kStart).size() == 2);
  runner.signal("c-polite", TaskSignal::terminate, kStart + seconds(1));
  runner.signal("c-stubborn", TaskSignal::terminate, kStart + seconds(1));
  auto ended = runner.poll(kStart + seconds(1));
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].container_id == "c-polite");
  CHECK(ended[0].termination.kind == Termination::Kind::signaled);
  CHECK(ended[0].termination.code == SIGTERM);
  runner.signal("c-stubborn", TaskSignal::kill, kStart + seconds(4));
  auto killed = runner.poll(kStart + seconds(4));
  REQUIRE(killed.size() == 1);
  CHECK(killed[0].termination.code == SIGKILL);
  CHECK(runner.signals_of("c-stubborn") ==
        std::vector<TaskSignal>{TaskSignal::terminate, TaskSignal::kill});
}

TEST_CASE("SimulatedRunner: launch failures and adoptions") {
  SimulatedRunner runner;
  runner.launch(sim_task("f", {{"sim.launch_failure", "boom"}}), kStart);
  runner.adopt({"c-old", "/sandbox", 123, 123}, kStart);
  auto events = runner.poll(kStart);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == RunnerEvent::Kind::launch_failed);
  CHECK(events[0].message == "boom");
  CHECK(events[1].kind == RunnerEvent::Kind::exited);
  CHECK(events[1].termination.kind == Termination::Kind::unknown);
}

TEST_CASE("SimulatedRunner handles thousands of tasks") {
  SimulatedRunner runner;
  for (int i = 0; i < 5000; ++i) {
    runner.launch(sim_task(std::to_string(i), {{"sim.duration", std::to_string(i % 10)}}), kStart);
  }
  std::size_t exited = 0;
  for (int s = 0; s <= 10; ++s) {
    for (const auto& event : runner.poll(kStart + seconds(s))) {
      if (event.kind == RunnerEvent::Kind::exited) ++exited;
    }
  }
  CHECK(exited == 5000);
}
