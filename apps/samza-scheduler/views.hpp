// Read-only snapshots of the scheduler (framework, jobs, containers) and what is rendered from
// them: the API's JSON, the status page's HTML and the Prometheus text of GET /metrics.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace heatblast::samza {

struct ContainerView {
  std::string id;
  std::string task_id;
  std::string agent_id;
  std::string host;
  std::string state;  // Mesos task state ("TASK_RUNNING"); empty before the first launch
  std::string phase;  // the tasks layer's: pending, launched, active, backing_off, done
  std::string message;
  std::string reason;
  int restarts = 0;
  int generation = 0;
};

struct JobView {
  std::string name;
  std::string state;
  std::string reason;
  std::string image;  // docker image or command
  std::size_t running = 0;
  std::size_t wanted = 0;
  int restarts = 0;
  int generation = 0;
  std::string job_info_state;  // the job-info task's Mesos state, when it exists
  std::vector<ContainerView> containers;
};

struct FrameworkView {
  std::string name;
  std::string id;
  std::string master;
  std::string state;  // the client's: disconnected, connecting, subscribed, stopped; or standby
  // With --zk: "leader" or "standby", and the leader's API address (empty: none known).
  // Empty without --zk.
  std::string instance;
  std::string leader;
};

struct MetricsView {
  FrameworkView framework;
  std::vector<JobView> jobs;
  std::map<std::string, std::uint64_t> events;  // client: events by type
  std::map<std::string, std::uint64_t> calls;   // client: calls sent by type
  std::uint64_t offers_received = 0;
  std::uint64_t offers_used = 0;      // ACCEPT calls sent
  std::uint64_t offers_declined = 0;  // DECLINE calls sent
  std::uint64_t subscriptions = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t http_requests = 0;
};

std::string job_summary_json(const JobView& job);
std::string job_detail_json(const JobView& job, const std::string& spec_json);
std::string jobs_json(const std::vector<JobView>& jobs);
std::string framework_json(const FrameworkView& framework);
std::string error_json(const std::string& message);

// The status page: one self-contained HTML document (no external assets) that reloads itself.
std::string status_page(const FrameworkView& framework, const std::vector<JobView>& jobs);

// Prometheus text exposition format, version 0.0.4.
std::string metrics_text(const MetricsView& metrics);

}  // namespace heatblast::samza
