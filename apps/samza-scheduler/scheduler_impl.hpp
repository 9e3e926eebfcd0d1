// SamzaScheduler's private state, shared by samza_scheduler.cpp (jobs and tasks) and api.cpp
// (the HTTP side). Everything runs on the executor.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "flags.hpp"
#include "heatblast/framework.hpp"
#include "heatblast/http_client.hpp"
#include "heatblast/http_server.hpp"
#include "heatblast/store.hpp"
#include "heatblast/zookeeper.hpp"
#include "job.hpp"
#include "logger.hpp"
#include "samza_scheduler.hpp"
#include "views.hpp"

namespace heatblast::samza {

class FileLock;

// 128 random bits as hex: the per-job job-info token.
std::string random_hex_token();

// An HTTP answer: status, body, extra headers (Content-Type is JSON unless given).
struct Reply {
  int status = 200;
  std::string body;
  http::Headers headers;
};

class SamzaScheduler::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, Flags flags, Logger& logger, Hooks hooks);
  ~Impl();

  Result<void> start();
  void stop();

  std::uint16_t port() const { return server_ ? server_->port() : 0; }
  std::string advertised() const { return advertise_; }
  const tasks::TaskManager* task_manager() const {
    return framework_ ? &framework_->tasks() : nullptr;
  }
  const scheduler::Client* client() const { return framework_ ? &framework_->client() : nullptr; }

  std::optional<JobView> job(const std::string& name) const {
    auto it = jobs_.find(name);
    if (it == jobs_.end()) return std::nullopt;
    return view_of(it->second);
  }

  // --- api.cpp ---
  void on_request(const http::ServerRequest& request, http::Responder responder);

 private:
  // api.cpp
  // A standby's answer: the request sent on to the leader and its answer relayed, or 307 to
  // the leader when it cannot be reached (503 while no leader is known).
  void forward(const http::ServerRequest& request, http::Responder responder);
  Reply route(const http::ServerRequest& request);
  Reply route_job(const http::ServerRequest& request, const std::string& name,
                  const std::string& rest);
  Reply post_jobs(const http::ServerRequest& request);
  Reply put_job(const http::ServerRequest& request, Job& job);
  Reply delete_job(Job& job);
  Reply restart_job(Job& job);
  Reply post_model(const http::ServerRequest& request, Job& job, bool check_token);
  Reply run_job(const http::ServerRequest& request);
  bool authorized(const http::ServerRequest& request) const;

  // samza_scheduler.cpp: high availability (--zk)
  bool ha() const { return !flags_.zk.empty(); }
  Result<void> start_election();
  void on_election(bool leading, const std::optional<std::string>& leader_data);
  void become_leader();
  void step_down();
  // Where the state lives, for log lines: the SQLite file or the ZooKeeper path.
  std::string state_place() const;

  // samza_scheduler.cpp: jobs and tasks
  Result<void> open_state();
  Result<void> load_jobs();
  Result<void> start_framework();
  Result<scheduler::Options> client_options();
  scheduler::Handlers framework_handlers();
  void start_over();
  void refresh_specs();
  Result<void> start_api();
  Result<void> save(const Job& job);
  void accept_model(Job& job, JobModel model);
  void post_advance(const std::string& name);
  void advance_all();
  void advance(const std::string& name);
  bool advance_killing(Job& job);
  void advance_job_info(Job& job);
  void advance_containers(Job& job);
  void roll_one(Job& job);
  void derive_state(Job& job);
  void set_failed(Job& job, std::string reason);
  void on_change(const tasks::TaskChange& change);
  tasks::TaskSpec job_info_spec(const Job& job) const;
  tasks::TaskSpec container_spec(const Job& job, const std::string& id) const;
  void add_common(const Job& job, tasks::TaskSpec& spec, std::vector<std::string> arguments,
                  const std::map<std::string, std::string>& extra_env) const;

  // views
  JobView view_of(const Job& job) const;
  std::vector<JobView> all_views() const;
  FrameworkView framework_view() const;
  MetricsView metrics_view() const;

  boost::asio::any_io_executor executor_;
  Flags flags_;
  Logger& log_;
  Hooks hooks_;
  std::string api_token_;
  std::string advertise_;
  std::string advertise_host_;
  std::string advertise_port_;
  bool started_ = false;
  bool stopped_ = false;
  bool ever_subscribed_ = false;
  std::uint64_t http_requests_ = 0;

  // --zk: the election, the ZooKeeper path and URL (redacted, for logs), whether this instance
  // leads, and the leader's advertised host:port (this one's when leading; empty: none known).
  std::unique_ptr<zookeeper::LeaderElection> election_;
  std::string zk_path_;
  std::string zk_redacted_;
  bool leading_ = false;
  std::string leader_address_;
  std::unique_ptr<boost::asio::steady_timer> retry_lead_;
  std::unique_ptr<http::Client> forwarder_;

  std::shared_ptr<FileLock> lock_;
  // Declared after election_: it may write with the election's session.
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<tasks::Framework> framework_;
  std::unique_ptr<http::Server> server_;
  std::map<std::string, Job> jobs_;
  std::map<std::string, bool> advance_posted_;
};

}  // namespace heatblast::samza
