// Session: the ZooKeeper C client (multi-threaded flavour) behind an Asio executor. The C
// client calls our functions on its own completion thread; they copy what they got and post
// it, so every user callback runs on the executor.
// The synchronous calls (zoo_get, zoo_set...) are declared only for the multi-threaded client,
// which is the one linked (libzookeeper_mt).
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

#include <map>

#include <fmt/format.h>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include "heatblast/zookeeper.hpp"

namespace heatblast::zookeeper {
namespace {

// The C client's log goes to a process-wide callback with no context and no level; its lines
// (connection attempts, server addresses) add nothing to the state changes we log ourselves.
void drop_log(const char*) {}

Code code_of(int rc) {
  if (rc == ZOK) return Code::ok;
  if (rc == ZNONODE) return Code::no_node;
  if (rc == ZNODEEXISTS) return Code::node_exists;
  if (rc == ZNOTEMPTY) return Code::not_empty;
  if (rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT) return Code::connection_loss;
  if (rc == ZSESSIONEXPIRED) return Code::session_expired;
  if (rc == ZAUTHFAILED) return Code::auth_failed;
  if (rc == ZCLOSING) return Code::closed;
  return Code::other;
}

struct Reply {
  Code code = Code::other;
  std::vector<std::string> children;
  std::string data;
};

}  // namespace

class Session::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, SessionOptions options, Handlers handlers)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        handlers_(std::move(handlers)) {}

  // What the C client's threads hold: a copy of the executor and a weak owner, never `this`.
  struct Bridge {
    boost::asio::any_io_executor executor;
    std::weak_ptr<Impl> impl;
  };
  struct Request {
    boost::asio::any_io_executor executor;
    std::weak_ptr<Impl> impl;
    std::uint64_t id = 0;
  };

  Result<void> start();
  void stop();

  void submit(std::function<int(zhandle_t*, void* data)> issue, std::function<void(Reply)> done);

  static void watcher(zhandle_t*, int type, int state, const char* path, void* context);
  static void deliver(const void* data, Reply reply);

  void on_state(SessionState state);
  void complete(std::uint64_t id, Reply reply);
  void log(scheduler::LogLevel level, std::string_view message) {
    if (handlers_.on_log) handlers_.on_log(level, message);
  }

  boost::asio::any_io_executor executor_;
  SessionOptions options_;
  Handlers handlers_;
  zhandle_t* zh_ = nullptr;
  std::unique_ptr<Bridge> bridge_;
  // An open session is outstanding work, as an open socket with a read pending is: events
  // come from the C client's threads, so io_context::run() must not return in between.
  boost::asio::any_io_executor work_;
  SessionState state_ = SessionState::connecting;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  std::map<std::uint64_t, std::function<void(Reply)>> pending_;
};

void Session::Impl::watcher(zhandle_t*, int type, int state, const char* path, void* context) {
  try {
    auto* bridge = static_cast<Bridge*>(context);
    if (bridge == nullptr) return;
    if (type == ZOO_SESSION_EVENT) {
      SessionState s = SessionState::connecting;
      if (state == ZOO_CONNECTED_STATE || state == ZOO_READONLY_STATE) {
        s = SessionState::connected;
      } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        s = SessionState::expired;
      } else if (state == ZOO_AUTH_FAILED_STATE) {
        s = SessionState::auth_failed;
      }
      boost::asio::post(bridge->executor, [w = bridge->impl, s] {
        if (auto impl = w.lock()) impl->on_state(s);
      });
      return;
    }
    WatchEvent event;
    if (type == ZOO_CREATED_EVENT) {
      event = WatchEvent::created;
    } else if (type == ZOO_DELETED_EVENT) {
      event = WatchEvent::deleted;
    } else if (type == ZOO_CHANGED_EVENT) {
      event = WatchEvent::changed;
    } else if (type == ZOO_CHILD_EVENT) {
      event = WatchEvent::children;
    } else {
      return;
    }
    boost::asio::post(bridge->executor,
                      [w = bridge->impl, event, p = std::string(path ? path : "")] {
                        auto impl = w.lock();
                        if (impl && !impl->stopped_ && impl->handlers_.on_watch) {
                          impl->handlers_.on_watch(event, p);
                        }
                      });
  } catch (...) {
    // Nothing may unwind into the C client; a lost watch shows up as a missed change, which
    // the next session event re-reads.
  }
}

