// TestFramework: a framework on the real scheduler client that records what it saw (events,
// states, logs, framework ids, a fatal error, the outstanding offers), for tests that drive
// the client against a master (usually LocalMaster) and wait on what it reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "heatblast/resources.hpp"
#include "heatblast/scheduler.hpp"
#include "support/wait_for.hpp"

namespace heatblast::testing {

using namespace std::chrono_literals;

class TestFramework {
 public:
  using Client = scheduler::Client;
  using Event = scheduler::Event;
  using State = scheduler::State;

  TestFramework(boost::asio::io_context& io, std::vector<std::string> masters, ContentType type,
                const std::function<void(scheduler::Options&)>& tweak = {})
      : io_(io) {
    options_.masters = std::move(masters);
    options_.framework.set_user("tester");
    options_.framework.set_name("integration-test");
    options_.content_type = type;
    options_.backoff = {.initial = 50ms, .max = 200ms, .multiplier = 2, .jitter = 0.5};
    options_.heartbeat_misses = 3;
    options_.call_timeout = 5s;
    options_.connect_timeout = 2s;
    if (tweak) tweak(options_);
  }

  ~TestFramework() { client_.reset(); }
  TestFramework(const TestFramework&) = delete;
  TestFramework& operator=(const TestFramework&) = delete;

  // Called from on_state, after the state was recorded (e.g. to lift a fault at the right time).
  std::function<void(State state)> on_state_hook;
  // What Handlers::known_tasks answers.
  std::vector<scheduler::Call::Reconcile::Task> known_tasks;

  const scheduler::Options& options() const { return options_; }

  Client& client() {
    if (!client_) FAIL("the client was not started");
    return *client_;
  }

  void start() {
    client_ = std::make_unique<Client>(io_.get_executor(), options_, handlers());
    auto started = client_->start();
    if (!started) FAIL("Client::start failed: " << started.error().what());
  }

