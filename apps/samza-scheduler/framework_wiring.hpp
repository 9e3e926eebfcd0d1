// The one place where samza-scheduler wires the library's scheduler::Client and
// tasks::TaskManager together (events into the manager, known tasks into reconciliation, the
// framework id into the store), so that a change of that wiring touches this file only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "heatblast/error.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/store.hpp"
#include "heatblast/tasks.hpp"

namespace heatblast::samza {

// What the program hears from the framework. Every callback runs on the executor.
struct FrameworkCallbacks {
  // Inside the TaskManager: read it, change nothing (post changes to the executor).
  std::function<void(const tasks::TaskChange& change)> on_change;
  // Every event, after the TaskManager has seen it.
  std::function<void(const mesos::v1::scheduler::Event& event)> on_event;
  // The session ended for good (see scheduler::Handlers::on_fatal).
  std::function<void(const Error& error)> on_fatal;
  std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
};

// Owns the client and the manager. Construct, then start(); stop() is idempotent. The store
// must outlive this object.
class Framework {
 public:
  Framework(boost::asio::any_io_executor executor, scheduler::Options client_options,
            tasks::ManagerOptions manager_options, store::SqliteStore& store,
            FrameworkCallbacks callbacks);
  ~Framework();

  Framework(const Framework&) = delete;
  Framework& operator=(const Framework&) = delete;

  // Loads the stored tasks into the manager (to adopt them), then connects.
  Result<void> start();
  void stop();

  tasks::TaskManager& tasks() { return *manager_; }
  const tasks::TaskManager& tasks() const { return *manager_; }
  const scheduler::Client& client() const { return *client_; }

  // The reason (TaskStatus.Reason name) of the latest status of each task id seen.
  const std::map<std::string, std::string>& last_reasons() const { return reasons_; }

 private:
  store::SqliteStore& store_;
  FrameworkCallbacks callbacks_;
  std::map<std::string, std::string> reasons_;
  std::unique_ptr<scheduler::Client> client_;
  std::unique_ptr<tasks::TaskManager> manager_;
};

}  // namespace heatblast::samza
