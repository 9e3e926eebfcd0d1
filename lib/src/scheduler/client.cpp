#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <google/protobuf/stubs/strutil.h>
#include <boost/asio/post.hpp>

#include "scheduler/client_impl.hpp"

namespace heatblast::scheduler {
namespace {

constexpr std::string_view kStreamIdHeader = "Mesos-Stream-Id";
constexpr double kDefaultHeartbeatSeconds = 15;
constexpr std::size_t kErrorBodyLimit = 4096;

std::string one_line(std::string_view text) {
  std::string out(text.substr(0, 300));
  for (auto& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string call_type_name(const Call& call) {
  const std::string& name = Call::Type_Name(call.type());
  return name.empty() ? fmt::format("{}", static_cast<int>(call.type())) : name;
}

}  // namespace

std::string_view to_string(State state) noexcept {
  switch (state) {
    case State::disconnected:
      return "disconnected";
    case State::connecting:
      return "connecting";
    case State::subscribed:
      return "subscribed";
    case State::stopped:
      return "stopped";
  }
  return "unknown";
}

Result<Credentials> Credentials::from_file(std::string principal, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(errc::io_error, fmt::format("cannot read the secret file '{}'", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string secret = ss.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r'))
    secret.pop_back();
  return Credentials{std::move(principal), std::move(secret)};
}

Result<std::vector<std::string>> parse_masters(std::string_view comma_separated) {
  // zk://h1:p1,h2:p2/path is one entry: its commas separate ZooKeeper servers.
  if (zookeeper::is_url(comma_separated)) {
    auto url = zookeeper::parse_url(comma_separated);
    if (!url) return tl::unexpected(url.error());
    std::string text(comma_separated);
    text.erase(0, text.find_first_not_of(" \t"));
    text.erase(text.find_last_not_of(" \t") + 1);
    return std::vector<std::string>{std::move(text)};
  }
  auto parsed = parse_master_list(comma_separated);
  if (!parsed) return tl::unexpected(parsed.error());
  std::vector<std::string> out;
  for (const auto& m : *parsed) {
    out.push_back(m.prefix.empty() && m.scheme == "http"
                      ? m.authority()
                      : fmt::format("{}://{}{}", m.scheme, m.authority(), m.prefix));
  }
  return out;
}

// --- Impl: setup and state -------------------------------------------------------------------

Client::Impl::Impl(boost::asio::any_io_executor executor, Options options, Handlers handlers)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      reconnect_timer_(executor_),
      heartbeat_timer_(executor_),
      reconcile_timer_(executor_),
      backoff_(options_.backoff),
      reconciler_(options_.reconcile_backoff) {}

void Client::Impl::log(LogLevel level, std::string message) const {
  if (handlers_.on_log) handlers_.on_log(level, message);
}

void Client::Impl::transition_to(State next, std::string_view reason) {
  if (next == state_) return;
  // While no master answers, attempts come several times a second: each one is logged at
  // debug level, and disconnect() writes a summary at a readable rate.
  const bool retrying =
      failed_attempts_ > 0 && (next == State::connecting || next == State::disconnected);
  log(retrying ? LogLevel::debug
               : (next == State::disconnected ? LogLevel::warning : LogLevel::info),
      fmt::format("scheduler: '{}' -> '{}' ({})", to_string(state_), to_string(next), reason));
  state_ = next;
  if (handlers_.on_state) handlers_.on_state(next, reason);
}

Result<void> Client::Impl::start() {
  if (state_ == State::stopped) return fail(errc::stopped, "the client was stopped");
  if (started_) return {};
  if (options_.masters.empty()) return fail(errc::invalid_argument, "no master given");
  if (auto r = start_detector(); !r) return r;
  if (!(options_.heartbeat_misses > 0) || options_.heartbeat_misses > 1000) {
    return fail(errc::invalid_argument, "'heartbeat_misses' must be above 0 (and sane)");
  }
  if (options_.max_queued_calls == 0) {
    return fail(errc::invalid_argument, "'max_queued_calls' must be at least 1");
  }
  for (const auto& text : options_.masters) {
    if (detector_) break;
    auto master = parse_master(text);
    if (!master) return tl::unexpected(master.error());
    masters_.push_back(std::move(*master));
  }
  if (options_.credentials) {
    for (const auto& m : masters_) {
      if (m.scheme == "http")
        log(LogLevel::warning,
            fmt::format("scheduler: the secret of principal '{}' is sent in clear text to "
                        "'http://{}' (list the master as https:// to protect it)",
                        options_.credentials->principal, m.authority()));
    }
  }
  framework_ = options_.framework;
  if (!framework_.has_user() || !framework_.has_name() || framework_.name().empty()) {
    return fail(errc::invalid_argument,
                "FrameworkInfo needs 'user' and 'name' (Mesos requires both; the HTTP API does "
                "not fill in the user)");
  }
  if (!framework_.has_failover_timeout()) {
    framework_.set_failover_timeout(options_.default_failover_timeout_seconds);
  }
  if (framework_.has_id()) framework_id_ = framework_.id();
  suppressed_.insert(options_.suppressed_roles.begin(), options_.suppressed_roles.end());

  http::ClientOptions http_options;
  http_options.ca_file = options_.ca_file;
  http_options.verify_peer = options_.verify_peer;
  http_options.user_agent = "heatblast-scheduler";
  http_.emplace(executor_, std::move(http_options));

  started_ = true;
  unreached_since_ = Clock::now();
  if (detector_) {
    // Connects once the detector names a leader (on_leader).
    if (auto r = detector_->start(); !r) return r;
    return {};
  }
  current_ = masters_.front();
  connect();
  return {};
}

Result<void> Client::Impl::start_detector() {
  const bool any_zk = std::any_of(options_.masters.begin(), options_.masters.end(),
                                  [](const std::string& m) { return zookeeper::is_url(m); });
  if (!any_zk) return {};
  if (options_.masters.size() != 1) {
    return fail(errc::invalid_argument, "a zk:// URL must be the only entry of the masters");
  }
  auto url = zookeeper::parse_url(options_.masters.front());
  if (!url) return tl::unexpected(url.error());
  zookeeper::DetectorOptions options;
  options.url = std::move(*url);
  std::weak_ptr<Impl> weak = weak_from_this();
  zookeeper::MasterDetector::Handlers handlers;
  handlers.on_leader = [weak](const std::optional<zookeeper::Leader>& leader) {
    if (auto self = weak.lock()) self->on_leader(leader);
  };
  handlers.on_fatal = [weak](const Error& error) {
    if (auto self = weak.lock()) self->fail_fatal(error);
  };
  handlers.on_log = [weak](LogLevel level, std::string_view message) {
    if (auto self = weak.lock()) self->log(level, fmt::format("scheduler: {}", message));
  };
  detector_ = std::make_unique<zookeeper::MasterDetector>(executor_, std::move(options),
                                                          std::move(handlers));
  return {};
}

void Client::Impl::on_leader(const std::optional<zookeeper::Leader>& leader) {
  if (state_ == State::stopped) return;
  if (!leader) {
    masters_.clear();
    if (state_ != State::disconnected) {
      disconnect("no leading master in ZooKeeper", /*rotate=*/false, /*immediately=*/true);
    } else {
      ++generation_;  // a pending attempt has no master to go to
      reconnect_timer_.cancel();
    }
    return;
  }
  MasterEndpoint leader_endpoint;
  leader_endpoint.host = leader->address.host;
  leader_endpoint.port = leader->address.port;
  masters_ = {leader_endpoint};
  master_index_ = 0;
  redirects_in_row_ = 0;
  const bool same = state_ != State::disconnected && current_ == leader_endpoint;
  current_ = leader_endpoint;
  if (same) return;
  // The same framework id subscribes at the new leader at once; no backoff for a move that
  // ZooKeeper announced.
  if (state_ != State::disconnected) {
    disconnect(fmt::format("the leading master moved to '{}'", current_.authority()),
               /*rotate=*/false, /*immediately=*/true);
  } else {
    ++generation_;
    schedule_connect(std::chrono::milliseconds(0));
  }
}

void Client::Impl::stop(std::string_view reason) {
  if (state_ == State::stopped) return;
  ++generation_;
  if (detector_) detector_->stop();
  reconnect_timer_.cancel();
  heartbeat_timer_.cancel();
  reconcile_timer_.cancel();
  if (http_) http_->cancel_all();
  stream_request_ = 0;
  call_request_ = 0;
  decoder_.reset();
  stream_ended_.reset();
  reconciler_.clear();
  transition_to(State::stopped, reason);
  // Callers of pending calls learn now, before stop() returns; so do those whose answer was
  // decided but not yet delivered.
  fail_calls(errc::stopped, "the client was stopped");
  for (const auto& call : carried_acks_)
    ++call_counts(call).failed;
  carried_acks_.clear();
  run_completions();
}

// --- Subscribing -----------------------------------------------------------------------------

Call Client::Impl::subscribe_call() const {
  Call call;
  call.set_type(Call::SUBSCRIBE);
  auto* subscribe = call.mutable_subscribe();
  *subscribe->mutable_framework_info() = framework_;
  // Both ids or neither (a mismatch is a 400).
  if (framework_id_) {
    *call.mutable_framework_id() = *framework_id_;
    *subscribe->mutable_framework_info()->mutable_id() = *framework_id_;
  }
  for (const auto& role : suppressed_)
    subscribe->add_suppressed_roles(role);
  return call;
}

http::Headers Client::Impl::request_headers(bool with_stream_id) const {
  const std::string type(media_type(options_.content_type));
  http::Headers headers = {{"Content-Type", type}, {"Accept", type}};
  if (with_stream_id) headers.emplace_back(kStreamIdHeader, stream_id_);
  if (options_.credentials) {
    std::string token;
    google::protobuf::Base64Escape(
        options_.credentials->principal + ":" + options_.credentials->secret, &token);
    headers.emplace_back("Authorization", "Basic " + token);
  }
  return headers;
}

void Client::Impl::connect() {
  if (state_ == State::stopped) return;
  if (detector_ && masters_.empty()) {
    transition_to(State::disconnected, "waiting for a leading master in ZooKeeper");
    return;
  }
  const std::uint64_t generation = ++generation_;
  if (attempts_++ > 0) ++counters_.reconnects;
  stream_kind_ = StreamKind::none;
  stream_status_ = 0;
  stream_error_body_.clear();
  stream_id_.clear();
  decoder_.reset();
  transition_to(State::connecting, fmt::format("subscribing at '{}'", current_.authority()));
  // The state handler may have stopped the client.
  if (state_ != State::connecting || generation != generation_) return;

  http::Request request;
  request.url = current_.scheduler_url();
  request.headers = request_headers(/*with_stream_id=*/false);
  request.body = MessageCodec(options_.content_type).encode(subscribe_call());
  request.connect_timeout = options_.connect_timeout;

  std::weak_ptr<Impl> weak = weak_from_this();
  http::StreamHandlers handlers;
  handlers.on_head = [weak, generation](const http::Response& head) {
    if (auto self = weak.lock()) self->on_stream_head(generation, head);
  };
  handlers.on_data = [weak, generation](std::string_view bytes) {
    if (auto self = weak.lock()) self->on_stream_data(generation, bytes);
  };
  handlers.on_end = [weak, generation](Result<void> end) {
    if (auto self = weak.lock()) self->on_stream_end(generation, std::move(end));
  };
  stream_request_ = http_->async_stream(std::move(request), std::move(handlers));
  // Until SUBSCRIBED names the interval, the watchdog also bounds a master that accepts the
  // connection and then says nothing.
  heartbeat_interval_seconds_ = kDefaultHeartbeatSeconds;
  last_activity_ = Clock::now();
  arm_heartbeat_watchdog();
}

void Client::Impl::on_stream_head(std::uint64_t generation, const http::Response& head) {
  if (generation != generation_) return;
  stream_status_ = head.status;
  last_activity_ = Clock::now();
  switch (head.status) {
    case 200: {
      auto id = head.header(kStreamIdHeader);
      if (!id || id->empty()) {
        disconnect("the SUBSCRIBE answer has no 'Mesos-Stream-Id'", /*rotate=*/true);
        return;
      }
      stream_id_ = std::string(*id);
      stream_kind_ = StreamKind::events;
      auto type = head.header("Content-Type") ? parse_media_type(*head.header("Content-Type"))
                                              : std::nullopt;
      decoder_ = std::make_shared<EventStreamDecoder>(
          type.value_or(options_.content_type),
          RecordIODecoder::Options{.max_record_size = options_.max_event_size});
      return;
    }
    case 307: {
      stream_kind_ = StreamKind::redirect;
      auto location = head.header("Location");
      if (!location) {
        disconnect("a 307 without 'Location'", /*rotate=*/true);
        return;
      }
      auto leader = parse_redirect(*location, current_);
      if (!leader) {
        disconnect(leader.error().message, /*rotate=*/true);
        return;
      }
      ++counters_.redirects;
      log(LogLevel::info, fmt::format("scheduler: '{}' is not the leader; redirected to '{}'",
                                      current_.authority(), leader->authority()));
      current_ = std::move(*leader);
      if (++redirects_in_row_ > options_.max_redirects) {
        redirects_in_row_ = 0;
        disconnect(fmt::format("more than {} redirects in a row", options_.max_redirects),
                   /*rotate=*/false);
      } else {
        disconnect("following the redirect", /*rotate=*/false, /*immediately=*/true);
      }
      return;
    }
    case 400:
    case 401:
    case 403:
    case 406:
    case 415:
      // A refusal: collect the master's text, decide at the end of the body.
      stream_kind_ = StreamKind::refused;
      return;
    default:
      // 503 (no leader, or recovering), 404 (routes not ready yet), other 5xx: try again.
      stream_kind_ = StreamKind::retry;
      return;
  }
}

void Client::Impl::on_stream_data(std::uint64_t generation, std::string_view bytes) {
  if (generation != generation_) return;
  last_activity_ = Clock::now();
  if (stream_kind_ != StreamKind::events) {
    const auto room = kErrorBodyLimit - std::min(kErrorBodyLimit, stream_error_body_.size());
    stream_error_body_.append(bytes.substr(0, room));
    return;
  }
  counters_.bytes_received += bytes.size();
  auto self = shared_from_this();  // a handler may drop the last Client
  auto decoder = decoder_;         // stays alive even if a handler replaces or drops decoder_
  auto fed = decoder->feed(bytes, [&](const Event& event) { return on_event(generation, event); });
  if (generation != generation_) {  // a handler stopped, or the stream was replaced
    gated_acks_.clear();
    return;
  }
  // Before a broken record ends the stream: the updates before it were delivered.
  release_gated_acks();
  if (generation != generation_) return;
  if (!fed) {
    log(LogLevel::error, fmt::format("scheduler: broken event stream from '{}': {}",
                                     current_.authority(), fed.error().what()));
    disconnect("broken event stream", /*rotate=*/false);
  }
}

void Client::Impl::on_stream_end(std::uint64_t generation, Result<void> end) {
  if (generation != generation_) return;
  stream_request_ = 0;
  const std::string body = one_line(stream_error_body_);
  switch (stream_kind_) {
    case StreamKind::events: {
      std::string why = end ? "the master closed the event stream"
                            : fmt::format("the event stream broke: {}", end.error().what());
      if (decoder_ && !decoder_->at_boundary()) why += " (inside a record)";
      if (in_flight_ && in_flight_->call.type() == Call::TEARDOWN) {
        // The master ends the stream of the framework it tears down, and that end may overtake
        // the 202 on the other connection: let the answer decide (success stops the client).
        log(LogLevel::info, fmt::format("scheduler: {} while 'TEARDOWN' awaits its answer", why));
        stream_ended_ = std::move(why);
        return;
      }
      const bool clean = end && !(decoder_ && !decoder_->at_boundary());
      disconnect(why, /*rotate=*/false, /*immediately=*/false, /*clean_end=*/clean);
      return;
    }
    case StreamKind::refused: {
      const std::string message =
          fmt::format("'{}' refused SUBSCRIBE with {}: {}", current_.authority(), stream_status_,
                      body.empty() ? "(no message)" : body);
      fail_fatal(Error(errc::subscription_failed, message));
      return;
    }
    case StreamKind::retry:
      disconnect(fmt::format("'{}' answered {}: {}", current_.authority(), stream_status_,
                             body.empty() ? "(no message)" : body),
                 /*rotate=*/true);
      return;
    case StreamKind::redirect:
      return;  // handled at the head
    case StreamKind::none:
      disconnect(
          end ? "no answer from the master"
              : fmt::format("cannot reach '{}': {}", current_.authority(), end.error().what()),
          /*rotate=*/true);
      return;
  }
}

bool Client::Impl::on_event(std::uint64_t generation, const Event& event) {
  if (generation != generation_) {
    ++counters_.stale_events;
    return false;
  }
  const std::string& type_name = Event::Type_Name(event.type());
  ++counters_.events[type_name.empty() ? "UNKNOWN" : type_name];

  if (state_ == State::connecting && event.type() != Event::SUBSCRIBED &&
      event.type() != Event::ERROR) {
    log(LogLevel::warning, fmt::format("scheduler: '{}' before SUBSCRIBED; ignored",
                                       type_name.empty() ? "?" : type_name));
    return true;
  }
  switch (event.type()) {
    case Event::SUBSCRIBED:
      on_subscribed(event);
      break;
    case Event::ERROR:
      on_error_event(event);
      return false;
    case Event::UNKNOWN:
      return true;  // a type newer than this build: ignored, as Mesos asks
    default: {
      const bool update =
          event.type() == Event::UPDATE || event.type() == Event::UPDATE_OPERATION_STATUS;
      delivering_update_ = update;
      hold_ack_ = false;
      if (handlers_.on_event) handlers_.on_event(event);
      delivering_update_ = false;
      break;
    }
  }
  if (generation != generation_) return false;
  if (event.type() == Event::UPDATE || event.type() == Event::UPDATE_OPERATION_STATUS) {
    const bool held = std::exchange(hold_ack_, false);
    if (held) {
      ++counters_.acknowledgements_held;
      log(LogLevel::warning,
          "scheduler: acknowledgement held back by the application; the "
          "master will send the update again");
    }
    after_update(event, held);
  }
  return generation == generation_;
}

void Client::Impl::on_subscribed(const Event& event) {
  const std::uint64_t generation = generation_;
  const auto& subscribed = event.subscribed();
  framework_id_ = subscribed.framework_id();
  *framework_.mutable_id() = subscribed.framework_id();
  // A master's interval is trusted within reason: a huge or infinite one would overflow the
  // watchdog's duration.
  const double interval = subscribed.heartbeat_interval_seconds();
  heartbeat_interval_seconds_ = interval > 0 && interval < 3600
                                    ? interval
                                    : (interval >= 3600 ? 3600 : kDefaultHeartbeatSeconds);
  ++counters_.subscriptions;
  subscribed_at_ = Clock::now();
  backoff_.reset();
  if (failed_attempts_ > 1) {
    log(LogLevel::info,
        fmt::format("scheduler: subscribed after {} failed attempt(s)", failed_attempts_));
  }
  failed_attempts_ = 0;
  unreached_since_.reset();
  redirects_in_row_ = 0;
  // Persist first: nothing may act on a framework id that a crash could forget.
  if (handlers_.on_framework_id) handlers_.on_framework_id(subscribed.framework_id());
  if (generation != generation_) return;
  transition_to(State::subscribed, fmt::format("framework '{}' at '{}'", framework_id_->value(),
                                               current_.authority()));
  if (generation != generation_) return;
  arm_heartbeat_watchdog();
  resend_carried_acks();
  if (handlers_.on_event) handlers_.on_event(event);
  if (generation != generation_) return;
  reconcile_after_subscribe();
}

void Client::Impl::resend_carried_acks() {
  std::deque<Call> acks;
  acks.swap(carried_acks_);
  for (auto& call : acks) {
    // A framework that is not the one they were for (a new id) has nothing to acknowledge.
    if (call.framework_id().value() != framework_id_->value()) {
      ++call_counts(call).failed;
      continue;
    }
    if (calls_.size() + acks_.size() >= options_.max_queued_calls) {
      ++call_counts(call).failed;
      continue;
    }
    auto& queue = call.type() == Call::ACKNOWLEDGE ? acks_ : calls_;
    queue.push_back(PendingCall{std::move(call), {}});
  }
  pump_calls();
  pump_acks();
}

void Client::Impl::on_error_event(const Event& event) {
  const std::string& message = event.error().message();
  if (handlers_.on_event) handlers_.on_event(event);
  if (state_ == State::stopped) return;
  const errc code = message.find("has been removed") != std::string::npos
                        ? errc::framework_removed
                        : errc::subscription_failed;
  fail_fatal(Error(code, fmt::format("the master sent ERROR: {}", message)));
}

void Client::Impl::release_gated_acks() {
  // Called after every read, acknowledgements or not: the gate also ends the handler's batch.
  if (!ack_gate_) return;
  std::vector<Call> acks;
  acks.swap(gated_acks_);
  const std::uint64_t generation = generation_;
  const bool pass = ack_gate_(acks.size());
  if (generation != generation_) return;  // the gate's handler stopped the client
  if (!pass) {
    if (acks.empty()) return;
    counters_.acknowledgements_held += acks.size();
    log(LogLevel::warning,
        fmt::format("scheduler: {} acknowledgement(s) held back by the application; the master "
                    "will send those updates again",
                    acks.size()));
    return;
  }
  counters_.acknowledgements += acks.size();
  for (auto& ack : acks)
    send(std::move(ack), {});
}

void Client::Impl::after_update(const Event& event, bool held) {
  if (event.type() == Event::UPDATE) {
    const auto& status = event.update().status();
    reconciler_.answered(status.task_id().value());
    if (options_.auto_acknowledge && !held && status.has_uuid()) {
      Call call;
      call.set_type(Call::ACKNOWLEDGE);
      auto* ack = call.mutable_acknowledge();
      *ack->mutable_agent_id() = status.agent_id();
      *ack->mutable_task_id() = status.task_id();
      ack->set_uuid(status.uuid());
      if (ack_gate_) {
        gated_acks_.push_back(std::move(call));
      } else {
        ++counters_.acknowledgements;
        send(std::move(call), {});
      }
    }
    return;
  }
  const auto& status = event.update_operation_status().status();
  if (options_.auto_acknowledge && !held && status.has_uuid() && status.has_operation_id()) {
    Call call;
    call.set_type(Call::ACKNOWLEDGE_OPERATION_STATUS);
    auto* ack = call.mutable_acknowledge_operation_status();
    if (status.has_agent_id()) *ack->mutable_agent_id() = status.agent_id();
    if (status.has_resource_provider_id()) {
      *ack->mutable_resource_provider_id() = status.resource_provider_id();
    }
    ack->set_uuid(status.uuid().value());
    *ack->mutable_operation_id() = status.operation_id();
    if (ack_gate_) {
      gated_acks_.push_back(std::move(call));
    } else {
      ++counters_.acknowledgements;
      send(std::move(call), {});
    }
  }
}

// --- Losing and regaining the connection -----------------------------------------------------

void Client::Impl::disconnect(std::string_view reason, bool rotate, bool immediately,
                              bool clean_end) {
  if (state_ == State::stopped) return;
  const bool was_subscribed = state_ == State::subscribed;
  // A master that cleanly ends a subscription that had lasted (a restart, a leadership move, a
  // proxy's idle close), or answers a call saying the subscription is gone, is usually there
  // again at once: the first attempt goes now, the backoff starts at the second (it cost 0.5 s of
  // a 1.2 s resubscribe of 10,000 tasks). Not after a short subscription, so a master that
  // accepts and closes at once cannot make a tight loop.
  const bool at_once = clean_end && was_subscribed && subscribed_at_ &&
                       Clock::now() - *subscribed_at_ >= kCleanEndAtOnceAfter;
  ++generation_;
  stream_ended_.reset();
  if (stream_request_ != 0) http_->cancel(stream_request_);
  stream_request_ = 0;
  if (call_request_ != 0) http_->cancel(call_request_);
  call_request_ = 0;
  for (const auto& [key, ack] : acks_in_flight_)
    http_->cancel(ack.request);
  heartbeat_timer_.cancel();
  reconcile_timer_.cancel();
  reconciler_.clear();
  decoder_.reset();
  stream_id_.clear();
  if (rotate && !masters_.empty()) {
    master_index_ = (master_index_ + 1) % masters_.size();
    current_ = masters_[master_index_];
    redirects_in_row_ = 0;
  }
  transition_to(State::disconnected, reason);
  if (state_ == State::stopped) return;
  // Offers and calls of the old subscription are void; the application re-issues after
  // reconciling.
  fail_calls(errc::not_subscribed, fmt::format("connection to the master lost: {}", reason));
  if (state_ == State::stopped) return;
  if (immediately) {
    schedule_connect(std::chrono::milliseconds(0));
    return;
  }
  if (!note_failed_attempt(reason, was_subscribed)) return;
  schedule_connect(at_once ? std::chrono::milliseconds(0) : backoff_.next());
}

bool Client::Impl::note_failed_attempt(std::string_view reason, bool was_subscribed) {
  const auto now = Clock::now();
  if (was_subscribed || !unreached_since_) unreached_since_ = now;
  if (was_subscribed) return true;  // a lost subscription is logged by transition_to
  ++failed_attempts_;
  if (failed_attempts_ == 1 || now - last_failure_log_ >= kFailureLogInterval) {
    last_failure_log_ = now;
    log(LogLevel::warning,
        fmt::format("scheduler: no master reached for {:.1f} s ({} attempt(s)); last: {}",
                    std::chrono::duration<double>(now - *unreached_since_).count(),
                    failed_attempts_, reason));
  }
  if (options_.give_up_after.count() > 0 && now - *unreached_since_ >= options_.give_up_after) {
    fail_fatal(Error(errc::timeout,
                     fmt::format("no master reached for {} ms ({} attempts; last: {})",
                                 options_.give_up_after.count(), failed_attempts_, reason)));
    return false;
  }
  return true;
}

void Client::Impl::schedule_connect(std::chrono::milliseconds delay) {
  const std::uint64_t generation = generation_;
  if (delay.count() > 0) {
    log(LogLevel::debug, fmt::format("scheduler: next attempt at '{}' in {} ms",
                                     current_.authority(), delay.count()));
  }
  reconnect_timer_.expires_after(delay);
  std::weak_ptr<Impl> weak = weak_from_this();
  reconnect_timer_.async_wait([weak, generation](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || generation != self->generation_) return;
    self->connect();
  });
}

void Client::Impl::fail_fatal(Error error) {
  log(LogLevel::error, fmt::format("scheduler: giving up: {}", error.what()));
  auto self = shared_from_this();
  stop(error.what());
  if (handlers_.on_fatal) handlers_.on_fatal(error);
}

void Client::Impl::arm_heartbeat_watchdog() {
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(heartbeat_interval_seconds_ * options_.heartbeat_misses));
  const std::uint64_t generation = generation_;
  heartbeat_timer_.expires_at(last_activity_ + limit);
  std::weak_ptr<Impl> weak = weak_from_this();
  heartbeat_timer_.async_wait([weak, generation](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->on_heartbeat_timer(generation);
  });
}

void Client::Impl::on_heartbeat_timer(std::uint64_t generation) {
  if (generation != generation_) return;
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(heartbeat_interval_seconds_ * options_.heartbeat_misses));
  if (Clock::now() - last_activity_ < limit) {
    arm_heartbeat_watchdog();  // bytes came since the timer was set
    return;
  }
  ++counters_.heartbeat_timeouts;
  disconnect(fmt::format("no heartbeat from '{}' for {:.1f} s", current_.authority(),
                         heartbeat_interval_seconds_ * options_.heartbeat_misses),
             /*rotate=*/state_ != State::subscribed);
}

// --- Reconciliation --------------------------------------------------------------------------

void Client::Impl::reconcile_after_subscribe() {
  if (!options_.reconcile_on_subscribe) return;
  Call implicit;
  implicit.set_type(Call::RECONCILE);
  implicit.mutable_reconcile();
  send(std::move(implicit), {});
  if (!handlers_.known_tasks) return;
  auto tasks = reconciler_.begin(handlers_.known_tasks(), Clock::now());
  if (tasks.empty()) return;
  Call explicit_call;
  explicit_call.set_type(Call::RECONCILE);
  for (auto& task : tasks)
    *explicit_call.mutable_reconcile()->add_tasks() = std::move(task);
  send(std::move(explicit_call), {});
  arm_reconcile_timer();
}

void Client::Impl::arm_reconcile_timer() {
  auto when = reconciler_.next_retry();
  if (!when) return;
  const std::uint64_t generation = generation_;
  reconcile_timer_.expires_at(*when);
  std::weak_ptr<Impl> weak = weak_from_this();
  reconcile_timer_.async_wait([weak, generation](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || generation != self->generation_ || self->state_ != State::subscribed) {
      return;
    }
    auto tasks = self->reconciler_.due(Clock::now());
    if (!tasks.empty()) {
      self->log(LogLevel::info, fmt::format("scheduler: {} task(s) still unanswered; reconciling "
                                            "them again",
                                            tasks.size()));
      Call call;
      call.set_type(Call::RECONCILE);
      for (auto& task : tasks)
        *call.mutable_reconcile()->add_tasks() = std::move(task);
      self->send(std::move(call), {});
    }
    self->arm_reconcile_timer();
  });
}

// --- Calls -----------------------------------------------------------------------------------

CallCounts& Client::Impl::call_counts(const Call& call) {
  return counters_.calls[call_type_name(call)];
}

void Client::Impl::complete(CallDone done, Result<void> result) {
  if (!done) return;
  completions_.emplace_back(std::move(done), std::move(result));
  if (completions_posted_) return;
  completions_posted_ = true;
  // Never from inside a Client method: the application may call back into the client.
  std::weak_ptr<Impl> weak = weak_from_this();
  boost::asio::post(executor_, [weak] {
    if (auto self = weak.lock()) {
      self->completions_posted_ = false;
      self->run_completions();
    }
  });
}

void Client::Impl::run_completions() {
  auto self = shared_from_this();  // a completion may drop the last Client
  while (!completions_.empty()) {
    auto [done, result] = std::move(completions_.front());
    completions_.pop_front();
    done(std::move(result));
  }
}

void Client::Impl::send(Call call, CallDone done) {
  if (state_ == State::stopped) {
    ++call_counts(call).failed;
    complete(std::move(done), fail(errc::stopped, "the client was stopped"));
    return;
  }
  if (state_ != State::subscribed) {
    ++call_counts(call).failed;
    complete(std::move(done),
             fail(errc::not_subscribed, fmt::format("'{}' not sent: not subscribed (state '{}')",
                                                    call_type_name(call), to_string(state_))));
    return;
  }
  if (calls_.size() + acks_.size() >= options_.max_queued_calls) {
    ++call_counts(call).failed;
    ++counters_.calls_refused_queue_full;
    // Once per episode: the queue stays full for as long as the master does not answer.
    if (!queue_full_logged_) {
      queue_full_logged_ = true;
      log(LogLevel::warning,
          fmt::format("scheduler: {} calls wait for '{}' to answer; refusing more until the queue "
                      "drains",
                      calls_.size() + acks_.size(), current_.authority()));
    }
    complete(std::move(done),
             fail(errc::call_queue_full,
                  fmt::format("'{}' not sent: {} calls already wait for '{}' (max_queued_calls)",
                              call_type_name(call), calls_.size() + acks_.size(),
                              current_.authority())));
    return;
  }
  *call.mutable_framework_id() = *framework_id_;
  if (call.type() == Call::ACKNOWLEDGE) {
    acks_.push_back(PendingCall{std::move(call), std::move(done)});
    pump_acks();
    return;
  }
  calls_.push_back(PendingCall{std::move(call), std::move(done)});
  pump_calls();
}

void Client::Impl::pump_acks() {
  // An ACKNOWLEDGE names its own update, so neither their order among themselves nor relative to
  // the other calls matters to the master. One at a time behind the ordered queue, they were
  // capped at one round trip each (about 15/s against a busy master with 10,000 tasks while
  // 20,000 were due); a few at once over extra keep-alive connections keep up. Bounded, so a
  // burst does not open hundreds of connections.
  while (acks_in_flight_.size() < kMaxAcksInFlight && !acks_.empty() &&
         state_ == State::subscribed) {
    PendingCall call = std::move(acks_.front());
    acks_.pop_front();
    if (calls_.size() + acks_.size() <= options_.max_queued_calls / 2) queue_full_logged_ = false;
    http::Request request;
    request.url = current_.scheduler_url();
    request.headers = request_headers(/*with_stream_id=*/true);
    request.body = MessageCodec(options_.content_type).encode(call.call);
    request.connect_timeout = options_.connect_timeout;
    request.timeout = options_.call_timeout;
    const std::uint64_t generation = generation_;
    const std::uint64_t key = next_ack_key_++;
    std::weak_ptr<Impl> weak = weak_from_this();
    // The callback never runs from inside async_send(), so the entry exists when it does.
    auto& entry = acks_in_flight_[key];
    entry.call = std::move(call);
    entry.request = http_->async_send(std::move(request),
                                      [weak, generation, key](Result<http::Response> answer) {
                                        if (auto self = weak.lock())
                                          self->on_ack_answer(generation, key, std::move(answer));
                                      });
  }
}

void Client::Impl::on_ack_answer(std::uint64_t generation, std::uint64_t key,
                                 Result<http::Response> answer) {
  if (generation != generation_) return;
  auto it = acks_in_flight_.find(key);
  if (it == acks_in_flight_.end()) return;
  PendingCall call = std::move(it->second.call);
  acks_in_flight_.erase(it);
  finish_call(std::move(call), std::move(answer), /*ordered=*/false);
}

void Client::Impl::pump_calls() {
  // One call at a time: the master sees them in the order they were made, on one connection.
  if (in_flight_ || calls_.empty() || state_ != State::subscribed) return;
  in_flight_ = std::move(calls_.front());
  calls_.pop_front();
  if (calls_.size() + acks_.size() <= options_.max_queued_calls / 2) queue_full_logged_ = false;

  http::Request request;
  request.url = current_.scheduler_url();
  request.headers = request_headers(/*with_stream_id=*/true);
  request.body = MessageCodec(options_.content_type).encode(in_flight_->call);
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.call_timeout;
  const std::uint64_t generation = generation_;
  std::weak_ptr<Impl> weak = weak_from_this();
  call_request_ =
      http_->async_send(std::move(request), [weak, generation](Result<http::Response> answer) {
        if (auto self = weak.lock()) self->on_call_answer(generation, std::move(answer));
      });
}

void Client::Impl::on_call_answer(std::uint64_t generation, Result<http::Response> answer) {
  if (generation != generation_ || !in_flight_) return;
  call_request_ = 0;
  PendingCall call = std::move(*in_flight_);
  in_flight_.reset();
  finish_call(std::move(call), std::move(answer), /*ordered=*/true);
}

void Client::Impl::finish_call(PendingCall call, Result<http::Response> answer, bool ordered) {
  const std::string type = call_type_name(call.call);
  CallCounts& counts = call_counts(call.call);
  // The stream ended while this TEARDOWN was in flight and it did not succeed: that end was a
  // disconnection after all.
  auto stream_ended = [&] {
    // Only the ordered call can be the TEARDOWN that stream_ended_ waits for.
    if (!ordered || !stream_ended_) return false;
    const std::string why = std::move(*stream_ended_);
    stream_ended_.reset();
    disconnect(why, /*rotate=*/false);
    return true;
  };

  if (!answer) {
    ++counts.failed;
    complete(std::move(call.done),
             tl::unexpected(Error(answer.error().code,
                                  fmt::format("'{}' got no answer from '{}': {}", type,
                                              current_.authority(), answer.error().what()))));
    if (stream_ended()) return;
    pump_calls();
    pump_acks();
    return;
  }
  const int status = answer->status;
  if (status == 202 || status == 200) {
    ++counts.sent;
    const bool was_teardown = call.call.type() == Call::TEARDOWN;
    complete(std::move(call.done), {});
    if (was_teardown) {
      stop("the framework was torn down");
      return;
    }
    pump_calls();
    pump_acks();
    return;
  }

  ++counts.rejected;
  const std::string body = one_line(answer->body);
  complete(std::move(call.done),
           fail(errc::call_rejected,
                fmt::format("'{}' rejected by '{}' with {}: {}", type, current_.authority(), status,
                            body.empty() ? "(no message)" : body)));
  if (stream_ended()) return;
  // Answers that mean our subscription is gone on the master's side: start over.
  const bool lost = status == 307 || status == 403 || status == 503 ||
                    (status == 400 && (body.find("Mesos-Stream-Id") != std::string::npos ||
                                       body.find("cannot be found") != std::string::npos));
  if (lost) {
    if (status == 307) {
      if (auto location = answer->header("Location")) {
        if (auto leader = parse_redirect(*location, current_))
          current_ = std::move(*leader);
        else
          log(LogLevel::warning, fmt::format("scheduler: {}", leader.error().message));
      }
    }
    // An ACKNOWLEDGE in flight when the master ends the stream is often answered (400 or 403)
    // before the stream's end is read: the same clean end, seen first.
    disconnect(fmt::format("'{}' answered {} to '{}'", current_.authority(), status, type),
               /*rotate=*/false, /*immediately=*/status == 307,
               /*clean_end=*/status == 400 || status == 403);
    return;
  }
  pump_calls();
  pump_acks();
}

void Client::Impl::fail_calls(errc code, std::string_view reason) {
  std::deque<PendingCall> failing;
  failing.swap(calls_);
  queue_full_logged_ = false;
  if (in_flight_) {
    failing.push_front(std::move(*in_flight_));
    in_flight_.reset();
  }
  for (auto& [key, ack] : acks_in_flight_)
    failing.push_back(std::move(ack.call));
  acks_in_flight_.clear();
  for (auto& ack : acks_)
    failing.push_back(std::move(ack));
  acks_.clear();
  for (auto& call : failing) {
    const auto type = call.call.type();
    if (code != errc::stopped && !call.done &&
        (type == Call::ACKNOWLEDGE || type == Call::ACKNOWLEDGE_OPERATION_STATUS)) {
      // An automatic acknowledgement: still owed after a reconnect (see Options).
      carried_acks_.push_back(std::move(call.call));
      if (carried_acks_.size() > options_.max_queued_calls) {
        ++call_counts(carried_acks_.front()).failed;
        carried_acks_.pop_front();
      }
      continue;
    }
    ++call_counts(call.call).failed;
    if (!call.done) continue;
    Error error(code, fmt::format("'{}' not completed: {}", call_type_name(call.call), reason));
    if (code == errc::stopped) {
      call.done(tl::unexpected(std::move(error)));  // before stop() returns, as documented
    } else {
      complete(std::move(call.done), tl::unexpected(std::move(error)));
    }
  }
}

// --- Suppressed roles ------------------------------------------------------------------------

std::vector<std::string> Client::Impl::all_roles() const {
  std::vector<std::string> roles(framework_.roles().begin(), framework_.roles().end());
  if (roles.empty()) {
    // A framework without MULTI_ROLE has its one role in the deprecated field.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    roles.push_back(framework_.has_role() ? framework_.role() : "*");
#pragma GCC diagnostic pop
  }
  return roles;
}

void Client::Impl::note_suppress(const std::vector<std::string>& roles) {
  for (const auto& role : roles.empty() ? all_roles() : roles)
    suppressed_.insert(role);
}

void Client::Impl::note_revive(const std::vector<std::string>& roles) {
  if (roles.empty()) {
    suppressed_.clear();
    return;
  }
  for (const auto& role : roles)
    suppressed_.erase(role);
}

void Client::Impl::note_update_framework(const mesos::v1::FrameworkInfo& info,
                                         const std::vector<std::string>& suppressed_roles) {
  framework_ = info;
  if (framework_id_) *framework_.mutable_id() = *framework_id_;
  suppressed_ = std::set<std::string>(suppressed_roles.begin(), suppressed_roles.end());
}

// --- Client ----------------------------------------------------------------------------------

bool Client::hold_acknowledgement() {
  return impl_->hold_acknowledgement();
}

void Client::set_acknowledgement_gate(std::function<bool(std::size_t acknowledgements)> gate) {
  impl_->set_acknowledgement_gate(std::move(gate));
}

Client::Client(boost::asio::any_io_executor executor, Options options, Handlers handlers)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handlers))) {}

Client::~Client() {
  impl_->stop("the client was destroyed");
}

Result<void> Client::start() {
  return impl_->start();
}
void Client::stop() {
  impl_->stop("stopped by the application");
}
void Client::send(Call call, CallDone done) {
  impl_->send(std::move(call), std::move(done));
}
State Client::state() const noexcept {
  return impl_->state();
}
std::optional<mesos::v1::FrameworkID> Client::framework_id() const {
  return impl_->framework_id();
}
std::string Client::current_master() const {
  return impl_->current_master();
}
Counters Client::counters() const {
  return impl_->counters();
}
const boost::asio::any_io_executor& Client::get_executor() const {
  return impl_->executor();
}

}  // namespace heatblast::scheduler
