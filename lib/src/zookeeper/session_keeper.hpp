// SessionKeeper: keeps one ZooKeeper session open for a recipe (leader election, master
// detection). A lost connection is waited for up to the session timeout; an expired or
// unreachable session is replaced by a new one after a backoff.
#pragma once

#include <chrono>
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
  // The recipe on the session; the keeper holds it weakly and tells it, on the executor:
  class Owner {
   public:
    virtual ~Owner() = default;
    // A new session is being opened: answers to requests of the old one are stale.
    virtual void on_opening() {}
    virtual void on_connected() = 0;
    // The connection is lost; the session may live on the server for `timeout` longer.
    virtual void on_connecting(std::chrono::milliseconds timeout) = 0;
    // The session is given up (expired, or no connection within the timeout); the old session
    // still exists while this runs, and a new one opens after `next_in`.
    virtual void on_lost(std::string_view why, std::chrono::milliseconds next_in) = 0;
    // The server refused the credentials; the keeper has stopped.
    virtual void on_auth_failed(Error error) = 0;
    virtual void on_watch(const std::string& path) = 0;
    virtual void log(scheduler::LogLevel level, std::string_view message) = 0;
  };
  struct Options {
    Url url;
    std::chrono::milliseconds session_timeout;
    scheduler::BackoffOptions reopen_backoff;
    std::string opening_message;  // logged at each new session, with the redacted URL
  };

  SessionKeeper(boost::asio::any_io_executor executor, Options options, std::weak_ptr<Owner> owner);

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
    if (auto owner = owner_.lock()) owner->log(level, message);
  }

  boost::asio::any_io_executor executor_;
  Options options_;
  std::weak_ptr<Owner> owner_;
  std::unique_ptr<Session> session_;
  boost::asio::steady_timer grace_timer_;
  boost::asio::steady_timer reopen_timer_;
  scheduler::Backoff backoff_;
  int sessions_ = 0;
  bool stopped_ = false;
};

}  // namespace heatblast::zookeeper
