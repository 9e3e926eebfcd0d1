// LocalMaster: local-master in the test's own process, for tests of anything that talks to a
// Mesos master (the scheduler client, etl-scheduler, samza-scheduler, load-tester...).
//
// It runs a MasterServer on loopback ports (ephemeral unless told), on the io_context that also
// runs the code under test, with short heartbeat and allocation intervals, 1..3 replicas, the
// agents the test configures, real processes (ProcessRunner) or scripted ones
// (SimulatedRunner), and a temporary work dir. Its destructor leaves nothing behind: every
// process group a task started is SIGKILLed and reaped (also when an assertion failed
// halfway), and the work dir is removed. A test that restarts the master gives it a work dir,
// a port and ProcessGroups of its own, which outlive each LocalMaster.
//
// Threading: none; everything runs on the test's io_context, driven by wait_for()/run_until().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "heatblast/http_client.hpp"
#include "master_server.hpp"
#include "process_runner.hpp"
#include "support/process_groups.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_for.hpp"

namespace heatblast::testing {

namespace lm = heatblast::local_master;
using namespace std::chrono_literals;

// Runs tasks through `inner` and records in `groups` the process groups it started and which
// of them ended.
class TrackingRunner final : public lm::TaskRunner {
 public:
  TrackingRunner(lm::TaskRunner& inner, ProcessGroups& groups) : inner_(inner), groups_(groups) {}

  bool docker_available() const override { return inner_.docker_available(); }
  void launch(const lm::LaunchSpec& spec, lm::TimePoint now) override { inner_.launch(spec, now); }
  void signal(std::string_view container_id, lm::TaskSignal signal, lm::TimePoint now) override {
    inner_.signal(container_id, signal, now);
  }
  void adopt(const lm::Adoption& adoption, lm::TimePoint now) override {
    inner_.adopt(adoption, now);
  }
  std::vector<lm::RunnerEvent> poll(lm::TimePoint now) override;
  std::optional<lm::TimePoint> next_deadline() const override { return inner_.next_deadline(); }

 private:
  lm::TaskRunner& inner_;
  ProcessGroups& groups_;
};

struct LocalMasterConfig {
  int replicas = 1;
  // Scripted tasks (SimulatedRunner, `sim.*` labels) instead of real processes.
  bool simulated = false;
  std::chrono::milliseconds heartbeat_interval{200};
  std::chrono::milliseconds allocation_interval{100};
  // How often the ProcessRunner is asked for ended tasks besides SIGCHLD.
  std::chrono::milliseconds reap_interval{250};
  // The agent's status update manager's first retry (Mesos: 10 s).
  std::chrono::milliseconds status_update_retry{10s};
  // Reproducible ids; nullopt: random ones (a restarted master must not hand out the ids its
  // previous run did).
  std::optional<std::uint64_t> seed = 42;

  // The agents, as local-master's flags make them: `agents` of them with `resources` (one is
  // "localhost", more are "agent-1"...), each with `attributes` ("rack:r1;level:2"), and
  // `agent_attributes` laid over those of the agent with that index (from 0).
  std::string resources = "cpus:2;mem:1024;disk:1024;ports:[31000-31099]";
  int agents = 1;
  std::string attributes;
  std::map<int, std::string> agent_attributes;
  // Or each agent spelled out (with_agent); when not empty, the four above are not used.
  std::vector<lm::AgentSpec> agent_specs;

  // Where the checkpoint and the sandboxes go; empty: a temp dir of the LocalMaster's own,
  // removed with it. A given dir is left in place for the next LocalMaster on it to recover.
  std::string work_dir;
  // Replica 0's port; 0: an ephemeral one (see MasterServerOptions::port).
  std::uint16_t port = 0;
  // Where the process groups of tasks are recorded; nullptr: the LocalMaster's own, killed
  // with it. Given ones outlive the LocalMaster (its tasks keep running across a restart) and
  // are killed when they are destroyed.
  ProcessGroups* groups = nullptr;

  // Anything else, applied last.
  std::function<void(lm::MasterOptions&)> tweak;
  // The same for the server's own options (connection limits...).
  std::function<void(lm::MasterServerOptions&)> tweak_server;

  LocalMasterConfig& with_replicas(int n) {
    replicas = n;
    return *this;
  }
  LocalMasterConfig& with_simulated_tasks() {
    simulated = true;
    return *this;
  }
  LocalMasterConfig& with_status_update_retry(std::chrono::milliseconds interval) {
    status_update_retry = interval;
    return *this;
  }
  LocalMasterConfig& with_resources(std::string text) {
    resources = std::move(text);
    return *this;
  }
  LocalMasterConfig& with_agents(int count, std::string common_attributes = {}) {
    agents = count;
    attributes = std::move(common_attributes);
    return *this;
  }
  LocalMasterConfig& with_agent_attributes(int index, std::string text) {
    agent_attributes[index] = std::move(text);
    return *this;
  }
  // One more agent: `hostname` with `attributes`, and `resources_text` (empty: `resources`).
  LocalMasterConfig& with_agent(const std::string& hostname, const std::string& attributes_text,
                                const std::string& resources_text = {});
  // The work dir, port and process groups of a master that is restarted (see above).
  LocalMasterConfig& restartable(std::string dir, ProcessGroups& process_groups,
                                 std::uint16_t replica_port = 0) {
    work_dir = std::move(dir);
    groups = &process_groups;
    port = replica_port;
    return *this;
  }

  // The agents these settings describe. Throws on bad resources or attributes.
  std::vector<lm::AgentSpec> agent_list() const;
};

class LocalMaster {
 public:
  LocalMaster(boost::asio::io_context& io, LocalMasterConfig config = {});
  ~LocalMaster();
  LocalMaster(const LocalMaster&) = delete;
  LocalMaster& operator=(const LocalMaster&) = delete;

  lm::MasterServer& server() { return *server_; }
  lm::Master& master() { return server_->master(); }
  lm::ProcessRunner* processes() { return processes_; }
  const std::string& work_dir() const { return work_dir_; }
  const LocalMasterConfig& config() const { return config_; }

  std::string address(int replica) const;
  std::vector<std::string> addresses() const;
  std::string leader_address() const { return server_->leader_address(); }

  // Whether a line the Master (or its wiring) logged contains `text`.
  bool logged(std::string_view text) const;
  // What the Master logged, the last `lines` lines.
  std::string log_tail(std::size_t lines = 15) const;

  std::optional<lm::FrameworkSnapshot> framework(const std::string& id) const;
  std::optional<lm::TaskSnapshot> task(const std::string& framework_id,
                                       const std::string& task_id) const;
  bool removed(const std::string& framework_id) const;

  // GET `path` from the leader over HTTP (real loopback), running the io_context until the
  // answer came; fails the test after 5 s.
  http::Response get(const std::string& path);

 private:
  boost::asio::io_context& io_;
  LocalMasterConfig config_;
  std::unique_ptr<TempDir> own_dir_;
  std::string work_dir_;
  std::vector<std::string> log_;
  std::unique_ptr<ProcessGroups> own_groups_;
  ProcessGroups* groups_ = nullptr;
  std::unique_ptr<lm::TaskRunner> inner_;
  lm::ProcessRunner* processes_ = nullptr;
  std::unique_ptr<TrackingRunner> tracker_;
  std::unique_ptr<lm::MasterServer> server_;
  http::Client http_;
};

}  // namespace heatblast::testing
