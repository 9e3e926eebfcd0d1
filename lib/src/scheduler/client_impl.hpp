// The scheduler client's state machine (private to the library).
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "heatblast/event_stream.hpp"
#include "heatblast/http_client.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/zookeeper.hpp"
#include "scheduler/backoff.hpp"
#include "scheduler/masters.hpp"
#include "scheduler/reconciler.hpp"

namespace heatblast::scheduler {

class Client::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::any_io_executor executor, Options options, Handlers handlers);

  Result<void> start();
  void stop(std::string_view reason);
  void send(Call call, CallDone done);

  // Keeps the suppressed-role set that every SUBSCRIBE carries in step with the application's
  // SUPPRESS and REVIVE calls (empty roles = all of the framework's roles).
  void note_suppress(const std::vector<std::string>& roles);
  void note_revive(const std::vector<std::string>& roles);
  void note_update_framework(const mesos::v1::FrameworkInfo& info,
                             const std::vector<std::string>& suppressed_roles);

  // See Client::hold_acknowledgement.
  bool hold_acknowledgement() {
    if (!delivering_update_) return false;
    hold_ack_ = true;
    return true;
  }

  // See Client::set_acknowledgement_gate.
  void set_acknowledgement_gate(std::function<bool(std::size_t)> gate) {
    ack_gate_ = std::move(gate);
  }

  State state() const noexcept { return state_; }
  std::optional<mesos::v1::FrameworkID> framework_id() const { return framework_id_; }
  std::string current_master() const { return current_.authority(); }
  const Counters& counters() const noexcept { return counters_; }
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct PendingCall {
    Call call;
    CallDone done;
  };

  // What the SUBSCRIBE response turned out to be, decided at its head.
  enum class StreamKind { none, events, redirect, refused, retry };

  void transition_to(State next, std::string_view reason);
  void log(LogLevel level, std::string message) const;

  // A zk:// master: the detector names the leader; connecting waits while there is none.
  Result<void> start_detector();
  void on_leader(const std::optional<zookeeper::Leader>& leader);

  void connect();
  Call subscribe_call() const;
  http::Headers request_headers(bool with_stream_id) const;

  void on_stream_head(std::uint64_t generation, const http::Response& head);
  void on_stream_data(std::uint64_t generation, std::string_view bytes);
  void on_stream_end(std::uint64_t generation, Result<void> end);
  bool on_event(std::uint64_t generation, const Event& event);
  void on_subscribed(const Event& event);
  void resend_carried_acks();
  void on_error_event(const Event& event);
  void after_update(const Event& event, bool held);

  // Ends the current connection (stream and calls) and schedules the next attempt.
  // `clean_end`: the master ended the event stream at a record boundary, or answered a call
  // saying the subscription is gone (see disconnect()).
  void disconnect(std::string_view reason, bool rotate, bool immediately = false,
                  bool clean_end = false);
  void schedule_connect(std::chrono::milliseconds delay);
  // Counts and logs (rate-limited) a failed attempt; false when Options::give_up_after ran out
  // and the session ended.
  bool note_failed_attempt(std::string_view reason, bool was_subscribed);
  void fail_fatal(Error error);

  void arm_heartbeat_watchdog();
  void on_heartbeat_timer(std::uint64_t generation);

  void reconcile_after_subscribe();
  void arm_reconcile_timer();

  void pump_calls();
  void pump_acks();
  void on_call_answer(std::uint64_t generation, Result<http::Response> answer);
  void on_ack_answer(std::uint64_t generation, std::uint64_t key, Result<http::Response> answer);
  // Completes `call` with `answer` and acts on what the answer says about the subscription.
  // `ordered`: the call was the one in flight of the ordered queue (not an ACKNOWLEDGE).
  void finish_call(PendingCall call, Result<http::Response> answer, bool ordered);
  void fail_calls(errc code, std::string_view reason);
  void complete(CallDone done, Result<void> result);
  void run_completions();
  CallCounts& call_counts(const Call& call);

  std::vector<std::string> all_roles() const;

  boost::asio::any_io_executor executor_;
  Options options_;
  Handlers handlers_;
  std::optional<http::Client> http_;

  std::unique_ptr<zookeeper::MasterDetector> detector_;
  std::vector<MasterEndpoint> masters_;  // with a detector: the leader, or none
  std::size_t master_index_ = 0;
  MasterEndpoint current_;
  int redirects_in_row_ = 0;

  State state_ = State::disconnected;
  bool started_ = false;
  // Bumped for every connection attempt: callbacks of a replaced connection compare and return.
  std::uint64_t generation_ = 0;
  std::uint64_t attempts_ = 0;  // connection attempts so far
  // Failed attempts since the last SUBSCRIBED, and since when no master was reached.
  std::uint64_t failed_attempts_ = 0;
  std::optional<Clock::time_point> unreached_since_;
  std::optional<Clock::time_point> subscribed_at_;  // the latest SUBSCRIBED
  Clock::time_point last_failure_log_{};
  static constexpr std::chrono::seconds kFailureLogInterval{10};
  // A subscription ended cleanly after lasting this long is retried at once (see disconnect()).
  static constexpr std::chrono::seconds kCleanEndAtOnceAfter{1};

  // An UPDATE is being delivered to Handlers::on_event, and whether its ack is held back.
  bool delivering_update_ = false;
  bool hold_ack_ = false;
  // With a gate (Client::set_acknowledgement_gate), the acknowledgements of the events of one
  // read of the stream wait here until the gate has passed them.
  std::function<bool(std::size_t)> ack_gate_;
  std::vector<Call> gated_acks_;
  // Sends the acknowledgements that wait for the gate, if it lets them through.
  void release_gated_acks();

  mesos::v1::FrameworkInfo framework_;
  std::optional<mesos::v1::FrameworkID> framework_id_;
  std::set<std::string> suppressed_;

  // The current SUBSCRIBE stream.
  http::RequestId stream_request_ = 0;
  StreamKind stream_kind_ = StreamKind::none;
  int stream_status_ = 0;
  std::string stream_error_body_;  // first bytes of a non-200 answer, for the message
  std::string stream_id_;
  // Shared so that a handler that stops or reconnects the client while an event is being
  // delivered does not destroy the decoder under its own feed().
  std::shared_ptr<EventStreamDecoder> decoder_;
  // Why the stream ended, while the in-flight TEARDOWN's answer decides what that end means.
  std::optional<std::string> stream_ended_;
  double heartbeat_interval_seconds_ = 15;
  Clock::time_point last_activity_{};

  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer reconcile_timer_;
  Backoff backoff_;
  Reconciler reconciler_;

  // Completions decided but not yet delivered (delivered from a posted handler, or by stop()).
  std::deque<std::pair<CallDone, Result<void>>> completions_;
  bool completions_posted_ = false;

  std::deque<PendingCall> calls_;  // at most Options::max_queued_calls
  bool queue_full_logged_ = false;
  std::optional<PendingCall> in_flight_;
  http::RequestId call_request_ = 0;
  // Automatic acknowledgements the last connection did not complete; sent after SUBSCRIBED.
  std::deque<Call> carried_acks_;  // at most Options::max_queued_calls
  // ACKNOWLEDGEs go beside the ordered calls, up to kMaxAcksInFlight at once (see pump_acks).
  static constexpr std::size_t kMaxAcksInFlight = 16;
  std::deque<PendingCall> acks_;  // counted with calls_ against max_queued_calls
  struct AckInFlight {
    http::RequestId request = 0;
    PendingCall call;
  };
  std::map<std::uint64_t, AckInFlight> acks_in_flight_;
  std::uint64_t next_ack_key_ = 0;

  Counters counters_;
};

}  // namespace heatblast::scheduler
