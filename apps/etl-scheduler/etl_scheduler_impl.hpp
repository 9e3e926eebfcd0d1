// EtlScheduler::Impl: the scheduler's state and steps (private to etl-scheduler). Declared here,
// defined in etl_scheduler.cpp, in the style of the library's Client::Impl and TaskManager::Impl.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "etl_scheduler.hpp"
#include "heatblast/http_server.hpp"
#include "heatblast/store.hpp"

namespace heatblast::etl {
namespace detail {

// An exclusive lock on the state file (defined in etl_scheduler.cpp).
class FileLock;

// What the scheduler is doing. Every change goes through Impl::transition_to(), which logs it.
//   created -> running                  start()
//   running -> draining                 the last round (-rounds) is launched
//   running, draining -> stopping       shutdown() (SIGINT/SIGTERM)
//   draining, stopping -> tearing_down  every task has ended
//   tearing_down -> done                the master removed the framework: the exit status is known
//   any -> done                         a fatal error, or a third shutdown()
//   any -> stopped                      stop() (after done: the program's end)
enum class Mode { created, running, draining, stopping, tearing_down, done, stopped };

struct RoundState {
  int added = 0;       // tasks added to the manager in this round
  int next_index = 0;  // the <n> of the last name given out
  int finished = 0;
  int failed = 0;
  bool filled = false;
};

}  // namespace detail

class EtlScheduler::Impl : public std::enable_shared_from_this<Impl> {
 public:
  using Event = mesos::v1::scheduler::Event;
  using SteadyClock = std::chrono::steady_clock;
  using Mode = detail::Mode;

  Impl(boost::asio::any_io_executor executor, Flags flags, Logger& logger, Hooks hooks)
      : executor_(std::move(executor)),
        flags_(std::move(flags)),
        log_(logger),
        hooks_(std::move(hooks)),
        ticker_(executor_),
        retry_timer_(executor_) {}

  ~Impl();

  Result<void> start();
  void shutdown();
  void stop();

  std::optional<int> exit_status() const { return exit_status_; }
  Stats stats() const;
  bool gate_open() const { return gate_open_; }
  const tasks::TaskManager* task_manager() const { return manager_.get(); }
  const scheduler::Client* client() const { return client_.get(); }
  std::uint16_t health_port() const { return health_ ? health_->port() : 0; }

 private:
  bool ended() const { return mode_ == Mode::done || mode_ == Mode::stopped; }

  void transition_to(Mode next, std::string_view reason);

  // --- setting up ----------------------------------------------------------------------------

  Result<void> start_all();
  Result<void> open_state();
  Result<scheduler::Options> client_options() const;

  // The client and the TaskManager; again after the master forgot the stored framework.
  Result<void> build();
  static int index_of(std::string_view name);
  Result<void> start_health();
  tasks::TaskSpec spec_for(std::string name) const;

  // --- events --------------------------------------------------------------------------------

  void on_framework_id(const mesos::v1::FrameworkID& id);
  void on_event(const Event& event);

  // Runs inside the TaskManager: only reads it; anything that changes it is posted.
  void on_change(const tasks::TaskChange& change);
  void on_fatal(const Error& error);
  void start_over();

  // --- the gate ------------------------------------------------------------------------------

  void arm_ticker();
  void on_tick();
  void tick_round();
  void open_gate();
  void post_reconsider();

  // Everything the gate decides, from the manager's current records: count and forget ended
  // tasks, top up, close the gate, end.
  void reconsider();
  void top_up();
  void maybe_close_gate();
  void kill_running();

  // --- the end -------------------------------------------------------------------------------

  int final_status() const;
  void post_teardown();
  void begin_teardown();
  void on_teardown(Result<void> done);
  void torn_down();
  void finish(int status);
  boost::asio::any_io_executor executor_;
  Flags flags_;
  Logger& log_;
  Hooks hooks_;

  // Declared so that the manager goes before the client and the store it uses.
  std::unique_ptr<detail::FileLock> lock_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<scheduler::Client> client_;
  std::unique_ptr<tasks::TaskManager> manager_;
  std::unique_ptr<http::Server> health_;
  boost::asio::steady_timer ticker_;
  boost::asio::steady_timer retry_timer_;
  SteadyClock::time_point next_tick_;
  std::optional<std::string> framework_id_;
  Mode mode_ = Mode::created;
  bool ever_subscribed_ = false;
  bool gate_open_ = false;
  bool reconsider_posted_ = false;
  bool teardown_wanted_ = false;
  bool teardown_in_flight_ = false;
  bool teardown_sent_ = false;
  int signals_ = 0;  // shutdown() calls
  int round_ = 0;
  std::optional<int> last_round_;
  std::map<int, detail::RoundState> rounds_;
  Stats stats_;
  std::optional<int> exit_status_;
};

}  // namespace heatblast::etl
