#include "simulated_runner.hpp"

#include <csignal>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

namespace heatblast::local_master {
namespace {

Result<double> parse_seconds(const std::string& key, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(value >= 0) || value > 9.2e9) {
    return fail(errc::invalid_argument,
                fmt::format("label '{}': '{}' is not a number of seconds", key, text));
  }
  return value;
}

Result<int> parse_int(const std::string& key, const std::string& text) {
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size() || value < 0 || value > 255) {
    return fail(errc::invalid_argument,
                fmt::format("label '{}': '{}' is not an integer in [0, 255]", key, text));
  }
  return static_cast<int>(value);
}

Duration seconds(double value) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

}  // namespace

Result<SimulatedScript> script_from_labels(const mesos::v1::TaskInfo& task,
                                           const SimulatedScript& defaults) {
  SimulatedScript script = defaults;
  for (const auto& label : task.labels().labels()) {
    const std::string& key = label.key();
    const std::string& value = label.value();
    if (key == "sim.start_delay") {
      auto parsed = parse_seconds(key, value);
      if (!parsed) return tl::unexpected(parsed.error());
      script.start_delay = seconds(*parsed);
    } else if (key == "sim.duration") {
      if (value == "inf" || value == "infinite") {
        script.duration.reset();
      } else {
        auto parsed = parse_seconds(key, value);
        if (!parsed) return tl::unexpected(parsed.error());
        script.duration = seconds(*parsed);
      }
    } else if (key == "sim.exit_code") {
      auto parsed = parse_int(key, value);
      if (!parsed) return tl::unexpected(parsed.error());
      script.exit_code = *parsed;
    } else if (key == "sim.signal") {
      auto parsed = parse_int(key, value);
      if (!parsed) return tl::unexpected(parsed.error());
      script.signal = *parsed;
    } else if (key == "sim.launch_failure") {
      script.launch_failure = value;
    } else if (key == "sim.ignore_sigterm") {
      if (value != "true" && value != "false") {
        return fail(errc::invalid_argument,
                    fmt::format("label '{}': '{}' is not 'true' or 'false'", key, value));
      }
      script.ignore_sigterm = value == "true";
    } else if (key == "sim.term_delay") {
      auto parsed = parse_seconds(key, value);
      if (!parsed) return tl::unexpected(parsed.error());
      script.term_delay = seconds(*parsed);
    }
  }
  return script;
}

SimulatedRunner::SimulatedRunner(SimulatedRunnerOptions options) : options_(std::move(options)) {}

void SimulatedRunner::schedule(TimePoint when, Scheduled what) {
  schedule_.emplace(when, std::move(what));
}

void SimulatedRunner::launch(const LaunchSpec& spec, TimePoint now) {
  auto script = script_from_labels(spec.task, options_.defaults);
  if (!script) {
    schedule(now, {spec.container_id, Step::fail_launch, {}, script.error().message});
    return;
  }
  if (script->launch_failure) {
    schedule(now, {spec.container_id, Step::fail_launch, {}, *script->launch_failure});
    return;
  }
  tasks_[spec.container_id] = SimTask{*script, false, false};
  const TimePoint running_at = now + script->start_delay;
  schedule(running_at, {spec.container_id, Step::run, {}, {}});
  if (script->duration) {
    const Termination end = script->signal ? Termination::signaled(*script->signal)
                                           : Termination::exited(script->exit_code);
    schedule(running_at + *script->duration, {spec.container_id, Step::end, end, {}});
  }
}

void SimulatedRunner::signal(std::string_view container_id, TaskSignal signal, TimePoint now) {
  const std::string id(container_id);
  signals_[id].push_back(signal);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  SimTask& task = it->second;
  if (signal == TaskSignal::kill) {
    task.ending = true;
    schedule(now, {id, Step::end, Termination::signaled(SIGKILL), {}});
  } else if (!task.script.ignore_sigterm && !task.ending) {
    task.ending = true;
    schedule(now + task.script.term_delay, {id, Step::end, Termination::signaled(SIGTERM), {}});
  }
}

void SimulatedRunner::adopt(const Adoption& adoption, TimePoint now) {
  schedule(now, {adoption.container_id, Step::end_unknown, Termination::unknown(),
                 "simulated tasks do not survive a restart of local-master"});
}

std::vector<RunnerEvent> SimulatedRunner::poll(TimePoint now) {
  std::vector<RunnerEvent> events;
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    Scheduled step = std::move(schedule_.begin()->second);
    schedule_.erase(schedule_.begin());
    RunnerEvent event;
    event.container_id = step.container_id;
    switch (step.step) {
      case Step::fail_launch:
        event.kind = RunnerEvent::Kind::launch_failed;
        event.message = std::move(step.message);
        events.push_back(std::move(event));
        break;
      case Step::end_unknown:
        event.kind = RunnerEvent::Kind::exited;
        event.termination = step.termination;
        event.message = std::move(step.message);
        events.push_back(std::move(event));
        break;
      case Step::run: {
        auto it = tasks_.find(step.container_id);
        // A task killed before it started never reports running.
        if (it == tasks_.end() || it->second.ending || it->second.running) break;
        it->second.running = true;
        event.kind = RunnerEvent::Kind::running;
        events.push_back(std::move(event));
        break;
      }
      case Step::end: {
        auto it = tasks_.find(step.container_id);
        if (it == tasks_.end()) break;  // ended earlier (a signal overtook the script)
        tasks_.erase(it);
        event.kind = RunnerEvent::Kind::exited;
        event.termination = step.termination;
        events.push_back(std::move(event));
        break;
      }
    }
  }
  return events;
}

std::optional<TimePoint> SimulatedRunner::next_deadline() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first;
}

const std::vector<TaskSignal>& SimulatedRunner::signals_of(const std::string& container_id) const {
  static const std::vector<TaskSignal> kNone;
  auto it = signals_.find(container_id);
  return it == signals_.end() ? kNone : it->second;
}

}  // namespace heatblast::local_master
