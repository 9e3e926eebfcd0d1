#include "support/local_master_fixture.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "attributes.hpp"
#include "heatblast/resources.hpp"
#include "simulated_runner.hpp"

namespace heatblast::testing {

namespace {

Resources resources_or_throw(const std::string& text) {
  auto resources = parse_resources(text);
  if (!resources) throw std::runtime_error("resources '" + text + "': " + resources.error().what());
  return std::move(*resources);
}

std::vector<mesos::v1::Attribute> attributes_or_throw(const std::string& text) {
  auto attributes = lm::parse_attributes(text);
  if (!attributes) {
    throw std::runtime_error("attributes '" + text + "': " + attributes.error().what());
  }
  return std::move(*attributes);
}

}  // namespace

std::vector<lm::RunnerEvent> TrackingRunner::poll(lm::TimePoint now) {
  auto events = inner_.poll(now);
  for (const auto& event : events) {
    if (event.kind == lm::RunnerEvent::Kind::running && event.pid && event.pgid) {
      groups_.started(event.container_id, *event.pid, *event.pgid);
    } else if (event.kind != lm::RunnerEvent::Kind::running) {
      groups_.ended(event.container_id);
    }
  }
  return events;
}

LocalMasterConfig& LocalMasterConfig::with_agent(const std::string& hostname,
                                                 const std::string& attributes_text,
                                                 const std::string& resources_text) {
  agent_specs.push_back(lm::AgentSpec{
      hostname, resources_or_throw(resources_text.empty() ? resources : resources_text),
      attributes_or_throw(attributes_text)});
  return *this;
}

std::vector<lm::AgentSpec> LocalMasterConfig::agent_list() const {
  if (!agent_specs.empty()) return agent_specs;
  if (agents < 1) throw std::runtime_error("LocalMasterConfig: agents must be at least 1");
  auto each = resources_or_throw(resources);
  std::vector<lm::AgentSpec> out =
      agents == 1 ? std::vector<lm::AgentSpec>{lm::AgentSpec{"localhost", std::move(each), {}}}
                  : lm::simulated_agents(static_cast<std::size_t>(agents), each);
  const auto common = attributes_or_throw(attributes);
  for (auto& agent : out)
    agent.attributes = common;
  for (const auto& [index, text] : agent_attributes) {
    if (index < 0 || static_cast<std::size_t>(index) >= out.size()) {
      throw std::runtime_error(fmt::format("LocalMasterConfig: there is no agent {}", index));
    }
    auto& agent = out[static_cast<std::size_t>(index)];
    agent.attributes = lm::merge_attributes(std::move(agent.attributes), attributes_or_throw(text));
  }
  return out;
}

LocalMaster::LocalMaster(boost::asio::io_context& io, LocalMasterConfig config)
    : io_(io), config_(std::move(config)), http_(io.get_executor()) {
  if (config_.work_dir.empty()) {
    own_dir_ = std::make_unique<TempDir>("heatblast-local-master");
    work_dir_ = own_dir_->str();
  } else {
    work_dir_ = config_.work_dir;
  }
  if (config_.groups) {
    groups_ = config_.groups;
  } else {
    own_groups_ = std::make_unique<ProcessGroups>();
    groups_ = own_groups_.get();
  }

  lm::MasterServerOptions options;
  options.address = "127.0.0.1";
  options.port = config_.port;
  options.replicas = config_.replicas;
  options.reap_interval = config_.reap_interval;
  lm::MasterOptions& master = options.master;
  master.hostname = "localhost";
  master.heartbeat_interval = config_.heartbeat_interval;
  master.allocation_interval = config_.allocation_interval;
  master.status_update_retry_min = config_.status_update_retry;
  master.work_dir = work_dir_;
  master.seed = config_.seed;
  master.log = [this](std::string_view line) { log_.emplace_back(line); };
  master.agents = config_.agent_list();
  if (config_.tweak) config_.tweak(master);
  if (config_.tweak_server) config_.tweak_server(options);

  if (config_.simulated) {
    inner_ = std::make_unique<lm::SimulatedRunner>();
  } else {
    auto processes = std::make_unique<lm::ProcessRunner>(lm::ProcessRunnerOptions{
        .meta_dir = work_dir_ + "/meta", .docker = "", .supervisor = HEATBLAST_SUPERVISOR_PATH});
    processes_ = processes.get();
    processes_->set_executor(io.get_executor());
    options.reap = [p = processes_] { p->reap(); };
    inner_ = std::move(processes);
  }
  tracker_ = std::make_unique<TrackingRunner>(*inner_, *groups_);
  server_ = std::make_unique<lm::MasterServer>(io.get_executor(), options, *tracker_);
  if (processes_ != nullptr) processes_->set_wake([s = server_.get()] { s->wake(); });
  auto started = server_->start();
  if (!started) throw std::runtime_error("local-master: " + started.error().what());
}

LocalMaster::~LocalMaster() {
  if (processes_ != nullptr) processes_->set_wake({});  // the server goes before the runner
  http_.cancel_all();
  server_->stop();
  if (own_groups_) own_groups_->kill_all();
}

std::string LocalMaster::address(int replica) const {
  return fmt::format("127.0.0.1:{}", server_->ports().at(static_cast<std::size_t>(replica)));
}

std::vector<std::string> LocalMaster::addresses() const {
  std::vector<std::string> out;
  for (auto port : server_->ports())
    out.push_back(fmt::format("127.0.0.1:{}", port));
  return out;
}

bool LocalMaster::logged(std::string_view text) const {
  return std::any_of(log_.begin(), log_.end(), [text](const std::string& line) {
    return line.find(text) != std::string::npos;
  });
}

std::string LocalMaster::log_tail(std::size_t lines) const {
  std::string out = "local-master log (last lines):\n";
  const std::size_t from = log_.size() > lines ? log_.size() - lines : 0;
  for (std::size_t i = from; i < log_.size(); ++i)
    out += "  " + log_[i] + "\n";
  return out;
}

std::optional<lm::FrameworkSnapshot> LocalMaster::framework(const std::string& id) const {
  for (auto& framework : server_->master().snapshot().frameworks) {
    if (framework.id == id) return framework;
  }
  return std::nullopt;
}

std::optional<lm::TaskSnapshot> LocalMaster::task(const std::string& framework_id,
                                                  const std::string& task_id) const {
  auto framework = this->framework(framework_id);
  if (!framework) return std::nullopt;
  for (auto& task : framework->tasks) {
    if (task.task_id == task_id) return task;
  }
  return std::nullopt;
}

bool LocalMaster::removed(const std::string& framework_id) const {
  const auto removed = server_->master().snapshot().removed_frameworks;
  return std::find(removed.begin(), removed.end(), framework_id) != removed.end();
}

http::Response LocalMaster::get(const std::string& path) {
  http::Request request;
  request.method = "GET";
  request.url = fmt::format("http://{}{}", leader_address(), path);
  request.timeout = 5s;
  std::optional<Result<http::Response>> answer;
  http_.async_send(std::move(request), [&](Result<http::Response> r) { answer = std::move(r); });
  wait_for(
      io_, "GET " + path, [&] { return answer.has_value(); }, 6s);
  if (!*answer) FAIL("GET " << path << " failed: " << answer->error().what());
  return std::move(**answer);
}

}  // namespace heatblast::testing
