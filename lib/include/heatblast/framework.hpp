// heatblast::tasks::Framework: a scheduler Client and a TaskManager wired together, the one
// obvious way to write a framework that runs tasks. It owns both, so no lifetime is left to get
// wrong; the program passes its own handlers and ChangeHandler.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>

#include "heatblast/error.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/tasks.hpp"

namespace heatblast::tasks {

// Every event goes to the TaskManager first, then to the program's Handlers::on_event; the
// program's known_tasks (if any) is asked in addition to the manager's. on_log and on_fatal of
// `handlers` also receive the manager's reports unless `manager_options` sets its own.
//
// Construct, then start(); nothing connects in the constructor. All members must be called on
// `executor`. The program's handlers and ChangeHandler may use client() and tasks(), and may
// call stop(). ManagerOptions::store must outlive the Framework. The destructor stops the
// client (no TEARDOWN): no handler runs after it.
class Framework {
 public:
  Framework(boost::asio::any_io_executor executor, scheduler::Options options,
            ManagerOptions manager_options, scheduler::Handlers handlers = {},
            TaskManager::ChangeHandler on_change = {});
  ~Framework();

  Framework(const Framework&) = delete;
  Framework& operator=(const Framework&) = delete;

  // Loads the manager's store, then starts the client. Errors of either (a bad master list,
  // an unreadable store); errc::invalid_argument when called twice.
  Result<void> start();
  // Stops the client (idempotent).
  void stop();

  scheduler::Client& client() noexcept { return *client_; }
  TaskManager& tasks() noexcept { return *manager_; }
  const TaskManager& tasks() const noexcept { return *manager_; }

 private:
  // Declared in this order so that the manager, which refers to the client, goes first.
  std::unique_ptr<scheduler::Client> client_;
  std::unique_ptr<TaskManager> manager_;
  bool started_ = false;
};

}  // namespace heatblast::tasks
