#include "master_server.hpp"

#include <charconv>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

#include "heatblast/codec.hpp"
#include "heatblast/json.hpp"
#include "heatblast/recordio.hpp"
#include "heatblast/zookeeper.hpp"
#include "read_endpoints.hpp"

namespace heatblast::local_master {
namespace {

using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

TimePoint now() {
  return std::chrono::system_clock::now();
}

bool is_scheduler_path(std::string_view path) {
  return path == "/api/v1/scheduler" || path == "/master/api/v1/scheduler";
}

// Mesos picks JSON when both types are acceptable (no Accept, */*, application/*, or a list
// naming both), and protobuf only when it alone is acceptable. q=0 excludes a type.
std::optional<ContentType> negotiate(std::optional<std::string_view> accept) {
  if (!accept || accept->empty()) return ContentType::json;
  bool json = false;
  bool protobuf = false;
  std::string_view rest = *accept;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    std::string_view type = item.substr(0, item.find(';'));
    while (!type.empty() && type.front() == ' ')
      type.remove_prefix(1);
    while (!type.empty() && type.back() == ' ')
      type.remove_suffix(1);
    const bool refused =
        item.find("q=0") != std::string_view::npos && item.find("q=0.") == std::string_view::npos;
    if (refused) continue;
    if (type == "*/*" || type == "application/*") json = protobuf = true;
    if (type == "application/json") json = true;
    if (type == "application/x-protobuf") protobuf = true;
  }
  if (json) return ContentType::json;
  if (protobuf) return ContentType::protobuf;
  return std::nullopt;
}

// Drops the stream's connection once its writes have reached the kernel: abort() discards
// what is still queued behind a write in flight, which would turn "mid-record" into a clean
// record boundary. Holds the writer only (safe after the server is gone); gives up waiting
// after about a second.
void abort_when_flushed(boost::asio::any_io_executor executor, http::StreamWriter writer,
                        int tries_left = 1000) {
  if (writer.buffered() == 0 || tries_left <= 0 || !writer.open()) {
    writer.abort();
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(executor, std::chrono::milliseconds(1));
  timer->async_wait([executor, writer, timer, tries_left](boost::system::error_code) {
    abort_when_flushed(executor, writer, tries_left - 1);
  });
}

http::Headers text_headers() {
  return {{"Content-Type", "text/plain; charset=utf-8"}};
}

// One subscriber stream: events queue here until the HTTP stream exists (the Master sends
// SUBSCRIBED from inside handle_subscribe), then go to the connection in a handler of their
// own, after the one that produced them: the Master writes its checkpoint at the end of each
// call and advance, and a framework must not see an update before the checkpoint that records
// it (a master killed in between would forget, say, the pid of a task seen RUNNING). Each
// record is one HTTP chunk, queued ones included: RecordIO does not need it, but clients
// written against Mesos (which writes every event as its own chunk) read one record per chunk.
struct StreamState : std::enable_shared_from_this<StreamState> {
  boost::asio::any_io_executor executor;
  ContentType type = ContentType::json;
  std::string stream_id;
  http::StreamWriter writer;
  bool attached = false;
  bool close_requested = false;
  bool closed = false;
  bool drain_posted = false;
  std::vector<std::string> pending;
  const Faults* faults = nullptr;

  void write(std::string_view record) {
    pending.emplace_back(record);
    if (attached) post_drain();
  }
  void request_close() {
    close_requested = true;
    if (attached) post_drain();
  }
  void post_drain() {
    if (drain_posted) return;
    drain_posted = true;
    boost::asio::post(executor, [self = shared_from_this()] {
      self->drain_posted = false;
      self->drain();
    });
  }
  // Hands every queued record to the connection (then the close, when asked for). Only from a
  // handler that produced no update of its own since the Master's last checkpoint write.
  void drain() {
    if (!attached || closed) return;
    for (const auto& record : pending)
      writer.write(record);
    pending.clear();
    if (close_requested) {
      closed = true;
      writer.close();
    }
  }
  void attach(http::StreamWriter w) {
    writer = std::move(w);
    attached = true;
    drain();  // after handle_subscribe, which wrote its checkpoint
  }
};

class HttpSink final : public SubscriberSink {
 public:
  explicit HttpSink(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
  void send(const Event& event) override {
    if (state_->faults->stall_streams) return;
    record_.clear();
    MessageCodec(state_->type).encode(event, record_);
    framed_.clear();
    recordio_append(framed_, record_);
    state_->write(framed_);
  }
  void close() override { state_->request_close(); }

 private:
  std::shared_ptr<StreamState> state_;
  std::string record_;
  std::string framed_;
};

}  // namespace

class MasterServer::Impl {
 public:
  Impl(boost::asio::any_io_executor executor, MasterServerOptions options, TaskRunner& runner)
      : executor_(executor),
        options_(std::move(options)),
        master_(options_.master, runner),
        timer_(executor),
        reap_timer_(executor),
        signals_(executor) {}

  Result<void> start() {
    // Bind first: a master that cannot listen must not recover the checkpoint (adopting and
    // signalling tasks) nor say it runs.
    const int replicas = std::max(1, options_.replicas);
    for (int i = 0; i < replicas; ++i) {
      http::ServerOptions server_options;
      server_options.address = options_.address;
      server_options.port = static_cast<std::uint16_t>(options_.port + i);
      server_options.max_body_size = 16 << 20;
      // Also the time a request's body may take: short enough that clients trickling bodies
      // cannot hold the connection slots for long (idle kept-alive connections give way to
      // new ones at the cap anyway).
      server_options.idle_timeout = std::chrono::seconds(60);
      server_options.max_connections =
          options_.max_connections == 0
              ? 0
              : std::max<std::size_t>(
                    16, options_.max_connections / static_cast<std::size_t>(replicas));
      server_options.header_timeout = options_.header_timeout;
      server_options.log = [this](std::string_view line) { warn(line); };
      auto make_server = [&] {
        return std::make_unique<http::Server>(
            executor_, server_options,
            [this, i](const http::ServerRequest& request, http::Responder responder) {
              on_request(i, request, std::move(responder));
            });
      };
      std::unique_ptr<http::Server> server;
      Result<void> bound;
      if (options_.port == 0 && i > 0) {
        // Ephemeral ports (tests): the others follow replica 0 when the next ports are free,
        // and take any free port when not, rather than failing at random.
        const unsigned next = servers_[0]->port() + static_cast<unsigned>(i);
        if (next <= 65535) {
          server_options.port = static_cast<std::uint16_t>(next);
          server = make_server();
          bound = server->start();
        }
        if (!server || !bound) {
          server_options.port = 0;
          server = make_server();
          bound = server->start();
        }
      } else {
        server = make_server();
        bound = server->start();
      }
      if (!bound) {
        stop();
        return tl::unexpected(
            Error(bound.error().code,
                  fmt::format("replica {} cannot listen on {}:{}: {}", i, options_.address,
                              server_options.port, bound.error().what())));
      }
      servers_.push_back(std::move(server));
      running_.push_back(true);
    }
    if (auto started = master_.start(now()); !started) {
      stop();
      return started;
    }
    // Offers and /state point at the agents' endpoints, which replica 0 serves.
    master_.set_listen_port(servers_[0]->port());
    if (options_.reap) {
      signals_.add(SIGCHLD);
      wait_for_children();
      arm_reap_timer();
    }
    if (!options_.zk.empty()) {
      if (auto r = start_zk(); !r) {
        stop();
        return r;
      }
    }
    pump();
    return {};
  }

  // Posted, so safe from any thread; a wake that runs after the server is gone does nothing.
  void wake() {
    boost::asio::post(executor_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock() && !stopped_) {
        if (options_.reap) options_.reap();
        pump();
      }
    });
  }

