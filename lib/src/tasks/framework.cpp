#include "heatblast/framework.hpp"

#include <utility>

namespace heatblast::tasks {

Framework::Framework(boost::asio::any_io_executor executor, scheduler::Options options,
                     ManagerOptions manager_options, scheduler::Handlers handlers,
                     TaskManager::ChangeHandler on_change) {
  if (!manager_options.on_log) manager_options.on_log = handlers.on_log;
  if (!manager_options.on_fatal) manager_options.on_fatal = handlers.on_fatal;
  scheduler::Handlers wired = handlers;
  // The client calls these only after start(), when manager_ exists.
  wired.on_event = [this, program = std::move(handlers.on_event)](const scheduler::Event& event) {
    manager_->handle_event(event);
    if (program) program(event);
  };
  wired.known_tasks = [this, program = std::move(handlers.known_tasks)] {
    auto tasks = manager_->known_tasks();
    if (program) {
      for (auto& task : program())
        tasks.push_back(std::move(task));
    }
    return tasks;
  };
  client_ = std::make_unique<scheduler::Client>(std::move(executor), std::move(options),
                                                std::move(wired));
  manager_ =
      std::make_unique<TaskManager>(*client_, std::move(manager_options), std::move(on_change));
}

Framework::~Framework() {
  // Before the manager goes: no handler may reach it afterwards.
  client_->stop();
}

Result<void> Framework::start() {
  if (started_) return fail(errc::invalid_argument, "Framework::start() was called already");
  started_ = true;
  if (auto loaded = manager_->load(); !loaded) return loaded;
  return client_->start();
}

void Framework::stop() {
  client_->stop();
}

}  // namespace heatblast::tasks
