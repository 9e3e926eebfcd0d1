// The local-master command line, in the style of mesos-master and mesos-agent
// (--name=value or --name value).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heatblast/error.hpp"

namespace heatblast::local_master {

struct Flags {
  std::string listen = "127.0.0.1:5050";
  std::optional<std::string> resources;  // the agent's syntax; default: this machine
  int agents = 1;
  std::string work_dir;  // checkpoint and sandboxes; empty: nothing persisted
  bool simulate = false;
  double simulate_duration = 10;  // seconds a simulated task runs (unless its labels say)
  int replicas = 1;
  double heartbeat_interval = 15;
  double allocation_interval = 1;
  std::string hostname;  // default: the machine's host name
  bool quiet = false;
  bool help = false;
};

Result<Flags> parse_flags(const std::vector<std::string>& args);
std::string usage();

}  // namespace heatblast::local_master