  void stop() {
    stopped_ = true;
    if (zk_detector_) zk_detector_->stop();
    for (auto& session : zk_sessions_)
      session->stop();
    timer_.cancel();
    reap_timer_.cancel();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    for (auto& server : servers_)
      server->stop();
    streams_.clear();
  }

  std::vector<std::uint16_t> ports() const {
    std::vector<std::uint16_t> out;
    for (const auto& server : servers_)
      out.push_back(server->port());
    return out;
  }

  std::string leader_address() const {
    if (!have_leader_) return {};
    return fmt::format("{}:{}", options_.address, servers_.at(leader_)->port());
  }

  Result<void> move_leader(int index) {
    if (zk_detector_) {
      return fail(errc::invalid_argument,
                  "with --zk, ZooKeeper decides who leads: stop the leading replica instead");
    }
    if (index < 0 || index >= static_cast<int>(servers_.size())) {
      return fail(errc::invalid_argument, fmt::format("no replica {}", index));
    }
    if (!running_[index])
      return fail(errc::invalid_argument, fmt::format("replica {} is stopped", index));
    if (index == leader_) return {};
    log(fmt::format("leadership moves from replica {} to replica {}", leader_, index));
    drop_subscribers();
    leader_ = index;
    return {};
  }

  Result<void> stop_replica(int index) {
    if (index < 0 || index >= static_cast<int>(servers_.size())) {
      return fail(errc::invalid_argument, fmt::format("no replica {}", index));
    }
    if (index == leader_) drop_subscribers();
    servers_[index]->stop();
    running_[index] = false;
    if (zk_detector_) {
      // Its node goes with its session, so the next replica leads as soon as ZooKeeper says.
      zk_sessions_[index]->stop();
      update_zk_leader();
    }
    return {};
  }