void Session::Impl::deliver(const void* data, Reply reply) {
  std::unique_ptr<Request> request(static_cast<Request*>(const_cast<void*>(data)));
  try {
    boost::asio::post(request->executor,
                      [w = request->impl, id = request->id, r = std::move(reply)]() mutable {
                        if (auto impl = w.lock()) impl->complete(id, std::move(r));
                      });
  } catch (...) {
  }
}

Result<void> Session::Impl::start() {
  if (stopped_) return fail(errc::stopped, "ZooKeeper session stopped");
  if (zh_ != nullptr) return {};
  bridge_ = std::make_unique<Bridge>(Bridge{executor_, weak_from_this()});
  work_ = boost::asio::prefer(executor_, boost::asio::execution::outstanding_work.tracked);
  clientid_t id{};
  const clientid_t* resume = nullptr;
  if (options_.resume) {
    id.client_id = options_.resume->id;
    std::copy_n(options_.resume->password.data(),
                std::min(options_.resume->password.size(), sizeof id.passwd), id.passwd);
    resume = &id;
  }
  zh_ = zookeeper_init2(options_.url.servers.c_str(), &Impl::watcher,
                        static_cast<int>(options_.session_timeout.count()), resume, bridge_.get(),
                        0, &drop_log);
  if (zh_ == nullptr) {
    bridge_.reset();
    work_ = {};
    return fail(errc::zookeeper_error,
                fmt::format("ZooKeeper client refused the servers '{}'", options_.url.servers));
  }
  if (!options_.url.user.empty()) {
    // Queued by the client and sent on every (re)connection before any other request.
    const std::string cert = options_.url.user + ":" + options_.url.password;
    auto* request = new Request{executor_, weak_from_this(), next_id_++};
    pending_.emplace(request->id, [self = weak_from_this()](Reply r) {
      auto impl = self.lock();
      if (impl && r.code == Code::auth_failed) impl->on_state(SessionState::auth_failed);
    });
    const int rc = zoo_add_auth(
        zh_, "digest", cert.data(), static_cast<int>(cert.size()),
        [](int rc2, const void* data) {
          deliver(data, Reply{code_of(rc2), {}, {}});
        },
        request);
    if (rc != ZOK) {
      pending_.erase(request->id);
      delete request;
    }
  }
  return {};
}

void Session::Impl::stop() {
  if (stopped_) return;
  stopped_ = true;
  pending_.clear();
  if (zh_ != nullptr) {
    // Joins the client's threads: completions still queued run (with ZCLOSING) before it
    // returns, and only post to a now-inert Impl.
    zookeeper_close(zh_);
    zh_ = nullptr;
  }
  bridge_.reset();
  work_ = {};
}

void Session::Impl::submit(std::function<int(zhandle_t*, void* data)> issue,
                           std::function<void(Reply)> done) {
  if (stopped_ || zh_ == nullptr) return;
  auto* request = new Request{executor_, weak_from_this(), next_id_++};
  pending_.emplace(request->id, std::move(done));
  const std::uint64_t id = request->id;
  const int rc = issue(zh_, request);
  if (rc != ZOK) {
    // Refused before it was queued (an expired or closing handle): the C client will not call
    // back, so we answer, later, as it would have.
    delete request;
    boost::asio::post(executor_, [w = weak_from_this(), id, rc] {
      if (auto impl = w.lock()) impl->complete(id, Reply{code_of(rc), {}, {}});
    });
  }
}

