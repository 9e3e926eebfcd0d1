// ZooKeeper for Mesos frameworks: `zk://` URLs, an asynchronous session on the ZooKeeper C
// client whose events run on an Asio executor, and the detector of the leading Mesos master.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "heatblast/error.hpp"
#include "heatblast/scheduler.hpp"

namespace heatblast::zookeeper {

// zk://[user:password@]host:port[,host:port...]/path
struct Url {
  std::string servers;  // "host:port,host:port", as zookeeper_init takes it
  std::string path;     // absolute, no trailing slash ("/" alone for the root)
  std::string user;     // digest credentials; empty user = none
  std::string password;

  // The URL with the password replaced by "***": the only form that goes to logs.
  std::string redacted() const;
};

// True when `text` (blanks around it ignored) starts with "zk://".
bool is_url(std::string_view text) noexcept;
// errc::invalid_argument with a one-line reason: no host, a bad port, no path, "user" without
// ":password", an empty path segment.
Result<Url> parse_url(std::string_view text);

// Where a master answers: from the MasterInfo a Mesos master stores in its ZooKeeper node.
struct MasterAddress {
  std::string host;
  std::uint16_t port = 5050;
  friend bool operator==(const MasterAddress&, const MasterAddress&) = default;
};

// From MasterInfo as JSON (a `json.info_` node). Tried in order, as Mesos's own detector does:
// address.ip and address.port; address.hostname and address.port; the top-level `ip` (a uint32
// holding the IPv4 address in network byte order, read as a host integer) and `port`; `pid`
// ("master@ip:port"). errc::json_syntax, or errc::invalid_argument when none gives an address.
Result<MasterAddress> master_address_from_json(std::string_view json);
// The same from a binary MasterInfo protobuf (an older master's `info_` node).
Result<MasterAddress> master_address_from_protobuf(std::string_view bytes);

// `prefix` followed by digits only (the ZooKeeper sequence suffix): that number, else nullopt.
std::optional<std::int64_t> sequence_of(std::string_view name, std::string_view prefix) noexcept;
// The leading master's node among the children of a Mesos ZooKeeper path: the smallest
// sequence among `json.info_*`, or among `info_*` when no `json.info_` exists. Other names
// (log_replicas, ...) are ignored; the order of `children` does not matter.
std::optional<std::string> leading_master_node(const std::vector<std::string>& children);

// The outcome of one ZooKeeper operation, the C client's codes that callers branch on.
enum class Code {
  ok,
  no_node,          // the node (or its parent, for create) does not exist
  node_exists,      // create: the node is there already
  not_empty,        // remove: the node has children
  connection_loss,  // the server connection dropped; the session may still be alive
  session_expired,
  auth_failed,
  closed,  // the session was stopped
  other,
};
std::string_view to_string(Code code) noexcept;

enum class SessionState {
  connecting,  // no server connection yet, or the connection was lost (the session may live)
  connected,
  expired,      // the session is over: its ephemeral nodes are gone; open a new Session
  auth_failed,  // the digest credentials were refused; the Session is unusable
};
std::string_view to_string(SessionState state) noexcept;

// A session's identity: a second Session given it takes the session over (tests use that to
// force an expiry: take over, then stop the second one).
struct SessionId {
  std::int64_t id = 0;
  std::string password;  // 16 opaque bytes
};

enum class WatchEvent { created, deleted, changed, children };

struct SessionOptions {
  Url url;  // servers and credentials; the path is the caller's
  // Asked of the server, which clamps it to [2, 20] ticks of its own configuration.
  std::chrono::milliseconds session_timeout{10000};
  std::optional<SessionId> resume;  // take over this session instead of opening a new one
};

// One ZooKeeper session. Construct, then start(); the C client's own threads only post to
// the executor, and every callback runs there, never after stop() returned. A Session whose
// state became expired or auth_failed stays so: make a new one. All members must be called on
// the executor. Not copyable; owns its handle.
class Session {
 public:
  struct Handlers {
    std::function<void(SessionState state)> on_state;
    // A watch set by get_children/get/exists fired (watches fire once each).
    std::function<void(WatchEvent event, const std::string& path)> on_watch;
    std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
  };

  Session(boost::asio::any_io_executor executor, SessionOptions options, Handlers handlers);
  ~Session();  // stop()
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Opens the handle (the connection is made in the background); errc::zookeeper_error when
  // the C client refuses the server list.
  Result<void> start();
  // Closes the session (its ephemeral nodes go at once) and drops pending callbacks. Blocks
  // while the close request is answered (at most a few hundred ms on a live server).
  // Idempotent.
  void stop();

  SessionState state() const noexcept;
  // The timeout the server granted (0 before the first connection).
  std::chrono::milliseconds negotiated_timeout() const;
  std::optional<SessionId> id() const;

  using ChildrenDone = std::function<void(Code code, std::vector<std::string> children)>;
  using DataDone = std::function<void(Code code, std::string data)>;
  using CreateDone = std::function<void(Code code, std::string created_path)>;
  using Done = std::function<void(Code code)>;

  void get_children(const std::string& path, bool watch, ChildrenDone done);
  void get(const std::string& path, bool watch, DataDone done);
  void exists(const std::string& path, bool watch, Done done);
  // Open ACL (world:anyone). `ephemeral` nodes go with the session; `sequential` appends a
  // 10-digit counter to the name (the created path tells which).
  void create(const std::string& path, std::string data, bool ephemeral, bool sequential,
              CreateDone done);
  // Creates every missing ancestor of `path` and `path` itself as persistent empty nodes.
  void create_parents(const std::string& path, Done done);
  void remove(const std::string& path, Done done);

