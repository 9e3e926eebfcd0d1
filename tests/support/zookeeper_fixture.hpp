// A real ZooKeeper server for tests: Debian's `zookeeper` package (Java) run in the foreground
// on a free loopback port with a temporary data directory, stopped and removed afterwards.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>

namespace heatblast::testing {

class ZooKeeperServer {
 public:
  // Starts a server and waits until it serves requests (about 1.5 s: a JVM starts). Throws
  // std::runtime_error with the server's log tail when it cannot start. The classpath is
  // Debian's; HEATBLAST_ZOOKEEPER_CLASSPATH overrides it.
  ZooKeeperServer();
  // Stops the server (SIGTERM, then SIGKILL) and removes its directory.
  ~ZooKeeperServer();
  ZooKeeperServer(const ZooKeeperServer&) = delete;
  ZooKeeperServer& operator=(const ZooKeeperServer&) = delete;

  // The one server of this test program, started on first use and stopped at exit: a JVM
  // start costs more than most test cases, so test cases share it and use their own paths.
  static ZooKeeperServer& shared();

  int port() const noexcept { return port_; }
  // "127.0.0.1:PORT", what the C client's zookeeper_init takes.
  std::string connect_string() const;
  // "zk://127.0.0.1:PORT" + path (path starts with '/').
  std::string url(const std::string& path) const;
  // How long start-up took, to report it.
  std::chrono::milliseconds startup_time() const noexcept { return startup_; }
  // The server's own log (stdout and stderr), for failure messages.
  std::string log_tail(std::size_t bytes = 4000) const;

 private:
  void stop() noexcept;

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::chrono::milliseconds startup_{0};
};

}  // namespace heatblast::testing
