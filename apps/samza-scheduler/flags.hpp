// The samza-scheduler command line: a table of flags (name, type, default, help) parsed into
// Flags by parse_flags(), which the tests call. `--name value` and `--name=value`; booleans take
// no value (`--debug`); `--` ends the flags; anything else is an error naming the argument.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "heatblast/error.hpp"
#include "heatblast/zookeeper.hpp"

namespace heatblast::samza {

struct Flags {
  std::string master = "127.0.0.1:5050";
  std::vector<std::string> masters = {"127.0.0.1:5050"};  // `master`, split and checked
  std::string listen = "0.0.0.0:8181";                    // Heatblast's port
  std::string listen_address = "0.0.0.0";                 // `listen`, split
  std::uint16_t listen_port = 8181;
  std::string advertise;  // host:port that tasks are told; empty: derived at start
  std::string state = "samza-scheduler.db";
  // zk://[user:pass@]host:port[,...]/path: high availability. Instances elect a leader under
  // <path>/leader and keep the state under <path>/state instead of the `state` file.
  std::string zk;
  double zk_session_timeout_seconds = 10;
  std::string name = "samza-scheduler";
  std::string user;  // default: the current user
  std::string role;
  std::string principal;
  std::string secret_file;
  double failover_timeout_seconds = 7 * 24 * 3600;
  std::string api_token_file;
  double job_info_timeout_seconds = 300;
  double revive_interval_seconds = 5;  // REVIVE at most this often
  std::size_t max_body_bytes = std::size_t{1} << 20;
  bool debug = false;
  bool help = false;
};

// Parses `args` (without the program name); errc::invalid_argument with a one-line message.
// `default_user` fills Flags::user when --user is not given.
Result<Flags> parse_flags(const std::vector<std::string>& args, std::string_view default_user);

// The flag table as help text.
std::string usage(std::string_view program);

}  // namespace heatblast::samza
