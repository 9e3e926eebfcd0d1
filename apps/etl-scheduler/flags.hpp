// The etl-scheduler command line: the flags of the Go `mesos-http-scheduler` (same names, types
// and defaults) plus what a production user needs, parsed the way Go's `flag` package parses:
//
//   -name value   -name=value   --name value   --name=value
//   -flag         -flag=true|false (booleans never take the next argument as their value)
//   --            ends the flags
//
// A flag that needs a value takes the next argument whatever it looks like (`-maxtasks -1`).
// Where we differ from Go, on purpose: a leftover positional argument is an error (Go ignored it
// silently, so `-cmd echo hi` ran `echo`); `-wait` and the other second counts accept fractions
// (`-wait 0.5`), a superset of Go's integers; values are checked (`-maxtasks 0` is an error);
// the program prints -h to standard output (Go: standard error), errors to standard error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "heatblast/error.hpp"
#include "host_port.hpp"

namespace heatblast::etl {

enum class OnStop { wait, kill };

struct Flags {
  // The Go tool's flags.
  std::string cmd = "echo 'Hello World'";
  double cpu = 0.1;
  std::int64_t mem = 64;  // MB
  std::string img;        // docker image; empty: a plain command
  std::string master = "127.0.0.1:5050";
  std::vector<std::string> masters = {"127.0.0.1:5050"};  // `master`, split and checked
  int maxtasks = 5;
  std::string user;  // default: FlagDefaults::user
  double wait_seconds = 60;
  bool debug = false;

  // Ours.
  std::string name = "etl-scheduler";
  std::string role;
  std::string principal;
  std::string secret_file;
  double failover_timeout_seconds = 7 * 24 * 3600;
  int rounds = 0;              // 0: forever
  double timeout_seconds = 0;  // per task; 0: none
  bool json = false;
  OnStop on_stop = OnStop::wait;
  std::string listen = ":8080";                 // empty: no health endpoint
  std::string state_file = "etl-scheduler.db";  // SQLite; empty: nothing persisted
  // -constraint NAME=VALUE, repeatable: the TaskSpec constraints of every task (an attribute of
  // the offer, or "hostname"; see heatblast/tasks.hpp for how values match).
  std::map<std::string, std::string> constraints;

  bool help = false;  // -h / -help: print usage() and exit 0
};

// What the environment decides: the current user (Mesos requires one; Go used user.Current()).
struct FlagDefaults {
  std::string user;
};

// Parses `args` (without the program name). errc::invalid_argument with a one-line message in
// Go's words ("flag provided but not defined: -x", "invalid value \"abc\" for flag -cpu: parse
// error", "flag needs an argument: -cmd"); the program prints it, then usage(), and exits 2.
Result<Flags> parse_flags(const std::vector<std::string>& args, const FlagDefaults& defaults);

// The flag list as Go's flag.PrintDefaults writes it, under "Usage of <program>:", flags in
// name order, each as "  -name type" and "    \t<description> (default ...)".
std::string usage(std::string_view program, const FlagDefaults& defaults);

// "-listen" text ("ADDR:PORT", ":PORT", "[::1]:PORT"): the parser all the programs share; ":8080"
// means every IPv4 address (as Go's ":8080" does for the health endpoint).
using apps::ListenAddress;
using apps::parse_listen;

}  // namespace heatblast::etl
