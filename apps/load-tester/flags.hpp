// The load-tester command line: "--name value" or "--name=value", every flag from one table
// (kFlags in flags.cpp) that both the parser and usage() read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "heatblast/error.hpp"

namespace heatblast::load {

enum class ReportFormat { text, json };

struct Flags {
  std::string master = "127.0.0.1:5050";  // --master / --mesos-master, a comma list
  std::uint64_t total_queries = 1000;
  std::uint64_t queries_per_task = 100;
  std::uint64_t parallelism = 3;
  std::string target;             // http(s):// URL or postgresql:// URI (required)
  std::string query = "GET /";    // HTTP: "METHOD /path [body]"; PostgreSQL: SQL (required)
  bool query_given = false;       // --query was on the command line
  double rate = 0;                // queries per second for the whole run; 0: as fast as it can
  std::uint64_t connections = 1;  // per task
  double task_cpus = 0.5;
  double task_mem = 64;         // MB
  double timeout_seconds = 10;  // per query
  std::uint64_t max_failed_tasks = 3;
  ReportFormat report = ReportFormat::text;
  std::string listen = "0.0.0.0:0";  // where tasks report to; port 0: any free port
  std::string advertise;             // host[:port] tasks use to reach --listen; default: hostname
  std::string worker;  // the load-worker binary served to tasks; default: beside load-tester
  // When set, tasks run this path on the agent instead of fetching the served binary.
  std::string worker_on_agent;
  bool help = false;
};

// Parses `args` (without the program name). errc::invalid_argument with a one-line message
// ("unknown flag --x", "--rate: 'abc' is not a number >= 0", "--target is required").
Result<Flags> parse_flags(const std::vector<std::string>& args);

std::string usage();

}  // namespace heatblast::load