  // --- ZooKeeper candidacy -------------------------------------------------------------------

  Result<void> start_zk() {
    auto url = zookeeper::parse_url(options_.zk);
    if (!url) return tl::unexpected(url.error());
    zk_url_ = *url;
    have_leader_ = false;
    const std::size_t n = servers_.size();
    zk_nodes_.assign(n, std::string());
    for (std::size_t i = 0; i < n; ++i) {
      zookeeper::Session::Handlers handlers;
      handlers.on_state = [this, i](zookeeper::SessionState state) {
        if (state == zookeeper::SessionState::connected && zk_nodes_[i].empty()) {
          register_replica(i);
        } else if (state == zookeeper::SessionState::expired ||
                   state == zookeeper::SessionState::auth_failed) {
          warn(fmt::format("replica {}: ZooKeeper session {}; it no longer stands for leader", i,
                           zookeeper::to_string(state)));
          zk_nodes_[i].clear();
          update_zk_leader();
        }
      };
      zookeeper::SessionOptions session_options;
      session_options.url = zk_url_;
      zk_sessions_.push_back(std::make_unique<zookeeper::Session>(
          executor_, std::move(session_options), std::move(handlers)));
      if (auto r = zk_sessions_.back()->start(); !r) return r;
    }
    zookeeper::DetectorOptions detector_options;
    detector_options.url = zk_url_;
    zookeeper::MasterDetector::Handlers handlers;
    handlers.on_leader = [this](const std::optional<zookeeper::Leader>&) { update_zk_leader(); };
    handlers.on_fatal = [this](const Error& error) {
      warn(fmt::format("ZooKeeper: {}", error.what()));
      update_zk_leader();
    };
    zk_detector_ = std::make_unique<zookeeper::MasterDetector>(executor_, detector_options,
                                                               std::move(handlers));
    return zk_detector_->start();
  }

  // The MasterInfo a Mesos master writes, for replica `i`: its own port in it.
  std::string master_info_json(std::size_t i) const {
    mesos::v1::MasterInfo info = master_.master_info();
    const auto port = servers_[i]->port();
    info.set_port(port);
    info.set_pid(fmt::format("master@{}:{}", options_.address, port));
    info.mutable_address()->set_port(port);
    return json::encode(info);
  }

  void register_replica(std::size_t i) {
    auto& session = *zk_sessions_[i];
    session.create_parents(zk_url_.path, [this, i](zookeeper::Code code) {
      if (code != zookeeper::Code::ok) {
        warn(fmt::format("replica {}: cannot create '{}' in ZooKeeper: {}", i, zk_url_.path,
                         zookeeper::to_string(code)));
        return;
      }
      const std::string prefix =
          (zk_url_.path == "/" ? std::string() : zk_url_.path) + "/json.info_";
      zk_sessions_[i]->create(
          prefix, master_info_json(i), /*ephemeral=*/true, /*sequential=*/true,
          [this, i](zookeeper::Code created, std::string path) {
            if (created != zookeeper::Code::ok) {
              warn(fmt::format("replica {}: cannot register in ZooKeeper: {}", i,
                               zookeeper::to_string(created)));
              return;
            }
            zk_nodes_[i] = path.substr(path.rfind('/') + 1);
            log(fmt::format("replica {} registered in ZooKeeper as '{}'", i, zk_nodes_[i]));
            update_zk_leader();
          });
    });
  }

