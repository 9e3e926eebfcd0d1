// MasterServer: local-master on the network. It serves the Mesos scheduler API over HTTP for the
// core Master (content types, the SUBSCRIBE stream, timers), runs N replicas of which one leads
// and the others answer 307, and has the fault switches that the integration tests pull.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "heatblast/error.hpp"
#include "heatblast/http_server.hpp"
#include "master.hpp"

namespace heatblast::local_master {

struct MasterServerOptions {
  std::string address = "127.0.0.1";
  // The first replica's port; replica i listens on port + i. With 0 (tests) replica 0 takes an
  // ephemeral port and replica i its port + i when that is free, else any free port: ports()
  // tells which.
  std::uint16_t port = 5050;
  int replicas = 1;
  // "zk://host:port/path": leadership is decided in ZooKeeper, as among Mesos masters. Each
  // replica holds an ephemeral sequential `json.info_` node with its MasterInfo as JSON; the
  // smallest sequence leads. Empty: replica 0 leads until a fault switch moves it.
  std::string zk;
  // Serve POST /admin/fault (see apply_fault). Off: the path answers 404, so that nobody who
  // reaches the port can stop replicas or break streams. Tests that pull switches over HTTP
  // turn it on; the C++ fault switches below work either way.
  bool enable_fault_injection = false;
  // Connection limits (see http::ServerOptions). max_connections is for all replicas together,
  // shared equally (at least 16 each); the default leaves room for tasks and files under the
  // common limit of 1024 descriptors. A scheduler holds two (its stream and its calls).
  std::size_t max_connections = 512;
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  MasterOptions master;
  // Called on SIGCHLD and every `reap_interval` (a lost signal must not hang a task): with a
  // ProcessRunner, its reap(). Empty for a SimulatedRunner.
  std::function<void()> reap;
  std::chrono::milliseconds reap_interval{250};
};

// Faults to inject, all off by default. Through the admin endpoint (POST /admin/fault with
// `name=value` lines in the body, see MasterServer::apply_fault) or directly in tests.
struct Faults {
  // Events are not written to subscriber streams (heartbeats included): a silent, stuck master.
  bool stall_streams = false;
  // Every scheduler request is answered 503 until this time.
  std::optional<std::chrono::steady_clock::time_point> unavailable_until;
  // Every scheduler request is answered this late.
  std::chrono::milliseconds delay{0};
};

class MasterServer {
 public:
  // No I/O. `runner` must outlive the server.
  MasterServer(boost::asio::any_io_executor executor, MasterServerOptions options,
               TaskRunner& runner);
  ~MasterServer();

  MasterServer(const MasterServer&) = delete;
  MasterServer& operator=(const MasterServer&) = delete;

  // Binds every replica, then recovers the master's checkpoint and starts the timers. Errors:
  // errc::address_in_use, the checkpoint's.
  Result<void> start();
  // Closes every connection and timer; tasks keep running (they outlive local-master).
  void stop();
  // Reaps (options.reap) and runs the core's due work soon, on the executor: for a runner that
  // made progress off the executor (a ProcessRunner's fetch ended). Thread-safe; the server
  // must still exist when it is called.
  void wake();

  // Ports of the replicas (bound, so real ports even when 0 was asked for).
  std::vector<std::uint16_t> ports() const;
  // The leading replica; -1 while none leads (with ZooKeeper: before the election is read).
  int leader() const noexcept;
  std::string leader_address() const;

  // Fault switches.
  // Makes replica `index` the leader; the old leader's subscribers lose their streams (as when
  // a master fails over) and must find the new one. The core state is kept, as if the agents
  // had reregistered with the new leader at once.
  Result<void> move_leader(int index);
  // Stops replica `index` (its port refuses connections); a stopped leader leaves no leader
  // until move_leader() names another. With ZooKeeper, the replica's session is closed too, so
  // its node goes at once and the next replica in sequence leads. move_leader() is then
  // refused: ZooKeeper decides.
  Result<void> stop_replica(int index);
  // Ends every subscriber stream: cleanly (final chunk) or by dropping the connection in the
  // middle of a record.
  void close_streams(bool mid_record);
  // Writes a record that is not a valid event to every subscriber stream.
  void send_bad_record();
  Faults& faults() noexcept;
  // "stall=1|0", "unavailable=SECONDS", "delay=MILLISECONDS", "close=clean|mid-record",
  // "bad-record=1", "leader=N", "stop-replica=N"; errc::invalid_argument otherwise.
  Result<void> apply_fault(std::string_view name, std::string_view value);

  Master& master() noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace heatblast::local_master
