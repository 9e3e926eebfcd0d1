// heatblast::scheduler::Client: a Mesos v1 scheduler HTTP API client that keeps a framework
// subscribed through leader changes, dropped streams and silent masters, with every Call typed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <mesos/v1/scheduler/scheduler.pb.h>
#include <boost/asio/any_io_executor.hpp>

#include "heatblast/codec.hpp"
#include "heatblast/error.hpp"

namespace heatblast::scheduler {

using mesos::v1::scheduler::Call;
using mesos::v1::scheduler::Event;

// The connection state machine. Transitions are reported through Handlers::on_state.
//   disconnected -> connecting: start(), or the backoff after a failure ran out
//   connecting -> subscribed:   SUBSCRIBED arrived on the stream
//   connecting/subscribed -> disconnected: the stream ended, broke, went silent, or was refused
//   any -> stopped:             stop(), or a fatal error (see Handlers::on_fatal)
enum class State { disconnected, connecting, subscribed, stopped };

std::string_view to_string(State state) noexcept;

// Capped exponential backoff with jitter: the n-th delay is drawn uniformly from
// [d * (1 - jitter), d] where d = min(max, initial * multiplier^n). While the delays drawn since
// the last success add up to less than `flat_for`, d stays at `initial` (n counts from there).
struct BackoffOptions {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{15000};
  double multiplier = 2.0;
  double jitter = 0.5;  // 0 = no jitter, 1 = anything from 0 to d
  std::chrono::milliseconds flat_for{0};
};

// HTTP basic authentication (master flag --authenticate_http_frameworks). The secret is sent
// in the Authorization header of every request and never appears in logs or errors.
struct Credentials {
  std::string principal;
  std::string secret;

  // Reads the secret from `path` (trailing newlines dropped); errc::io_error if unreadable.
  static Result<Credentials> from_file(std::string principal, const std::string& path);
};

struct Options {
  // Masters to try in turn: "host:port", "host" (port 5050) or "http(s)://host:port[/prefix]".
  // parse_masters() reads the comma-separated form the programs take on their command line.
  std::vector<std::string> masters = {"127.0.0.1:5050"};

  // What to subscribe with. `user` and `name` are required by Mesos. `id` may be set to resume
  // an earlier framework (e.g. one persisted through Handlers::on_framework_id).
  mesos::v1::FrameworkInfo framework;

  // Used when `framework` sets no failover_timeout. Mesos's own default is 0, which makes the
  // master kill every task the moment the stream drops; a week is what production frameworks use.
  double default_failover_timeout_seconds = 7 * 24 * 3600;

  // Encoding of calls and events (protobuf is the compact default).
  ContentType content_type = ContentType::protobuf;

  // Roles suppressed at start; the client keeps this set current through suppress()/revive() and
  // re-sends it in every SUBSCRIBE, as a new leading master knows nothing of earlier SUPPRESS.
  std::vector<std::string> suppressed_roles;

  // Between connection attempts. A master that comes back within a minute is found within
  // about half a second (attempts every 250-500 ms, as Mesos's own library does with its
  // random delay of at most 500 ms); after a minute of failures the delay grows to 15 s, so a
  // master that stays down is not hammered. After a clean end of a subscription that lasted over
  // a second, the first attempt goes at once and this applies from the second.
  BackoffOptions backoff{std::chrono::milliseconds(500), std::chrono::seconds(15), 2.0, 0.5,
                         std::chrono::seconds(60)};
  // End the session through Handlers::on_fatal (errc::timeout) when no master has accepted a
  // SUBSCRIBE for this long, counted from start() or from the loss of the last subscription.
  // 0 = keep trying forever. Failed attempts are logged at most every 10 s (on_state still
  // sees each one).
  std::chrono::milliseconds give_up_after{0};
  // How many heartbeat intervals (from SUBSCRIBED; 15 s if absent) may pass without a byte on
  // the stream before it is treated as dead and dropped.
  double heartbeat_misses = 5;
  // Redirects (307) followed in a row before backing off.
  int max_redirects = 9;
  // Each non-SUBSCRIBE call must be answered within this.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(75)};
  // Calls waiting to be sent (behind the ones in flight) at most, ACKNOWLEDGEs included. Calls
  // go out one at a time (ACKNOWLEDGEs up to 16 at once) and one may wait up to call_timeout, so a
  // stalled master would otherwise let the queue grow without bound. A call beyond it completes at
  // once with errc::call_queue_full (nothing is sent; an automatic ACKNOWLEDGE refused so is sent
  // again by the master). 100,000 queued calls are some tens of MB. Must be at least 1.
  std::size_t max_queued_calls = 100'000;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // The longest event accepted on the stream; longer is a broken stream (reconnect).
  std::size_t max_event_size = std::size_t{64} << 20;