  // Blocking forms, for stores whose interface is synchronous (a record must be on the servers
  // before the call returns). They wait on the C client's own threads, never on the executor,
  // so they may be called from it; a server that does not answer ends them with
  // connection_loss within about the session timeout. `closed` before start() or after stop().
  //
  // set_now: no_node when the node does not exist. create_now: a persistent node, node_exists
  // when it is there, no_node when its parent is missing.
  Code get_now(const std::string& path, std::string& data);
  Code children_now(const std::string& path, std::vector<std::string>& children);
  Code set_now(const std::string& path, std::string_view data);
  Code create_now(const std::string& path, std::string_view data);
  Code remove_now(const std::string& path);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// The largest node data a ZooKeeper server accepts by default (its jute.maxbuffer, 1 MB, less
// what the request around the data takes).
inline constexpr std::size_t kMaxNodeData = (std::size_t{1} << 20) - 1024;

// Who leads, as last read from ZooKeeper.
struct Leader {
  std::string node;  // e.g. "json.info_0000000003"
  MasterAddress address;
  friend bool operator==(const Leader&, const Leader&) = default;
};

struct DetectorOptions {
  Url url;  // the path holds the masters' nodes (Mesos's --zk path, often /mesos)
  std::chrono::milliseconds session_timeout{10000};
  // Between a lost session and the next one.
  scheduler::BackoffOptions reopen_backoff{std::chrono::milliseconds(500), std::chrono::seconds(10),
                                           2.0, 0.5};
};

// Finds the leading Mesos master and follows it, as Mesos's own ZooKeeper detector does: the
// children of the path are watched; the leader is the smallest `json.info_` sequence (else
// `info_`); its node's MasterInfo gives the address. While the connection is lost (CONNECTING)
// the last leader is kept for the negotiated session timeout; when that passes or the session
// expires, "no leader" is reported and a new session is opened with backoff. Refused
// credentials end the detector through on_fatal. Callbacks run on the executor, serially,
// never after stop() returned. Credentials never appear in logs.
class MasterDetector {
 public:
  struct Handlers {
    // Called when the leader changes: another node, another address, or none (nullopt).
    std::function<void(const std::optional<Leader>& leader)> on_leader;
    std::function<void(const Error& error)> on_fatal;
    std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
  };

  MasterDetector(boost::asio::any_io_executor executor, DetectorOptions options, Handlers handlers);
  ~MasterDetector();
  MasterDetector(const MasterDetector&) = delete;
  MasterDetector& operator=(const MasterDetector&) = delete;

  Result<void> start();
  void stop();

  const std::optional<Leader>& leader() const noexcept;
  // The current session (to force its expiry in tests); nullopt between sessions.
  std::optional<SessionId> session_id() const;
  // Sessions opened so far (1 after start; each reopen adds one).
  int sessions() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

struct ElectionOptions {
  Url url;           // its path holds the candidates' nodes (created when missing)
  std::string data;  // this candidate's node data, for the others to read (its address...)
  std::chrono::milliseconds session_timeout{10000};
  // Between a lost session and the next one.
  scheduler::BackoffOptions reopen_backoff{std::chrono::milliseconds(500), std::chrono::seconds(10),
                                           2.0, 0.5};
};

// Leader election among the instances of one program, as ZooKeeper's recipe has it: each
// candidate holds an ephemeral sequential child of the path, `member_<guid>_<sequence>`; the
// smallest sequence leads, and every candidate watches the children. The guid lets a candidate
// find a node it created when the answer was lost with the connection. Leadership is given up
// at once when the connection is lost (the session may expire on the server any moment, and
// then another candidate leads), and taken again if the same session reconnects; a session
// that expires, or that does not reconnect within its timeout, is replaced by a new one (with
// backoff) and a new node. Refused credentials end the election through on_fatal. Callbacks
// run on the executor, serially, never after stop() returned.
class LeaderElection {
 public:
  struct Handlers {
    // Called when this candidate starts or stops leading, or another one leads: `leading`, or
    // the leader's node data (nullopt: no leader known).
    std::function<void(bool leading, const std::optional<std::string>& leader_data)> on_change;
    std::function<void(const Error& error)> on_fatal;
    std::function<void(scheduler::LogLevel level, std::string_view message)> on_log;
  };

  LeaderElection(boost::asio::any_io_executor executor, ElectionOptions options, Handlers handlers);
  ~LeaderElection();
  LeaderElection(const LeaderElection&) = delete;
  LeaderElection& operator=(const LeaderElection&) = delete;

  Result<void> start();
  // Closes the session: the node goes at once and the next candidate leads.
  void stop();

  bool leading() const noexcept;
  const std::optional<std::string>& leader_data() const noexcept;
  // The session the candidate's node lives in, for a store to write with (a write fails once
  // the session is gone, so a candidate that lost the lead cannot write); null between
  // sessions. It stays valid until the next on_change call that reports `leading` false.
  Session* session() noexcept;
  std::optional<SessionId> session_id() const;
  // This candidate's node name, empty while it has none.
  const std::string& node() const noexcept;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace heatblast::zookeeper
