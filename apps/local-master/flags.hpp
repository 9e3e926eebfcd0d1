// The local-master command line, in the style of mesos-master and mesos-agent (--name=value or
// --name value; booleans as --name, --name=true|false or --no-name). The flags are one table
// (name, value, help) from which both the parser and usage() are made; options_from() turns
// the parsed flags into what the program runs, so that tests reach every step but main's
// wiring.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heatblast/error.hpp"
#include "master_server.hpp"
#include "process_runner.hpp"
#include "simulated_runner.hpp"

namespace heatblast::local_master {

// The flags as given, checked one by one (numbers in range, known names); nothing about the
// machine is looked at yet.
struct Flags {
  std::string listen = "127.0.0.1:5050";
  std::optional<std::string> resources;  // the agent's syntax; default: this machine
  int agents = 1;
  std::string attributes;                     // every agent's, Mesos agent syntax
  std::vector<std::string> agent_attributes;  // "N=ATTRIBUTES", one agent's (repeatable)
  std::string work_dir;                       // checkpoint and sandboxes; empty: nothing persisted
  bool simulate = false;
  double simulate_duration = 10;  // seconds a simulated task runs (unless its labels say)
  int replicas = 1;
  std::string zk;  // zk://host:port/path: the replicas elect their leader there
  double heartbeat_interval = 15;
  double allocation_interval = 1;
  double offer_timeout = 0;     // seconds; 0: offers are never rescinded for their age
  std::string hostname;         // default: the machine's host name
  std::string frameworks_home;  // relative URIs of the fetcher resolve here; empty: they fail
  bool enable_fault_injection = false;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

// Parses `args` (without the program name). Errors: errc::invalid_argument with a one-line
// message: "unknown flag '--x'", "--agents needs a value", "--agents: 'x' is not a number",
// "--quiet takes no value", "unexpected argument 'x'". --help and --version stop the parse.
Result<Flags> parse_flags(const std::vector<std::string>& args);

// The help text, made from the flag table.
std::string usage();

// "local-master <version>".
std::string version_text();

// What the program runs. Every path in it is absolute (the task supervisor changes into the
// sandbox, so a relative path would resolve somewhere else there).
struct Options {
  MasterServerOptions server;  // listen address, replicas, fault switch, master and agents
  bool simulate = false;
  SimulatedRunnerOptions simulated;
  ProcessRunnerOptions processes;  // meta_dir: <work dir>/meta, or a per-process /tmp dir
  bool quiet = false;
  std::string sandbox_root;  // where the task sandboxes go
  // Said at start, before anything listens (e.g. that a non-loopback address has no
  // authentication).
  std::vector<std::string> warnings;
};

// Resolves the flags against the machine: the listen address, the host name (the machine's by
// default), the absolute work dir, and the agents: --resources (or this machine's resources,
// see local_agent_spec) times --agents, each with --attributes and then its own
// --agent-attributes. Errors: errc::invalid_argument naming the flag, or local_agent_spec's.
Result<Options> options_from(const Flags& flags);

}  // namespace heatblast::local_master
