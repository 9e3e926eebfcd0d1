// heatblast::load::LoadTester: the load-tester scheduler. Splits --total-queries into tasks of
// --queries-per-task, runs them through a TaskManager whose max_in_flight is --parallelism (so
// never P+1 at once), collects the figures the workers post to its HTTP endpoint, and when every
// task has ended (not merely been launched) merges them into one report.
//
// Grants: a worker sends only the queries the load-tester has granted it. It asks for its first
// grant as it starts and for more ahead of need, in its progress reports, whose answers carry
// the new total; a grant covers about 0.25 s of the task's rate (with --rate 0, of its
// measured throughput, in bounded chunks). So when a task fails or is lost, only its share minus
// what it was granted is re-queued as a new task, and what it was granted but had not reported
// done is "in doubt": sent at most once, perhaps not at all. The target never gets more than
// --total-queries, and the report says how many were re-queued and how many are in doubt. More
// than --max-failed-tasks failures abort the run: the running tasks are killed, the report is
// written, exit status 1.
//
// Agents need nothing installed: the load-tester serves its load-worker binary at
// GET /load-worker on its --listen port, and each task's CommandInfo has it as an executable URI
// (fetched into the sandbox, run as ./load-worker), as Mesos frameworks ship their executors.
// --worker-on-agent runs a path on the agent instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "figures.hpp"
#include "flags.hpp"
#include "heatblast/framework.hpp"
#include "heatblast/http_server.hpp"

namespace heatblast::load {

// One task of the run, as the load-tester knows it.
struct TaskResult {
  std::string name;
  std::uint64_t share = 0;  // queries it was given
  std::string task_id;
  std::string agent;
  Figures figures;             // the latest the worker posted
  bool final_report = false;   // the worker's last post arrived
  std::uint64_t granted = 0;   // queries it may send (<= share)
  std::uint64_t in_doubt = 0;  // once it failed: granted, not reported done
  std::optional<mesos::v1::TaskState> outcome;
};

struct LoadTesterHooks {
  // Called once, on the executor, when the run is over (the report is ready): 0 clean run, 1
  // errors, failed tasks or an aborted run, 2 the master could not be reached.
  std::function<void(int status)> on_exit;
  std::function<void(std::string_view line)> on_log;
};

// All members run on `executor`. Construct, then start().
class LoadTester {
 public:
  // `worker` is the load-worker binary served to the tasks (read at start(); unused with
  // --worker-on-agent).
  LoadTester(boost::asio::any_io_executor executor, Flags flags, std::string worker,
             LoadTesterHooks hooks);
  ~LoadTester();
  LoadTester(const LoadTester&) = delete;
  LoadTester& operator=(const LoadTester&) = delete;

  // Reads the worker binary, binds --listen, adds the tasks and subscribes. Errors: a bad
  // --master or --listen, a port in use, --advertise not given when the host has no name, a
  // worker binary that cannot be read.
  Result<void> start();
  // Kills every task and ends the run with status 1 once they have ended.
  void abort();

  // The merged figures of every task so far.
  Figures totals() const;
  // One progress line: queries done of the total, tasks running, errors, and the throughput
  // since the last call (the first call: since the start).
  std::string progress_line();
  // The report in --report's format.
  std::string report() const;
  // Most tasks launched or running at once, as the TaskManager counted them.
  std::size_t peak_in_flight() const { return peak_in_flight_; }
  std::size_t failed_tasks() const { return failed_tasks_; }
  std::uint64_t requeued_queries() const { return requeued_queries_; }
  // Queries granted to failed or lost tasks that they had not reported done.
  std::uint64_t in_doubt_queries() const { return in_doubt_queries_; }
  const std::map<std::string, TaskResult>& task_results() const { return results_; }
  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  // The framework, once started (for tests).
  tasks::Framework* framework() { return framework_.get(); }

 private:
  void add_task(std::uint64_t share);
  // How many queries a task may have granted beyond those it has started.
  std::uint64_t grant_window(const TaskResult& task) const;
  void on_change(const tasks::TaskChange& change);
  void task_ended(const tasks::TaskRecord& record);
  void handle_figures(const http::ServerRequest& request, http::Responder responder);
  void serve_worker(const http::ServerRequest& request, http::Responder responder);
  void finish(int status);
  void log(std::string_view line) const;

  boost::asio::any_io_executor executor_;
  Flags flags_;
  std::string worker_;
  std::shared_ptr<const std::string> worker_binary_;  // served at /load-worker
  LoadTesterHooks hooks_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<tasks::Framework> framework_;
  std::string report_to_;
  double task_rate_ = 0;
  std::map<std::string, TaskResult> results_;
  std::size_t next_task_ = 0;
  std::size_t peak_in_flight_ = 0;
  std::size_t failed_tasks_ = 0;
  std::uint64_t requeued_queries_ = 0;
  std::uint64_t in_doubt_queries_ = 0;
  bool aborting_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point started_at_;
  std::chrono::steady_clock::time_point ended_at_;
  std::uint64_t progress_queries_ = 0;
  std::chrono::steady_clock::time_point progress_at_;
};

// The report of a run, in text (with an ASCII latency histogram) or JSON.
std::string format_report(ReportFormat format, const Figures& totals,
                          const std::map<std::string, TaskResult>& tasks, double seconds,
                          std::size_t failed_tasks, std::uint64_t requeued_queries,
                          std::uint64_t in_doubt_queries);

}  // namespace heatblast::load