void Session::Impl::complete(std::uint64_t id, Reply reply) {
  if (stopped_) return;
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  auto done = std::move(it->second);
  pending_.erase(it);
  if (done) done(std::move(reply));
}

void Session::Impl::on_state(SessionState state) {
  if (stopped_) return;
  if (state_ == SessionState::expired || state_ == SessionState::auth_failed) return;
  if (state == state_ && state != SessionState::connected) return;
  state_ = state;
  log(state == SessionState::connected ? scheduler::LogLevel::debug : scheduler::LogLevel::info,
      fmt::format("ZooKeeper session {} at '{}'", to_string(state), options_.url.servers));
  if (handlers_.on_state) handlers_.on_state(state);
}

Session::Session(boost::asio::any_io_executor executor, SessionOptions options, Handlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handlers))) {}

Session::~Session() {
  stop();
}

Result<void> Session::start() {
  return impl_->start();
}

void Session::stop() {
  impl_->stop();
}

SessionState Session::state() const noexcept {
  return impl_->state_;
}

std::chrono::milliseconds Session::negotiated_timeout() const {
  if (impl_->zh_ == nullptr) return std::chrono::milliseconds(0);
  // Before the first connection this is the timeout asked for.
  return std::chrono::milliseconds(zoo_recv_timeout(impl_->zh_));
}

std::optional<SessionId> Session::id() const {
  if (impl_->zh_ == nullptr) return std::nullopt;
  const clientid_t* id = zoo_client_id(impl_->zh_);
  if (id == nullptr || id->client_id == 0) return std::nullopt;
  return SessionId{id->client_id, std::string(id->passwd, sizeof id->passwd)};
}

void Session::get_children(const std::string& path, bool watch, ChildrenDone done) {
  impl_->submit(
      [path, watch](zhandle_t* zh, void* data) {
        return zoo_aget_children(
            zh, path.c_str(), watch ? 1 : 0,
            [](int rc, const String_vector* strings, const void* d) {
              Reply r{code_of(rc), {}, {}};
              if (rc == ZOK && strings != nullptr) {
                for (int i = 0; i < strings->count; ++i)
                  r.children.emplace_back(strings->data[i]);
              }
              Impl::deliver(d, std::move(r));
            },
            data);
      },
      [done = std::move(done)](Reply r) {
        if (done) done(r.code, std::move(r.children));
      });
}

void Session::get(const std::string& path, bool watch, DataDone done) {
  impl_->submit(
      [path, watch](zhandle_t* zh, void* data) {
        return zoo_aget(
            zh, path.c_str(), watch ? 1 : 0,
            [](int rc, const char* value, int len, const Stat*, const void* d) {
              Reply r{code_of(rc), {}, {}};
              if (rc == ZOK && value != nullptr && len > 0) {
                r.data.assign(value, static_cast<std::size_t>(len));
              }
              Impl::deliver(d, std::move(r));
            },
            data);
      },
      [done = std::move(done)](Reply r) {
        if (done) done(r.code, std::move(r.data));
      });
}

void Session::exists(const std::string& path, bool watch, Done done) {
  impl_->submit(
      [path, watch](zhandle_t* zh, void* data) {
        return zoo_aexists(
            zh, path.c_str(), watch ? 1 : 0,
            [](int rc, const Stat*, const void* d) {
              Impl::deliver(d, Reply{code_of(rc), {}, {}});
            },
            data);
      },
      [done = std::move(done)](Reply r) {
        if (done) done(r.code);
      });
}