  // Leads: the running replica whose node the detector names. None of ours (a foreign or no
  // node): no leader, every replica answers 503 as a Mesos master does before an election.
  void update_zk_leader() {
    if (!zk_detector_ || stopped_) return;
    const auto& detected = zk_detector_->leader();
    int index = -1;
    for (std::size_t i = 0; detected && i < zk_nodes_.size(); ++i) {
      if (running_[i] && !zk_nodes_[i].empty() && zk_nodes_[i] == detected->node) {
        index = static_cast<int>(i);
      }
    }
    if (index < 0) {
      if (have_leader_) {
        log("ZooKeeper names no replica of ours: no leader");
        drop_subscribers();
      }
      have_leader_ = false;
      return;
    }
    if (have_leader_ && index == leader_) return;
    log(fmt::format("ZooKeeper elected replica {} ('{}')", index, detected->node));
    if (have_leader_) drop_subscribers();
    leader_ = index;
    have_leader_ = true;
  }

  void close_streams(bool mid_record) {
    auto streams = streams_;
    for (auto& [id, state] : streams) {
      if (!state->attached) continue;
      state->drain();  // what is queued goes first, whole
      if (mid_record) {
        state->writer.write("120\n{\"type\":\"OFF");
        abort_when_flushed(executor_, state->writer);
      } else {
        state->closed = true;
        state->writer.close();
      }
      master_.on_subscriber_closed(id, now());
      streams_.erase(id);
    }
    pump();
  }

  void send_bad_record() {
    // Not an event in either content type: JSON cannot start with 0xff and protobuf cannot
    // read a tag from it.
    for (auto& [id, state] : streams_)
      state->write("3\n\xff\xff\xff");
  }

