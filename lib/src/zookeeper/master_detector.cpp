// MasterDetector: the leading Mesos master read from ZooKeeper, as Mesos's own detector reads it.
#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/zookeeper.hpp"
#include "scheduler/backoff.hpp"

namespace heatblast::zookeeper {

using scheduler::LogLevel;

class MasterDetector::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, DetectorOptions options, Handlers handlers)
      : executor_(executor),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        grace_timer_(executor),
        reopen_timer_(executor),
        backoff_(options_.reopen_backoff) {}

  Result<void> start();
  void stop();

  void open_session();
  void on_state(SessionState state);
  void reopen(std::string_view why);
  void fetch_children();
  void on_children(std::uint64_t generation, Code code, const std::vector<std::string>& children);
  void on_data(std::uint64_t generation, const std::string& node, Code code,
               const std::string& data);
  void set_leader(std::optional<Leader> leader);
  // Arms the timer that declares "no leader" and starts over when no connection comes back.
  void arm_grace(std::chrono::milliseconds after);
  void log(LogLevel level, std::string_view message) {
    if (handlers_.on_log) handlers_.on_log(level, message);
  }

  boost::asio::any_io_executor executor_;
  DetectorOptions options_;
  Handlers handlers_;
  std::unique_ptr<Session> session_;
  int sessions_ = 0;
  std::optional<Leader> leader_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer reopen_timer_;
  scheduler::Backoff backoff_;
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
  open_session();
  return {};
}

void MasterDetector::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  grace_timer_.cancel();
  reopen_timer_.cancel();
  if (session_) session_->stop();
  session_.reset();
}

void MasterDetector::Impl::open_session() {
  if (stopped_) return;
  ++sessions_;
  ++generation_;
  std::weak_ptr<Impl> weak = weak_from_this();
  Session::Handlers handlers;
  handlers.on_state = [weak](SessionState state) {
    if (auto self = weak.lock()) self->on_state(state);
  };
  handlers.on_watch = [weak](WatchEvent, const std::string& path) {
    auto self = weak.lock();
    if (self && path == self->options_.url.path) self->fetch_children();
  };
  handlers.on_log = [weak](LogLevel level, std::string_view message) {
    if (auto self = weak.lock()) self->log(level, message);
  };
  session_ = std::make_unique<Session>(
      executor_, SessionOptions{options_.url, options_.session_timeout, std::nullopt},
      std::move(handlers));
  log(LogLevel::info, fmt::format("detecting the leading master in '{}'", options_.url.redacted()));
  if (auto r = session_->start(); !r) {
    log(LogLevel::warning, r.error().what());
    reopen("the ZooKeeper client could not start");
    return;
  }
  // A first connection that never comes counts as a lost one.
  arm_grace(options_.session_timeout);
}

void MasterDetector::Impl::arm_grace(std::chrono::milliseconds after) {
  grace_timer_.expires_after(after);
  grace_timer_.async_wait([weak = weak_from_this(), sessions = sessions_](auto ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_ || self->sessions_ != sessions) return;
    self->reopen("no ZooKeeper connection within the session timeout");
  });
}

void MasterDetector::Impl::on_state(SessionState state) {
  if (stopped_) return;
  switch (state) {
    case SessionState::connected:
      grace_timer_.cancel();
      backoff_.reset();
      fetch_children();
      return;
    case SessionState::connecting: {
      // The session may still be alive on the server: keep the leader as long as it can be.
      auto timeout = session_ ? session_->negotiated_timeout() : options_.session_timeout;
      if (timeout.count() <= 0) timeout = options_.session_timeout;
      log(LogLevel::info,
          fmt::format("ZooKeeper connection lost; keeping the leader for up to {} ms",
                      timeout.count()));
      arm_grace(timeout);
      return;
    }
    case SessionState::expired:
      reopen("the ZooKeeper session expired");
      return;
    case SessionState::auth_failed: {
      const std::string user = options_.url.user;
      stop();
      set_leader(std::nullopt);
      if (handlers_.on_fatal) {
        handlers_.on_fatal(
            Error(errc::zookeeper_auth_failed,
                  fmt::format("ZooKeeper refused the credentials of user '{}'", user)));
      }
      return;
    }
  }
}

void MasterDetector::Impl::reopen(std::string_view why) {
  if (stopped_) return;
  grace_timer_.cancel();
  ++generation_;
  // Closing joins the C client's threads; do it outside the callback that told us.
  if (session_) {
    boost::asio::post(executor_,
                      [old = std::shared_ptr<Session>(std::move(session_))] { old->stop(); });
  }
  const auto delay = backoff_.next();
  log(LogLevel::warning,
      fmt::format("{}; no leading master; new ZooKeeper session in {} ms", why, delay.count()));
  set_leader(std::nullopt);
  if (stopped_) return;
  reopen_timer_.expires_after(delay);
  reopen_timer_.async_wait([weak = weak_from_this()](auto ec) {
    auto self = weak.lock();
    if (!ec && self) self->open_session();
  });
}

void MasterDetector::Impl::fetch_children() {
  if (stopped_ || !session_) return;
  const std::uint64_t generation = ++generation_;
  session_->get_children(
      options_.url.path, true,
      [weak = weak_from_this(), generation](Code code, std::vector<std::string> children) {
        if (auto self = weak.lock()) self->on_children(generation, code, children);
      });
}

void MasterDetector::Impl::on_children(std::uint64_t generation, Code code,
                                       const std::vector<std::string>& children) {
  if (stopped_ || generation != generation_ || !session_) return;
  if (code == Code::no_node) {
    // No masters have registered yet: watch for the path to appear.
    set_leader(std::nullopt);
    session_->exists(options_.url.path, true, [weak = weak_from_this(), generation](Code exists) {
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
  session_->get(path, false,
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
  if (!impl_->session_) return std::nullopt;
  return impl_->session_->id();
}

int MasterDetector::sessions() const noexcept {
  return impl_->sessions_;
}

}  // namespace heatblast::zookeeper