  // Acknowledge every UPDATE / UPDATE_OPERATION_STATUS that carries a uuid, right after
  // Handlers::on_event returned for it. When false the application calls acknowledge() itself.
  // An automatic acknowledgement not yet answered when the connection drops is sent again
  // after the next SUBSCRIBED of the same framework (first, before calls made from then on):
  // the master would otherwise send the update again only after its retry interval (10 s
  // doubling to 10 min in Mesos), and one it already had is ignored.
  bool auto_acknowledge = true;
  // After every (re)subscribe: an implicit RECONCILE, and an explicit one for the tasks that
  // Handlers::known_tasks reports, retried with backoff until each has an answer.
  bool reconcile_on_subscribe = true;
  BackoffOptions reconcile_backoff{std::chrono::seconds(2), std::chrono::seconds(60), 2.0, 0.2};

  std::optional<Credentials> credentials;
  std::string ca_file;      // TLS CA bundle for https masters; empty = system default
  bool verify_peer = true;  // TLS peer verification
};

// Parses "a:5050,b:5050" (or URLs) into Options::masters form; errc::invalid_argument on an
// empty list or a malformed entry.
Result<std::vector<std::string>> parse_masters(std::string_view comma_separated);

struct CallCounts {
  std::uint64_t sent = 0;      // answered 202/200
  std::uint64_t rejected = 0;  // answered with an error status
  std::uint64_t failed = 0;    // no answer: transport error, timeout, not subscribed, stopped
};

// What the client has done so far; read with Client::counters().
struct Counters {
  std::map<std::string, std::uint64_t> events;  // by Event.Type name
  std::map<std::string, CallCounts> calls;      // by Call.Type name
  std::uint64_t subscriptions = 0;              // SUBSCRIBED received
  std::uint64_t reconnects = 0;                 // connection attempts after the first
  std::uint64_t redirects = 0;                  // 307s followed
  std::uint64_t heartbeat_timeouts = 0;         // streams dropped for silence
  std::uint64_t stale_events = 0;               // events of a replaced stream, ignored
  std::uint64_t acknowledgements = 0;           // automatic ACKNOWLEDGEs sent
  std::uint64_t acknowledgements_held = 0;      // withheld: hold_acknowledgement(), a closed gate
  std::uint64_t bytes_received = 0;             // stream bytes
  std::uint64_t calls_refused_queue_full = 0;   // refused with errc::call_queue_full
};

enum class LogLevel { debug, info, warning, error };

// The application's side. Every handler runs on the client's executor, serially, and never
// after stop() returned. on_state and on_log also run inside start() and stop() (the transition
// they report happens there); the others run only from the client's own I/O completions. A
// handler may call any Client method, stop() included, and may destroy the Client.
struct Handlers {
  // Every event of the current subscription, SUBSCRIBED and HEARTBEAT included. The reference
  // is valid during the call only.
  std::function<void(const Event& event)> on_event;
  // Called with the framework id as soon as SUBSCRIBED names it and before on_event sees that
  // SUBSCRIBED: persist it here so a restarted scheduler resumes the same framework.
  std::function<void(const mesos::v1::FrameworkID& id)> on_framework_id;
  std::function<void(State state, std::string_view reason)> on_state;
  // The session ended for good (the client is stopped): the framework was removed, the master
  // refused the subscription (ERROR event, 401, 403), or it failed over to another scheduler
  // instance. The client does not register a fresh framework by itself.
  std::function<void(const Error& error)> on_fatal;
  // Non-terminal tasks the application knows, for explicit reconciliation after (re)subscribe.
  std::function<std::vector<Call::Reconcile::Task>()> known_tasks;
  std::function<void(LogLevel level, std::string_view message)> on_log;
};

// Completion of a call: success when the master accepted it (202, or 200 for
// UPDATE_FRAMEWORK), else errc::not_subscribed (nothing sent), call_rejected (the master's status
// and text in the message), timeout/transport errors, or errc::stopped.
using CallDone = std::function<void(Result<void> result)>;

// One framework's connection to a Mesos master (or a replicated set). Construct, then start();
// nothing happens in the constructor. All members must be called on the executor (post to it
// from other threads). Calls go out one at a time, in the order made, over one keep-alive
// connection, except ACKNOWLEDGEs: their order does not matter to Mesos, so up to 16 go at once
// beside the others, over extra keep-alive connections. While not subscribed they fail at once with
// errc::not_subscribed (Mesos drops them too) and the application re-issues them after reconciling.
class Client {
 public:
  Client(boost::asio::any_io_executor executor, Options options, Handlers handlers);
  // Calls stop(): no TEARDOWN, the framework stays registered for its failover timeout.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Starts connecting (asynchronously). Fails with errc::invalid_argument on bad options
  // (no masters, a malformed master, FrameworkInfo without user or name); errc::stopped after
  // stop().
  Result<void> start();