  Result<void> apply_fault(std::string_view name, std::string_view value) {
    auto number = [&](double& out) {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      return ec == std::errc() && end == value.data() + value.size() && out >= 0;
    };
    double n = 0;
    if (name == "stall" && (value == "1" || value == "0")) {
      faults_.stall_streams = value == "1";
    } else if (name == "unavailable" && number(n)) {
      faults_.unavailable_until = std::chrono::steady_clock::now() +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(n));
    } else if (name == "delay" && number(n)) {
      faults_.delay = std::chrono::milliseconds(static_cast<std::int64_t>(n));
    } else if (name == "close" && (value == "clean" || value == "mid-record")) {
      close_streams(value == "mid-record");
    } else if (name == "bad-record") {
      send_bad_record();
    } else if (name == "leader" && number(n)) {
      return move_leader(static_cast<int>(n));
    } else if (name == "stop-replica" && number(n)) {
      return stop_replica(static_cast<int>(n));
    } else {
      return fail(errc::invalid_argument,
                  fmt::format("unknown fault '{}={}' (stall=1|0, unavailable=SECONDS, "
                              "delay=MILLISECONDS, close=clean|mid-record, bad-record=1, "
                              "leader=N, stop-replica=N)",
                              name, value));
    }
    log(fmt::format("fault '{}={}' applied", name, value));
    return {};
  }

  Master& master() { return master_; }
  Faults& faults() { return faults_; }
  int leader() const { return have_leader_ ? leader_ : -1; }

 private:
  void log(std::string_view message) const {
    if (options_.master.log) options_.master.log(message);
  }
  void warn(std::string_view message) const {
    if (options_.master.warn) options_.master.warn(message);
  }

  // Answers, and logs every refusal (4xx, 5xx) with its reason: a newcomer's bad request must
  // leave a trace. `call` names the scheduler call when the body was one.
  void respond(const http::ServerRequest& request, http::Responder& responder, int status,
               http::Headers headers = {}, std::string body = {}, std::string_view call = {}) {
    if (status >= 400) {
      std::string reason = body;
      while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r'))
        reason.pop_back();
      log(fmt::format("{} {}{} from {}: {}{}", request.method, request.path,
                      call.empty() ? std::string() : fmt::format(" ('{}' call)", call),
                      request.peer, status, reason.empty() ? std::string() : ": " + reason));
    }
    responder.respond(status, std::move(headers), std::move(body));
  }

  // The old leader's connections end, as when a master process dies.
  void drop_subscribers() {
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, state] : streams) {
      if (state->attached) state->writer.abort();
      master_.on_subscriber_closed(id, now());
    }
    pump();
  }

  // Runs what is due in the core and sleeps until its next deadline.
  void pump() {
    if (stopped_) return;
    master_.advance(now());
    auto next = master_.next_deadline();
    timer_.cancel();
    if (!next) return;
    timer_.expires_at(*next);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) pump();
    });
  }

  void wait_for_children() {
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec || stopped_) return;
      options_.reap();
      pump();
      wait_for_children();
    });
  }

  void arm_reap_timer() {
    reap_timer_.expires_after(options_.reap_interval);
    reap_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopped_) return;
      options_.reap();
      pump();
      arm_reap_timer();
    });
  }

  void on_request(int replica, const http::ServerRequest& request, http::Responder responder) {
    if (request.path == "/health" || request.path == "/master/health") {
      responder.respond(200);  // Mesos: an empty 200
      return;
    }
    if (auto served = serve_read_only(master_, request, now())) {
      respond(request, responder, served->status, std::move(served->headers),
              std::move(served->body));
      return;
    }
    if (request.path == "/admin/fault") {
      if (!options_.enable_fault_injection) {
        responder.respond(404, text_headers(), "Not found");
        return;
      }
      on_admin(request, std::move(responder));
      return;
    }
    if (!have_leader_ || replica != leader_) {
      if (!have_leader_ || !running_[leader_]) {
        respond(request, responder, 503, text_headers(), "No leader elected");
        return;
      }
      // Mesos's redirect: protocol-relative, the path kept.
      std::string path = request.path == "/redirect" || request.path == "/master/redirect"
                             ? std::string()
                             : request.path;
      responder.respond(307, {{"Location", fmt::format("//{}{}", leader_address(), path)}});
      return;
    }
    if (request.path == "/redirect" || request.path == "/master/redirect") {
      responder.respond(307, {{"Location", fmt::format("//{}", leader_address())}});
      return;
    }
    if (!is_scheduler_path(request.path)) {
      respond(request, responder, 404);  // Mesos: no body
      return;
    }
    if (faults_.unavailable_until &&
        std::chrono::steady_clock::now() < *faults_.unavailable_until) {
      respond(request, responder, 503, text_headers(), "Master has not finished recovery");
      return;
    }
    if (faults_.delay.count() > 0) {
      auto timer = std::make_shared<boost::asio::steady_timer>(executor_, faults_.delay);
      auto held = std::make_shared<http::Responder>(std::move(responder));
      timer->async_wait([this, timer, held, request](boost::system::error_code ec) {
        if (!ec && !stopped_) on_scheduler_request(request, std::move(*held));
      });
      return;
    }
    on_scheduler_request(request, std::move(responder));
  }

  void on_scheduler_request(const http::ServerRequest& request, http::Responder responder) {
    if (request.method != "POST") {
      http::Headers headers = text_headers();
      headers.emplace_back("Allow", "POST");
      respond(request, responder, 405, std::move(headers),
              fmt::format("Expecting one of {{ 'POST' }}, but received '{}'", request.method));
      return;
    }
    auto content_type = request.header("Content-Type");
    if (!content_type) {
      respond(request, responder, 400, text_headers(), "Expecting 'Content-Type' to be present");
      return;
    }
    // Mesos compares the whole header: a charset parameter is refused.
    std::optional<ContentType> request_type;
    if (*content_type == media_type(ContentType::json)) request_type = ContentType::json;
    if (*content_type == media_type(ContentType::protobuf)) request_type = ContentType::protobuf;
    if (!request_type) {
      respond(request, responder, 415, text_headers(),
              fmt::format("Expecting 'Content-Type' of {} or {}", media_type(ContentType::json),
                          media_type(ContentType::protobuf)));
      return;
    }
    Call call;
    if (auto decoded = MessageCodec(*request_type).decode(request.body, call); !decoded) {
      respond(request, responder, 400, text_headers(),
              fmt::format("Failed to convert {} into Call protobuf: {}", to_string(*request_type),
                          decoded.error().what()));
      return;
    }
    const auto stream_id_header = request.header("Mesos-Stream-Id");
    if (call.type() == Call::SUBSCRIBE) {
      auto accepted = negotiate(request.header("Accept"));
      if (!accepted) {
        respond(request, responder, 406, text_headers(),
                fmt::format("Expecting 'Accept' to allow {} or {}", media_type(ContentType::json),
                            media_type(ContentType::protobuf)));
        return;
      }
      subscribe(request, call, *accepted, stream_id_header, std::move(responder));
    } else {
      HttpAnswer answer = master_.handle_call(call, stream_id_header, now());
      // The headers first: the body is moved into the call.
      http::Headers headers = answer.body.empty() ? http::Headers{} : text_headers();
      respond(request, responder, answer.status, std::move(headers), std::move(answer.body),
              Call::Type_Name(call.type()));
    }
    pump();
  }

  void subscribe(const http::ServerRequest& request, const Call& call, ContentType type,
                 std::optional<std::string_view> stream_header, http::Responder responder) {
    auto state = std::make_shared<StreamState>();
    state->executor = executor_;
    state->type = type;
    state->faults = &faults_;
    HttpAnswer answer =
        master_.handle_subscribe(call, std::make_unique<HttpSink>(state), stream_header, now());
    if (!answer.streaming) {
      http::Headers headers = answer.body.empty() ? http::Headers{} : text_headers();
      respond(request, responder, answer.status, std::move(headers), std::move(answer.body),
              "SUBSCRIBE");
      return;
    }
    http::Headers headers = {{"Content-Type", std::string(media_type(type))}};
    if (answer.stream_id) headers.emplace_back("Mesos-Stream-Id", *answer.stream_id);
    http::StreamWriter writer = responder.start_stream(200, std::move(headers));
    const std::string stream_id = answer.stream_id.value_or("");
    state->stream_id = stream_id;
    if (!state->close_requested) streams_[stream_id] = state;
    writer.on_close([this, stream_id](Result<void>) {
      if (stopped_) return;
      streams_.erase(stream_id);
      master_.on_subscriber_closed(stream_id, now());
      pump();
    });
    state->attach(std::move(writer));
  }

  void on_admin(const http::ServerRequest& request, http::Responder responder) {
    if (request.method != "POST") {
      responder.respond(405, {{"Allow", "POST"}});
      return;
    }
    std::string_view body = request.body;
    std::string problems;
    while (!body.empty()) {
      const auto newline = body.find_first_of("\n&");
      std::string_view line = body.substr(0, newline);
      body = newline == std::string_view::npos ? std::string_view{} : body.substr(newline + 1);
      while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
        line.remove_suffix(1);
      if (line.empty()) continue;
      const auto eq = line.find('=');
      auto applied =
          apply_fault(line.substr(0, eq), eq == std::string_view::npos ? "1" : line.substr(eq + 1));
      if (!applied) problems += applied.error().what() + "\n";
    }
    if (!problems.empty()) {
      responder.respond(400, text_headers(), problems);
      return;
    }
    responder.respond(200, text_headers(), "OK\n");
  }

  boost::asio::any_io_executor executor_;
  MasterServerOptions options_;
  Master master_;
  std::vector<std::unique_ptr<http::Server>> servers_;
  std::vector<bool> running_;
  int leader_ = 0;
  bool have_leader_ = true;  // false with ZooKeeper until it names one of our replicas
  zookeeper::Url zk_url_;
  std::vector<std::unique_ptr<zookeeper::Session>> zk_sessions_;  // one per replica
  std::vector<std::string> zk_nodes_;  // each replica's node name; empty until created
  std::unique_ptr<zookeeper::MasterDetector> zk_detector_;
  Faults faults_;
  std::map<std::string, std::shared_ptr<StreamState>> streams_;
  boost::asio::system_timer timer_;
  boost::asio::steady_timer reap_timer_;
  boost::asio::signal_set signals_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the Impl
};

