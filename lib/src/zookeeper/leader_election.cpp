// LeaderElection: ZooKeeper's leader-election recipe (ephemeral sequential nodes, the smallest
// leads) on the executor-bound Session.
#include <random>

#include <fmt/format.h>
#include "heatblast/zookeeper.hpp"
#include "zookeeper/session_keeper.hpp"

namespace heatblast::zookeeper {

using scheduler::LogLevel;

namespace {

constexpr std::string_view kPrefix = "member_";

std::string random_guid() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}", device(), device());
}

// The sequence of a candidate's node "member_<guid>_<10 digits>", else nullopt.
std::optional<std::int64_t> candidate_sequence(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  const auto underscore = name.rfind('_');
  if (underscore == std::string_view::npos || underscore < kPrefix.size()) return std::nullopt;
  return sequence_of(name.substr(underscore + 1), "");
}

}  // namespace

class LeaderElection::Impl : public SessionKeeper::Owner,
                             public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, ElectionOptions options, Handlers handlers)
      : executor_(executor), options_(std::move(options)), handlers_(std::move(handlers)) {}

  Result<void> start();
  void stop();

  void on_opening() override;
  void on_connected() override;
  void on_connecting(std::chrono::milliseconds timeout) override;
  void on_lost(std::string_view why, std::chrono::milliseconds next_in) override;
  void on_auth_failed(Error error) override;
  void on_watch(const std::string& path) override {
    if (path == options_.url.path) check();
  }
  void join();
  void create_node(std::uint64_t generation);
  void check();
  void on_children(std::uint64_t generation, Code code, std::vector<std::string> children);
  void set(bool leading, std::optional<std::string> data);
  Session* session() const noexcept { return keeper_ ? keeper_->session() : nullptr; }
  std::string child_path(const std::string& name) const {
    return options_.url.path == "/" ? "/" + name : options_.url.path + "/" + name;
  }
  void log(LogLevel level, std::string_view message) override {
    if (handlers_.on_log) handlers_.on_log(level, message);
  }

  boost::asio::any_io_executor executor_;
  ElectionOptions options_;
  Handlers handlers_;
  std::shared_ptr<SessionKeeper> keeper_;
  std::string guid_;  // of the current session's node
  std::string node_;  // the current session's node, once known
  bool joining_ = false;
  bool leading_ = false;
  std::optional<std::string> leader_data_;
  std::uint64_t generation_ = 0;  // answers to older requests are stale
  bool started_ = false;
  bool stopped_ = false;
};

Result<void> LeaderElection::Impl::start() {
  if (stopped_) return fail(errc::stopped, "ZooKeeper leader election stopped");
  if (started_) return {};
  if (options_.url.servers.empty() || options_.url.path.empty()) {
    return fail(errc::invalid_argument, "ZooKeeper leader election: no servers or no path");
  }
  started_ = true;
  keeper_ = std::make_shared<SessionKeeper>(
      executor_,
      SessionKeeper::Options{options_.url, options_.session_timeout, options_.reopen_backoff,
                             "joining the leader election in"},
      weak_from_this());
  keeper_->start();
  return {};
}

void LeaderElection::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (keeper_) keeper_->stop();
  leading_ = false;
}

void LeaderElection::Impl::on_opening() {
  ++generation_;
  guid_ = random_guid();
  node_.clear();
  joining_ = false;
}

void LeaderElection::Impl::on_connected() {
  if (stopped_) return;
  if (node_.empty()) {
    join();
  } else {
    check();
  }
}

void LeaderElection::Impl::on_connecting(std::chrono::milliseconds) {
  if (stopped_) return;
  if (leading_) {
    log(LogLevel::warning,
        "ZooKeeper connection lost: no longer leading (the session may expire any moment)");
  }
  set(false, std::nullopt);
}

void LeaderElection::Impl::on_lost(std::string_view why, std::chrono::milliseconds next_in) {
  if (stopped_) return;
  ++generation_;
  log(LogLevel::warning, fmt::format("{}; leaving the election; new ZooKeeper session in {} ms",
                                     why, next_in.count()));
  set(false, std::nullopt);
  node_.clear();
}

void LeaderElection::Impl::on_auth_failed(Error error) {
  stop();
  set(false, std::nullopt);
  if (handlers_.on_fatal) handlers_.on_fatal(std::move(error));
}

void LeaderElection::Impl::join() {
  if (stopped_ || !session() || joining_) return;
  joining_ = true;
  const std::uint64_t generation = generation_;
  session()->create_parents(options_.url.path, [weak = weak_from_this(), generation](Code code) {
    auto self = weak.lock();
    if (!self || self->stopped_ || generation != self->generation_) return;
    if (code != Code::ok) {
      // A lost connection: the next `connected` joins again.
      self->joining_ = false;
      self->log(LogLevel::debug,
                fmt::format("creating '{}' failed: {}", self->options_.url.path, to_string(code)));
      return;
    }
    self->create_node(generation);
  });
}