void Session::create(const std::string& path, std::string data_in, bool ephemeral, bool sequential,
                     CreateDone done) {
  const int flags = (ephemeral ? ZOO_EPHEMERAL : 0) | (sequential ? ZOO_SEQUENCE : 0);
  impl_->submit(
      [path, value = std::move(data_in), flags](zhandle_t* zh, void* data) {
        return zoo_acreate(
            zh, path.c_str(), value.data(), static_cast<int>(value.size()), &ZOO_OPEN_ACL_UNSAFE,
            flags,
            [](int rc, const char* created, const void* d) {
              Reply r{code_of(rc), {}, {}};
              if (rc == ZOK && created != nullptr) r.data = created;
              Impl::deliver(d, std::move(r));
            },
            data);
      },
      [done = std::move(done)](Reply r) {
        if (done) done(r.code, std::move(r.data));
      });
}

void Session::create_parents(const std::string& path, Done done) {
  // Each prefix in turn; one that exists already is fine.
  std::vector<std::string> prefixes;
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') prefixes.push_back(path.substr(0, i));
  }
  auto step = std::make_shared<std::function<void(std::size_t)>>();
  *step = [this, prefixes, done = std::move(done), step_weak = std::weak_ptr(step)](std::size_t i) {
    if (i == prefixes.size()) {
      if (done) done(Code::ok);
      return;
    }
    create(prefixes[i], {}, false, false,
           [done, i, step = step_weak.lock()](Code code, std::string) {
             if (code != Code::ok && code != Code::node_exists) {
               if (done) done(code);
               return;
             }
             if (step) (*step)(i + 1);
           });
  };
  (*step)(0);
}

void Session::remove(const std::string& path, Done done) {
  impl_->submit(
      [path](zhandle_t* zh, void* data) {
        return zoo_adelete(
            zh, path.c_str(), -1,
            [](int rc, const void* d) {
              Impl::deliver(d, Reply{code_of(rc), {}, {}});
            },
            data);
      },
      [done = std::move(done)](Reply r) {
        if (done) done(r.code);
      });
}

Code Session::get_now(const std::string& path, std::string& data) {
  if (impl_->stopped_ || impl_->zh_ == nullptr) return Code::closed;
  // Sized by a stat first: the buffer must hold the whole node, up to the server's limit.
  Stat stat{};
  int rc = zoo_exists(impl_->zh_, path.c_str(), 0, &stat);
  if (rc != ZOK) return code_of(rc);
  for (;;) {
    data.resize(static_cast<std::size_t>(stat.dataLength) + 1);
    int len = static_cast<int>(data.size());
    rc = zoo_get(impl_->zh_, path.c_str(), 0, data.data(), &len, &stat);
    if (rc != ZOK) return code_of(rc);
    // Grown between the two reads: read again with the new size.
    if (stat.dataLength >= static_cast<int>(data.size())) continue;
    data.resize(len < 0 ? 0 : static_cast<std::size_t>(len));
    return Code::ok;
  }
}

Code Session::children_now(const std::string& path, std::vector<std::string>& children) {
  if (impl_->stopped_ || impl_->zh_ == nullptr) return Code::closed;
  String_vector strings{};
  const int rc = zoo_get_children(impl_->zh_, path.c_str(), 0, &strings);
  if (rc != ZOK) return code_of(rc);
  children.clear();
  for (int i = 0; i < strings.count; ++i)
    children.emplace_back(strings.data[i]);
  deallocate_String_vector(&strings);
  return Code::ok;
}

Code Session::set_now(const std::string& path, std::string_view data) {
  if (impl_->stopped_ || impl_->zh_ == nullptr) return Code::closed;
  return code_of(zoo_set(impl_->zh_, path.c_str(), data.data(), static_cast<int>(data.size()), -1));
}

Code Session::create_now(const std::string& path, std::string_view data) {
  if (impl_->stopped_ || impl_->zh_ == nullptr) return Code::closed;
  return code_of(zoo_create(impl_->zh_, path.c_str(), data.data(), static_cast<int>(data.size()),
                            &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0));
}

Code Session::remove_now(const std::string& path) {
  if (impl_->stopped_ || impl_->zh_ == nullptr) return Code::closed;
  return code_of(zoo_delete(impl_->zh_, path.c_str(), -1));
}

}  // namespace heatblast::zookeeper
