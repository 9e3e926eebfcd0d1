#include "zookeeper/session_keeper.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

namespace heatblast::zookeeper {

using scheduler::LogLevel;

SessionKeeper::SessionKeeper(boost::asio::any_io_executor executor, Options options,
                             std::weak_ptr<Owner> owner)
    : executor_(executor),
      options_(std::move(options)),
      owner_(std::move(owner)),
      grace_timer_(executor),
      reopen_timer_(executor),
      backoff_(options_.reopen_backoff) {}

void SessionKeeper::stop() {
  if (stopped_) return;
  stopped_ = true;
  grace_timer_.cancel();
  reopen_timer_.cancel();
  if (session_) session_->stop();
  session_.reset();
}

void SessionKeeper::open() {
  if (stopped_) return;
  ++sessions_;
  if (auto owner = owner_.lock()) owner->on_opening();
  std::weak_ptr<SessionKeeper> weak = weak_from_this();
  Session::Handlers handlers;
  handlers.on_state = [weak](SessionState state) {
    if (auto self = weak.lock()) self->on_state(state);
  };
  handlers.on_watch = [weak](WatchEvent, const std::string& path) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    if (auto owner = self->owner_.lock()) owner->on_watch(path);
  };
  handlers.on_log = [weak](LogLevel level, std::string_view message) {
    if (auto self = weak.lock()) self->log(level, message);
  };
  session_ = std::make_unique<Session>(
      executor_, SessionOptions{options_.url, options_.session_timeout, std::nullopt},
      std::move(handlers));
  log(LogLevel::info, fmt::format("{} '{}'", options_.opening_message, options_.url.redacted()));
  if (auto r = session_->start(); !r) {
    log(LogLevel::warning, r.error().what());
    reopen("the ZooKeeper client could not start");
    return;
  }
  // A first connection that never comes counts as a lost one.
  arm_grace(options_.session_timeout);
}

void SessionKeeper::arm_grace(std::chrono::milliseconds after) {
  grace_timer_.expires_after(after);
  grace_timer_.async_wait([weak = weak_from_this(), sessions = sessions_](auto ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_ || self->sessions_ != sessions) return;
    self->reopen("no ZooKeeper connection within the session timeout");
  });
}

void SessionKeeper::on_state(SessionState state) {
  if (stopped_) return;
  switch (state) {
    case SessionState::connected:
      grace_timer_.cancel();
      backoff_.reset();
      if (auto owner = owner_.lock()) owner->on_connected();
      return;
    case SessionState::connecting: {
      auto timeout = session_ ? session_->negotiated_timeout() : options_.session_timeout;
      if (timeout.count() <= 0) timeout = options_.session_timeout;
      if (auto owner = owner_.lock()) owner->on_connecting(timeout);
      if (!stopped_) arm_grace(timeout);
      return;
    }
    case SessionState::expired:
      reopen("the ZooKeeper session expired");
      return;
    case SessionState::auth_failed: {
      const std::string user = options_.url.user;
      stop();
      if (auto owner = owner_.lock()) {
        owner->on_auth_failed(
            Error(errc::zookeeper_auth_failed,
                  fmt::format("ZooKeeper refused the credentials of user '{}'", user)));
      }
      return;
    }
  }
}

void SessionKeeper::reopen(std::string_view why) {
  if (stopped_) return;
  grace_timer_.cancel();
  const auto delay = backoff_.next();
  // Told first, while the old session still exists: a store writing with it lets go of it.
  if (auto owner = owner_.lock()) owner->on_lost(why, delay);
  if (stopped_) return;
  // Closing joins the C client's threads; do it outside the callback that told us.
  if (session_) {
    boost::asio::post(executor_,
                      [old = std::shared_ptr<Session>(std::move(session_))] { old->stop(); });
  }
  reopen_timer_.expires_after(delay);
  reopen_timer_.async_wait([weak = weak_from_this()](auto ec) {
    auto self = weak.lock();
    if (!ec && self) self->open();
  });
}

}  // namespace heatblast::zookeeper
