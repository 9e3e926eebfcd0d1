// A real PostgreSQL server for tests: Debian's initdb into a fresh temporary directory, started
// on 127.0.0.1 (a free port) and on a Unix socket in that directory, trust authentication for
// its superuser "postgres"; stopped (pg_ctl stop -m fast) and removed by the destructor.
// PostgreSQL refuses to run as root: when the tests do (CI), initdb and pg_ctl run as the
// "postgres" user (created by Debian's postgresql package) through runuser, in a directory
// that user owns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "heatblast/error.hpp"

namespace heatblast::testing {

class PostgresServer {
 public:
  // initdb, start, wait until it accepts connections (pg_ctl -w). Errors say why with the
  // tail of the server's log: no PostgreSQL binaries (apt-get install postgresql), no
  // "postgres" user when running as root, initdb or the start failed.
  static Result<std::unique_ptr<PostgresServer>> start();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const { return port_; }
  // The directory that holds the Unix socket (".s.PGSQL.<port>").
  const std::filesystem::path& socket_dir() const { return dir_; }
  // postgresql://postgres@127.0.0.1:<port>/<db>
  std::string tcp_url(std::string_view db = "postgres") const;
  // postgresql:///<db>?host=<socket dir>&port=<port>&user=postgres
  std::string socket_url(std::string_view db = "postgres") const;

  // Runs `sql` over a new connection: the first column of the first row ("" when the statement
  // returns no rows), or the server's error.
  Result<std::string> query(std::string_view sql) const;

 private:
  PostgresServer() = default;
  Result<void> init_and_start();
  void stop();
  std::string log_tail() const;

  std::filesystem::path bin_;  // where initdb and pg_ctl are
  std::filesystem::path dir_;  // the temporary directory: data/, server.log, the socket
  std::uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace heatblast::testing