MasterServer::MasterServer(boost::asio::any_io_executor executor, MasterServerOptions options,
                           TaskRunner& runner)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options), runner)) {}
MasterServer::~MasterServer() {
  impl_->stop();
}
Result<void> MasterServer::start() {
  return impl_->start();
}
void MasterServer::wake() {
  impl_->wake();
}
void MasterServer::stop() {
  impl_->stop();
}
std::vector<std::uint16_t> MasterServer::ports() const {
  return impl_->ports();
}
int MasterServer::leader() const noexcept {
  return impl_->leader();
}
std::string MasterServer::leader_address() const {
  return impl_->leader_address();
}
Result<void> MasterServer::move_leader(int index) {
  return impl_->move_leader(index);
}
Result<void> MasterServer::stop_replica(int index) {
  return impl_->stop_replica(index);
}
void MasterServer::close_streams(bool mid_record) {
  impl_->close_streams(mid_record);
}
void MasterServer::send_bad_record() {
  impl_->send_bad_record();
}
Faults& MasterServer::faults() noexcept {
  return impl_->faults();
}
Result<void> MasterServer::apply_fault(std::string_view name, std::string_view value) {
  return impl_->apply_fault(name, value);
}
Master& MasterServer::master() noexcept {
  return impl_->master();
}

}  // namespace heatblast::local_master
