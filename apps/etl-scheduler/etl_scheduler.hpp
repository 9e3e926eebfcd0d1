// EtlScheduler: the Go `mesos-http-scheduler` on heatblast. It runs command tasks of one kind,
// at most -maxtasks at once, in rounds paced by a ticker, and survives leader changes and master
// restarts with the same framework id (the client and the TaskManager do that work).
//
// The gate, as in the Go tool:
//   - at start the gate is open; while it is open, tasks are added so that launched + active +
//     pending == -maxtasks (a task that ends while it is open is replaced at once);
//   - a round is one opening of the gate; its tasks are named "etl-<round>-<n>"; it is filled
//     (and the gate closes) when it has added a task and every slot is launched, or when it has
//     launched -maxtasks tasks of its own (so a cluster too small for -maxtasks at once still
//     ends a round);
//   - every -wait seconds the ticker opens a closed gate again: the next round tops up what is
//     free. A slow task never blocks a tick: it keeps its slot and the others are refilled. When
//     every slot is busy at a tick, the gate stays open and the first slot that frees is filled.
//   - nothing ever has more than -maxtasks tasks launched or active: tasks are only added while
//     launched + active + pending < -maxtasks, and the TaskManager launches only what was added.
//
// With -rounds N, the gate stays closed after round N filled; once every task ended the program
// sends TEARDOWN and ends: status 0 when every task of round N finished, 1 otherwise. shutdown()
// (SIGINT/SIGTERM) stops launching, waits for or kills the running tasks (-on-stop), sends
// TEARDOWN and ends with 0; a second shutdown() kills, a third ends at once without TEARDOWN.
//
// The framework id and the tasks are kept in -state-file (a SQLite database, see
// heatblast/store.hpp), so a restarted etl-scheduler resubscribes as the same framework and
// adopts the tasks that still run instead of launching them again. After TEARDOWN the file holds
// no framework id and no task. If the master no longer knows the stored framework (removed after
// its failover timeout), a new framework is registered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>

#include "flags.hpp"
#include "heatblast/error.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/tasks.hpp"
#include "logger.hpp"

namespace heatblast::etl {

// What the scheduler has done so far.
struct Stats {
  int round = 0;          // the current (or last) round
  int rounds_filled = 0;  // rounds whose gate closed
  std::uint64_t ticks = 0;
  // Runs launched (adopted runs not included; a launch that never reached the master and went
  // out again counts once).
  std::uint64_t launched = 0;
  std::uint64_t finished = 0;     // ended TASK_FINISHED
  std::uint64_t failed = 0;       // ended in any other state
  std::size_t adopted = 0;        // tasks loaded from the state file at start
  std::size_t max_in_flight = 0;  // the most tasks launched or active at once, as seen here
};

// Ways in for tests and for main.
struct Hooks {
  // Applied to the client's options once built from the flags (tests: short backoff).
  std::function<void(scheduler::Options&)> client_options;
  // Applied to the TaskManager's options once built from the flags.
  std::function<void(tasks::ManagerOptions&)> manager_options;
  // Called once, posted to the executor, when the program is done, with its exit status.
  std::function<void(int status)> on_exit;
  // Every task change, after the scheduler has seen it.
  std::function<void(const tasks::TaskChange& change)> on_task_change;
  // Tests: when set, each -wait tick hands its round to this hook instead of opening it at once,
  // and the round opens (or finds the gate still open) when the test calls `open`. A test thus
  // states what must have happened before a round opens instead of racing the ticker.
  std::function<void(std::function<void()> open)> hold_tick;
};

// Runs on `executor`; call every member there. `logger` must outlive the scheduler. No handler
// or hook runs after stop() returned.
class EtlScheduler {
 public:
  // No I/O: start() opens the state file, binds the health endpoint and connects.
  EtlScheduler(boost::asio::any_io_executor executor, Flags flags, Logger& logger,
               Hooks hooks = {});
  // stop(): no TEARDOWN; the framework and its tasks stay for the failover timeout.
  ~EtlScheduler();

  EtlScheduler(const EtlScheduler&) = delete;
  EtlScheduler& operator=(const EtlScheduler&) = delete;

  // Errors: the state file's (errc::io_error; errc::invalid_argument when it belongs to a
  // framework of another name or another etl-scheduler holds it), the secret file's, the health
  // endpoint's (errc::address_in_use), the client's (errc::invalid_argument). A second start()
  // is errc::invalid_argument.
  Result<void> start();

  // SIGINT/SIGTERM: see the header comment. Idempotent per stage.
  void shutdown();

  // Ends at once: closes the client (no TEARDOWN), the ticker and the health endpoint. on_exit is
  // not called. Idempotent.
  void stop();

  // The exit status once the program is done.
  std::optional<int> exit_status() const;
  Stats stats() const;
  bool gate_open() const;
  // Null before start().
  const tasks::TaskManager* task_manager() const;
  const scheduler::Client* client() const;
  // The health endpoint's bound port; 0 without one.
  std::uint16_t health_port() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace heatblast::etl
