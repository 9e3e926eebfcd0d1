#include <cstdio>
#include <string>
#include <vector>

#include "events_tool.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool help = false;
  auto options = heatblast::apps::parse_events_tool_args(args, help);
  if (help) {
    std::fputs(heatblast::apps::events_tool_usage().c_str(), stdout);
    return 0;
  }
  if (!options) {
    std::fprintf(stderr, "mesos-events: %s\n%s", options.error().what().c_str(),
                 heatblast::apps::events_tool_usage().c_str());
    return 2;
  }
  return heatblast::apps::run_events_tool(*options, stdout, stderr);
}