void LeaderElection::Impl::create_node(std::uint64_t generation) {
  // A node of ours may exist already: a create whose answer was lost with the connection.
  session()->get_children(
      options_.url.path, false,
      [weak = weak_from_this(), generation](Code code, std::vector<std::string> children) {
        auto self = weak.lock();
        if (!self || self->stopped_ || generation != self->generation_ || !self->session()) return;
        if (code != Code::ok) {
          self->joining_ = false;
          return;
        }
        const std::string mine = fmt::format("{}{}_", kPrefix, self->guid_);
        for (const auto& child : children) {
          if (child.starts_with(mine)) {
            self->node_ = child;
            self->joining_ = false;
            self->check();
            return;
          }
        }
        self->session()->create(
            self->child_path(mine), self->options_.data, true, true,
            [weak, generation](Code created, std::string path) {
              auto me = weak.lock();
              if (!me || me->stopped_ || generation != me->generation_) return;
              me->joining_ = false;
              if (created != Code::ok) {
                me->log(LogLevel::debug,
                        fmt::format("creating the election node failed: {}", to_string(created)));
                return;
              }
              me->node_ = path.substr(path.rfind('/') + 1);
              me->log(LogLevel::info, fmt::format("election node '{}'", me->node_));
              me->check();
            });
      });
}

void LeaderElection::Impl::check() {
  if (stopped_ || !session() || node_.empty()) return;
  const std::uint64_t generation = ++generation_;
  session()->get_children(
      options_.url.path, true,
      [weak = weak_from_this(), generation](Code code, std::vector<std::string> children) {
        if (auto self = weak.lock()) self->on_children(generation, code, std::move(children));
      });
}

void LeaderElection::Impl::on_children(std::uint64_t generation, Code code,
                                       std::vector<std::string> children) {
  if (stopped_ || generation != generation_ || !session()) return;
  if (code != Code::ok) {
    // A lost connection: the session events decide what happens next.
    log(LogLevel::debug,
        fmt::format("reading '{}' failed: {}", options_.url.path, to_string(code)));
    return;
  }
  std::optional<std::pair<std::int64_t, std::string>> first;
  bool mine = false;
  for (const auto& child : children) {
    const auto sequence = candidate_sequence(child);
    if (!sequence) continue;
    if (child == node_) mine = true;
    if (!first || *sequence < first->first) first = std::make_pair(*sequence, child);
  }
  if (!mine) {
    // Removed by hand, or by the session's end that we have not heard of yet: stand again.
    log(LogLevel::warning, fmt::format("election node '{}' is gone; joining again", node_));
    set(false, std::nullopt);
    node_.clear();
    guid_ = random_guid();
    join();
    return;
  }
  if (first->second == node_) {
    set(true, options_.data);
    return;
  }
  session()->get(child_path(first->second), false,
                 [weak = weak_from_this(), generation](Code c, std::string data) {
                   auto self = weak.lock();
                   if (!self || self->stopped_ || generation != self->generation_) return;
                   if (c == Code::no_node) {
                     self->check();  // it went between the two reads
                     return;
                   }
                   if (c != Code::ok) return;
                   self->set(false, std::move(data));
                 });
}

void LeaderElection::Impl::set(bool leading, std::optional<std::string> data) {
  if (leading == leading_ && data == leader_data_) return;
  const bool was_leading = leading_;
  leading_ = leading;
  leader_data_ = std::move(data);
  if (leading && !was_leading) {
    log(LogLevel::info, fmt::format("leading (node '{}')", node_));
  } else if (!leading && was_leading) {
    log(LogLevel::warning, "no longer leading");
  }
  if (handlers_.on_change) {
    const auto copy = leader_data_;  // the handler may stop or destroy us
    handlers_.on_change(leading, copy);
  }
}

LeaderElection::LeaderElection(boost::asio::any_io_executor executor, ElectionOptions options,
                               Handlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handlers))) {}

LeaderElection::~LeaderElection() {
  stop();
}

Result<void> LeaderElection::start() {
  return impl_->start();
}

void LeaderElection::stop() {
  impl_->stop();
}

bool LeaderElection::leading() const noexcept {
  return impl_->leading_;
}

const std::optional<std::string>& LeaderElection::leader_data() const noexcept {
  return impl_->leader_data_;
}

Session* LeaderElection::session() noexcept {
  return impl_->session();
}

std::optional<SessionId> LeaderElection::session_id() const {
  if (!impl_->session()) return std::nullopt;
  return impl_->session()->id();
}

const std::string& LeaderElection::node() const noexcept {
  return impl_->node_;
}

}  // namespace heatblast::zookeeper