  // Closes the stream and every call; pending CallDones get errc::stopped. Never sends TEARDOWN.
  // Idempotent; no handler runs after it returns.
  void stop();

  // The typed calls. `done` may be empty.
  void accept(std::vector<mesos::v1::OfferID> offer_ids,
              std::vector<mesos::v1::Offer::Operation> operations,
              std::optional<mesos::v1::Filters> filters = {}, CallDone done = {});
  // ACCEPT with one LAUNCH of `tasks` (each TaskInfo's agent_id must be the offers' agent).
  void launch(std::vector<mesos::v1::OfferID> offer_ids, std::vector<mesos::v1::TaskInfo> tasks,
              std::optional<mesos::v1::Filters> filters = {}, CallDone done = {});
  void decline(std::vector<mesos::v1::OfferID> offer_ids,
               std::optional<mesos::v1::Filters> filters = {}, CallDone done = {});
  void accept_inverse_offers(std::vector<mesos::v1::OfferID> inverse_offer_ids,
                             std::optional<mesos::v1::Filters> filters = {}, CallDone done = {});
  void decline_inverse_offers(std::vector<mesos::v1::OfferID> inverse_offer_ids,
                              std::optional<mesos::v1::Filters> filters = {}, CallDone done = {});
  // Empty roles = all roles. Both update the suppressed set re-sent on resubscribe.
  void revive(std::vector<std::string> roles = {}, CallDone done = {});
  void suppress(std::vector<std::string> roles = {}, CallDone done = {});
  void kill(const mesos::v1::TaskID& task_id, std::optional<mesos::v1::AgentID> agent_id = {},
            std::optional<mesos::v1::KillPolicy> kill_policy = {}, CallDone done = {});
  void shutdown(const mesos::v1::ExecutorID& executor_id, const mesos::v1::AgentID& agent_id,
                CallDone done = {});
  // Called from Handlers::on_event while it handles an UPDATE or UPDATE_OPERATION_STATUS:
  // the client does not acknowledge that update (Options::auto_acknowledge), so the master
  // sends it again later. For a handler that could not record the update durably: only what
  // is recorded may be acknowledged. Returns false (and does nothing) outside such a call.
  bool hold_acknowledgement();
  // For a handler that stores updates in batches: the acknowledgements of the events that
  // arrived together (one read of the event stream) are not sent as each event is handled, but
  // after the last of them, once `gate` returned true; it is called after every read of the
  // stream with the number of acknowledgements that wait (maybe none), and writes the batch. False:
  // none of them is sent (counted as held, like hold_acknowledgement()), so the master sends those
  // updates again. One gate per client; an empty function removes it.
  void set_acknowledgement_gate(std::function<bool(std::size_t acknowledgements)> gate);
  // `uuid` is the raw bytes from TaskStatus.uuid.
  void acknowledge(const mesos::v1::AgentID& agent_id, const mesos::v1::TaskID& task_id,
                   std::string uuid, CallDone done = {});
  void acknowledge_operation_status(std::optional<mesos::v1::AgentID> agent_id,
                                    std::optional<mesos::v1::ResourceProviderID> provider_id,
                                    std::string uuid, const mesos::v1::OperationID& operation_id,
                                    CallDone done = {});
  // Empty = implicit reconciliation (the master answers with every task it knows).
  void reconcile(std::vector<Call::Reconcile::Task> tasks = {}, CallDone done = {});
  void reconcile_operations(std::vector<Call::ReconcileOperations::Operation> operations = {},
                            CallDone done = {});
  void message(const mesos::v1::AgentID& agent_id, const mesos::v1::ExecutorID& executor_id,
               std::string data, CallDone done = {});
  void request(std::vector<mesos::v1::Request> requests, CallDone done = {});
  // Synchronous on the master (200 on success). Updates the FrameworkInfo used on resubscribe.
  void update_framework(mesos::v1::FrameworkInfo framework_info,
                        std::vector<std::string> suppressed_roles = {}, CallDone done = {});
  // Removes the framework from the cluster: every task is killed. After the master accepted it,
  // the client stops. The master also ends the event stream, possibly before its answer
  // arrives; that end is not treated as a disconnection until the answer says it failed.
  void teardown(CallDone done = {});
  // Any call, as built by the caller; framework_id is filled in.
  void send(Call call, CallDone done = {});

  State state() const noexcept;
  // The framework id once known (from Options::framework.id or SUBSCRIBED).
  std::optional<mesos::v1::FrameworkID> framework_id() const;
  // "host:port" of the master the client is talking to (or last tried).
  std::string current_master() const;
  Counters counters() const;
  const boost::asio::any_io_executor& get_executor() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace heatblast::scheduler