  void wait_subscribed(std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, "the client to be subscribed", [&] { return client_->state() == State::subscribed; },
        limit, [&] { return history(); });
  }
  // Waits until `n` SUBSCRIBED events in all have been seen (n = 2: one resubscription).
  void wait_subscriptions(std::uint64_t n, std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, fmt::format("subscription #{}", n),
        [&] { return client_->counters().subscriptions >= n && subscribed(); }, limit,
        [&] { return history(); });
  }
  bool subscribed() const { return client_ && client_->state() == State::subscribed; }

  // The next outstanding offer (waiting for one), removed from the set.
  mesos::v1::Offer take_offer(std::chrono::milliseconds limit = 5s) {
    wait_for(
        io_, "an offer", [&] { return !offers_.empty(); }, limit, [&] { return history(); });
    auto offer = offers_.begin()->second;
    offers_.erase(offers_.begin());
    return offer;
  }
  const std::map<std::string, mesos::v1::Offer>& offers() const { return offers_; }

  // A command task using cpus 0.1 and mem 32 of `offer`.
  mesos::v1::TaskInfo command_task(const std::string& id, const std::string& command,
                                   const mesos::v1::Offer& offer) const {
    mesos::v1::TaskInfo task = task_on(id, offer);
    task.mutable_command()->set_value(command);
    return task;
  }
  // A command task for a SimulatedRunner, scripted by `sim.*` labels.
  mesos::v1::TaskInfo simulated_task(const std::string& id, const mesos::v1::Offer& offer,
                                     const std::map<std::string, std::string>& labels) const {
    mesos::v1::TaskInfo task = command_task(id, "simulated", offer);
    for (const auto& [key, value] : labels) {
      auto* label = task.mutable_labels()->add_labels();
      label->set_key(key);
      label->set_value(value);
    }
    return task;
  }

  // ACCEPT `offer` launching `tasks`, unused resources back at once (no decline filter).
  void launch(const mesos::v1::Offer& offer, std::vector<mesos::v1::TaskInfo> tasks) {
    mesos::v1::Filters filters;
    filters.set_refuse_seconds(0);
    client().launch({offer.id()}, std::move(tasks), filters,
                    [this](Result<void> r) { call_results_.push_back(std::move(r)); });
  }

  // Every UPDATE's status for `task_id`, in arrival order, from the `from`-th event on.
  std::vector<mesos::v1::TaskStatus> updates(const std::string& task_id,
                                             std::size_t from = 0) const {
    std::vector<mesos::v1::TaskStatus> out;
    for (std::size_t i = from; i < events_.size(); ++i) {
      const auto& event = events_[i];
      if (event.type() == Event::UPDATE && event.update().status().task_id().value() == task_id) {
        out.push_back(event.update().status());
      }
    }
    return out;
  }
  bool saw_state(const std::string& task_id, mesos::v1::TaskState state,
                 std::size_t from = 0) const {
    for (const auto& status : updates(task_id, from)) {
      if (status.state() == state) return true;
    }
    return false;
  }
  void wait_task_state(const std::string& task_id, mesos::v1::TaskState state,
                       std::chrono::milliseconds limit = 5s, std::size_t from = 0) {
    wait_for(
        io_, fmt::format("task '{}' to reach {}", task_id, mesos::v1::TaskState_Name(state)),
        [&] { return saw_state(task_id, state, from); }, limit, [&] { return history(); });
  }

  std::size_t count(Event::Type type, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < events_.size(); ++i)
      n += events_[i].type() == type;
    return n;
  }
  bool logged(scheduler::LogLevel level, std::string_view text) const {
    for (const auto& [l, message] : logs_) {
      if (l == level && message.find(text) != std::string::npos) return true;
    }
    return false;
  }

  const std::vector<Event>& events() const { return events_; }
  const std::vector<std::string>& framework_ids() const { return framework_ids_; }
  const std::vector<std::pair<State, std::string>>& states() const { return states_; }
  const std::optional<Error>& fatal() const { return fatal_; }
  const std::vector<Result<void>>& call_results() const { return call_results_; }

  // What happened so far, for failure messages: state changes, updates, the last log lines.
  std::string history() const {
    std::string out = "client history:\n  states:";
    for (const auto& [state, reason] : states_)
      out += fmt::format("\n    {} ({})", scheduler::to_string(state), reason);
    out += "\n  updates:";
    for (const auto& event : events_) {
      if (event.type() != Event::UPDATE) continue;
      const auto& s = event.update().status();
      out += fmt::format("\n    '{}' {}{}{}", s.task_id().value(),
                         mesos::v1::TaskState_Name(s.state()),
                         s.has_reason() ? " " + mesos::v1::TaskStatus::Reason_Name(s.reason()) : "",
                         s.has_uuid() ? " (uuid)" : "");
      if (!s.message().empty()) out += ": " + s.message();
    }
    out += "\n  last log lines:";
    const std::size_t from = logs_.size() > 12 ? logs_.size() - 12 : 0;
    for (std::size_t i = from; i < logs_.size(); ++i)
      out += "\n    " + logs_[i].second;
    if (fatal_) out += "\n  fatal: " + fatal_->what();
    if (client_) {
      const auto counters = client_->counters();
      out += fmt::format(
          "\n  counters: subscriptions {}, reconnects {}, redirects {}, heartbeat timeouts {}, "
          "acknowledgements {}",
          counters.subscriptions, counters.reconnects, counters.redirects,
          counters.heartbeat_timeouts, counters.acknowledgements);
    }
    return out;
  }

 private:
  static mesos::v1::TaskInfo task_on(const std::string& id, const mesos::v1::Offer& offer) {
    mesos::v1::TaskInfo task;
    task.set_name(id);
    task.mutable_task_id()->set_value(id);
    *task.mutable_agent_id() = offer.agent_id();
    auto offered = offer_resources(offer);
    if (!offered) FAIL("the offer's resources are invalid: " << offered.error().what());
    ResourceNeed need;
    need.scalars = {{"cpus", 0.1}, {"mem", 32}};
    auto resources = allocate(need, *offered);
    if (!resources) FAIL("the offer is too small: " << resources.error().what());
    for (auto& resource : *resources)
      *task.add_resources() = std::move(resource);
    return task;
  }

  scheduler::Handlers handlers() {
    scheduler::Handlers h;
    h.on_event = [this](const Event& event) {
      events_.push_back(event);
      if (event.type() == Event::OFFERS) {
        for (const auto& offer : event.offers().offers())
          offers_[offer.id().value()] = offer;
      } else if (event.type() == Event::RESCIND) {
        offers_.erase(event.rescind().offer_id().value());
      }
    };
    h.on_framework_id = [this](const mesos::v1::FrameworkID& id) {
      framework_ids_.push_back(id.value());
    };
    h.on_state = [this](State state, std::string_view reason) {
      states_.emplace_back(state, std::string(reason));
      if (state != State::subscribed) offers_.clear();  // void once the subscription is gone
      if (on_state_hook) on_state_hook(state);
    };
    h.on_fatal = [this](const Error& error) { fatal_ = error; };
    h.known_tasks = [this] { return known_tasks; };
    h.on_log = [this](scheduler::LogLevel level, std::string_view message) {
      logs_.emplace_back(level, std::string(message));
    };
    return h;
  }

  boost::asio::io_context& io_;
  scheduler::Options options_;
  std::vector<Event> events_;
  std::vector<std::string> framework_ids_;
  std::vector<std::pair<State, std::string>> states_;
  std::vector<std::pair<scheduler::LogLevel, std::string>> logs_;
  std::optional<Error> fatal_;
  std::map<std::string, mesos::v1::Offer> offers_;
  std::vector<Result<void>> call_results_;
  std::unique_ptr<Client> client_;
};

}  // namespace heatblast::testing
