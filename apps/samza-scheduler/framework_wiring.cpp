#include "framework_wiring.hpp"

#include <fmt/format.h>

namespace heatblast::samza {

using mesos::v1::scheduler::Event;

Framework::Framework(boost::asio::any_io_executor executor, scheduler::Options client_options,
                     tasks::ManagerOptions manager_options, store::SqliteStore& store,
                     FrameworkCallbacks callbacks)
    : store_(store), callbacks_(std::move(callbacks)) {
  scheduler::Handlers handlers;
  handlers.on_event = [this](const Event& event) {
    if (event.type() == Event::UPDATE) {
      const auto& status = event.update().status();
      reasons_[status.task_id().value()] =
          status.has_reason() ? mesos::v1::TaskStatus::Reason_Name(status.reason()) : "";
    }
    manager_->handle_event(event);
    if (callbacks_.on_event) callbacks_.on_event(event);
  };
  handlers.on_framework_id = [this](const mesos::v1::FrameworkID& id) {
    // Stored before the SUBSCRIBED that names it is handled, so a restart resumes it.
    if (auto saved = store_.set_framework_id(id.value()); !saved && callbacks_.on_log) {
      callbacks_.on_log(scheduler::LogLevel::error,
                        fmt::format("cannot store the framework id: {}", saved.error().what()));
    }
  };
  handlers.on_fatal = [this](const Error& error) {
    if (callbacks_.on_fatal) callbacks_.on_fatal(error);
  };
  handlers.known_tasks = [this] { return manager_->known_tasks(); };
  handlers.on_log = [this](scheduler::LogLevel level, std::string_view message) {
    if (callbacks_.on_log) callbacks_.on_log(level, message);
  };
  client_ = std::make_unique<scheduler::Client>(std::move(executor), std::move(client_options),
                                                std::move(handlers));
  manager_options.store = &store_;
  manager_ = std::make_unique<tasks::TaskManager>(*client_, std::move(manager_options),
                                                  [this](const tasks::TaskChange& change) {
                                                    if (callbacks_.on_change)
                                                      callbacks_.on_change(change);
                                                  });
}

Framework::~Framework() {
  stop();
}

Result<void> Framework::start() {
  if (auto loaded = manager_->load(); !loaded) return loaded;
  return client_->start();
}

void Framework::stop() {
  if (client_) client_->stop();
}

}  // namespace heatblast::samza
