// The mesos-events program as a library: reads a captured RecordIO event stream and prints it
// as JSON lines, as counts (--summary), or re-encoded in the other content type (--to).
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "heatblast/codec.hpp"
#include "heatblast/error.hpp"

namespace heatblast::apps {

struct EventsToolOptions {
  std::string input = "-";                 // a path, or "-" for stdin
  std::optional<ContentType> format;       // nullopt: detect from the first record
  std::optional<ContentType> reencode_to;  // --to: write RecordIO in this content type
  bool summary = false;
  std::size_t max_record_size = 64 * 1024 * 1024;
};

// Parses the command line (without argv[0]). On a usage error the Error says what was wrong.
// `help` is set when -h/--help was given.
Result<EventsToolOptions> parse_events_tool_args(const std::vector<std::string>& args, bool& help);

std::string events_tool_usage();

// Runs the tool; returns the process exit status (0 ok, 1 bad input or I/O error). Output goes
// to `out`, diagnostics to `err`.
int run_events_tool(const EventsToolOptions& options, std::FILE* out, std::FILE* err);

}  // namespace heatblast::apps
