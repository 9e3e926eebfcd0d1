// MasterDetector: the leading Mesos master read from ZooKeeper, as Mesos's own detector reads it.
#include <fmt/format.h>
#include "heatblast/zookeeper.hpp"
#include "zookeeper/session_keeper.hpp"

namespace heatblast::zookeeper {

using scheduler::LogLevel;

class MasterDetector::Impl : public SessionKeeper::Owner,
                             public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, DetectorOptions options, Handlers handlers)
      : executor_(executor), options_(std::move(options)), handlers_(std::move(handlers)) {}

  Result<void> start();
  void stop();

  void on_opening() override { ++generation_; }
  void on_connected() override { fetch_children(); }
  void on_connecting(std::chrono::milliseconds timeout) override;
  void on_lost(std::string_view why, std::chrono::milliseconds next_in) override;
  void on_auth_failed(Error error) override;
  void on_watch(const std::string& path) override {
    if (path == options_.url.path) fetch_children();
  }
  void fetch_children();
  void on_children(std::uint64_t generation, Code code, const std::vector<std::string>& children);
  void on_data(std::uint64_t generation, const std::string& node, Code code,
               const std::string& data);
  void set_leader(std::optional<Leader> leader);
  Session* session() const noexcept { return keeper_ ? keeper_->session() : nullptr; }
  void log(LogLevel level, std::string_view message) override {
    if (handlers_.on_log) handlers_.on_log(level, message);
  }

  boost::asio::any_io_executor executor_;
  DetectorOptions options_;
  Handlers handlers_;
  std::shared_ptr<SessionKeeper> keeper_;
  std::optional<Leader> leader_;
  std::uint64_t generation_ = 0;  // of the latest children read; older answers are stale
  bool started_ = false;
  bool stopped_ = false;
};

Result<void> MasterDetector::Impl::start() {
  if (stopped_) return fail(errc::stopped, "ZooKeeper master detector stopped");
  if (started_) return {};
  if (options_.url.servers.empty() || options_.url.path.empty()) {
    return fail(errc::invalid_argument, "ZooKeeper master detector: no servers or no path");
  }
  started_ = true;
  keeper_ = std::make_shared<SessionKeeper>(
      executor_,
      SessionKeeper::Options{options_.url, options_.session_timeout, options_.reopen_backoff,
                             "detecting the leading master in"},
      weak_from_this());
  keeper_->start();
  return {};
}

void MasterDetector::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (keeper_) keeper_->stop();
}

void MasterDetector::Impl::on_connecting(std::chrono::milliseconds timeout) {
  // The session may still be alive on the server: keep the leader as long as it can be.
  log(LogLevel::info, fmt::format("ZooKeeper connection lost; keeping the leader for up to {} ms",
                                  timeout.count()));
}

void MasterDetector::Impl::on_lost(std::string_view why, std::chrono::milliseconds next_in) {
  if (stopped_) return;
  ++generation_;
  log(LogLevel::warning,
      fmt::format("{}; no leading master; new ZooKeeper session in {} ms", why, next_in.count()));
  set_leader(std::nullopt);
}

void MasterDetector::Impl::on_auth_failed(Error error) {
  stop();
  set_leader(std::nullopt);
  if (handlers_.on_fatal) handlers_.on_fatal(std::move(error));
}

void MasterDetector::Impl::fetch_children() {
  if (stopped_ || !session()) return;
  const std::uint64_t generation = ++generation_;
  session()->get_children(
      options_.url.path, true,
      [weak = weak_from_this(), generation](Code code, std::vector<std::string> children) {
        if (auto self = weak.lock()) self->on_children(generation, code, children);
      });
}

void MasterDetector::Impl::on_children(std::uint64_t generation, Code code,
                                       const std::vector<std::string>& children) {
  if (stopped_ || generation != generation_ || !session()) return;
  if (code == Code::no_node) {
    // No masters have registered yet: watch for the path to appear.
    set_leader(std::nullopt);
    session()->exists(options_.url.path, true, [weak = weak_from_this(), generation](Code exists) {
      auto self = weak.lock();
      if (self && exists == Code::ok && generation == self->generation_) {
        self->fetch_children();  // created in between
      }
    });
    return;
  }
  if (code != Code::ok) {
    // A lost connection: the session events decide what happens next.
    log(LogLevel::debug,
        fmt::format("reading '{}' failed: {}", options_.url.path, to_string(code)));
    return;
  }
  const auto node = leading_master_node(children);
  if (!node) {
    set_leader(std::nullopt);
    return;
  }
  if (leader_ && leader_->node == *node) return;  // a master's node never changes its data
  const std::string path = options_.url.path == "/" ? "/" + *node : options_.url.path + "/" + *node;
  session()->get(path, false,
                 [weak = weak_from_this(), generation, node = *node](Code c, std::string data) {
                   if (auto self = weak.lock()) self->on_data(generation, node, c, data);
                 });
}

void MasterDetector::Impl::on_data(std::uint64_t generation, const std::string& node, Code code,
                                   const std::string& data) {
  if (stopped_ || generation != generation_) return;
  if (code == Code::no_node) {
    fetch_children();  // it went between the two reads
    return;
  }
  if (code != Code::ok) return;
  auto address = node.starts_with("json.") ? master_address_from_json(data)
                                           : master_address_from_protobuf(data);
  if (!address) {
    log(LogLevel::warning,
        fmt::format("leading master's node '{}' is unreadable: {}", node, address.error().what()));
    set_leader(std::nullopt);
    return;
  }
  set_leader(Leader{node, *address});
}

void MasterDetector::Impl::set_leader(std::optional<Leader> leader) {
  if (leader == leader_) return;
  leader_ = std::move(leader);
  if (leader_) {
    log(LogLevel::info, fmt::format("leading master is {}:{} ('{}')", leader_->address.host,
                                    leader_->address.port, leader_->node));
  } else {
    log(LogLevel::info, "no leading master");
  }
  if (handlers_.on_leader) {
    const auto copy = leader_;  // the handler may stop or destroy us
    handlers_.on_leader(copy);
  }
}

MasterDetector::MasterDetector(boost::asio::any_io_executor executor, DetectorOptions options,
                               Handlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handlers))) {}

MasterDetector::~MasterDetector() {
  stop();
}

Result<void> MasterDetector::start() {
  return impl_->start();
}

void MasterDetector::stop() {
  impl_->stop();
}

const std::optional<Leader>& MasterDetector::leader() const noexcept {
  return impl_->leader_;
}

std::optional<SessionId> MasterDetector::session_id() const {
  if (!impl_->session()) return std::nullopt;
  return impl_->session()->id();
}

int MasterDetector::sessions() const noexcept {
  return (impl_->keeper_ ? impl_->keeper_->sessions() : 0);
}

}  // namespace heatblast::zookeeper
