// SessionKeeper: keeps one ZooKeeper session open for a recipe (leader election, master
// detection). A lost connection is waited for up to the session timeout; an expired or
// unreachable session is replaced by a new one after a backoff.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "heatblast/zookeeper.hpp"
#include "scheduler/backoff.hpp"

namespace heatblast::zookeeper {

class SessionKeeper : public std::enable_shared_from_this<SessionKeeper> {
 public:
  struct Handlers {
    // A new session is being opened: answers to requests of the old one are stale.
    std::function<void()> on_opening;
    std::function<void()> on_connected;
    // The connection is lost; the session may live on the server for `timeout` longer.
    std::function<void(std::chrono::milliseconds timeout)> on_connecting;
    // The session is given up (expired, or no connection within the timeout); the old session
    // still exists while this runs, and a new one opens after the backoff.
    std::function<void(std::string_view why, std::chrono::milliseconds next_in)> on_lost;
    // The server refused the credentials; the keeper has stopped.
    std::function<void(Error error)> on_auth_failed;
    std::function<void(WatchEvent event, const std::string& path)> on_watch;
    std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
  };
  struct Options {
    Url url;
    std::chrono::milliseconds session_timeout;
    scheduler::BackoffOptions reopen_backoff;
    std::string opening_message;  // logged at each new session, with the redacted URL
  };

  SessionKeeper(boost::asio::any_io_executor executor, Options options, Handlers handlers);

  void start() { open(); }
  void stop();
  // The current session; null between sessions and after stop().
  Session* session() noexcept { return session_.get(); }
  // Sessions opened so far (1 after start()).
  int sessions() const noexcept { return sessions_; }

 private:
  void open();
  void on_state(SessionState state);
  void reopen(std::string_view why);
  void arm_grace(std::chrono::milliseconds after);
  void log(scheduler::LogLevel level, std::string_view message) {
    if (handlers_.on_log) handlers_.on_log(level, message);
  }

  boost::asio::any_io_executor executor_;
  Options options_;
  Handlers handlers_;
  std::unique_ptr<Session> session_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer reopen_timer_;
  scheduler::Backoff backoff_;
  int sessions_ = 0;
  bool stopped_ = false;
};

}  // namespace heatblast::zookeeper
