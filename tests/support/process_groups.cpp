#include "support/process_groups.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support/wait_for.hpp"

namespace heatblast::testing {

std::vector<std::string> living_processes_in_group(int pgid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "pid (comm) state ppid pgrp ...": comm may hold anything, so read after its last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 1));
    char state = 0;
    int ppid = 0;
    int group = 0;
    if (fields >> state >> ppid >> group && group == pgid && state != 'Z' && state != 'X') {
      out.push_back(fmt::format("{} {} (state {}, parent {})", name,
                                stat.substr(stat.find('('), close - stat.find('(') + 1), state,
                                ppid));
    }
  }
  return out;
}

void wait_group_gone(boost::asio::io_context& io, int pgid, std::chrono::milliseconds limit) {
  std::vector<std::string> living;
  wait_for(
      io, fmt::format("process group {} to end", pgid),
      [&] {
        living = living_processes_in_group(pgid);
        return living.empty();
      },
      limit, [&] { return fmt::format("still alive: {}", fmt::join(living, "; ")); });
}

GroupGuard::~GroupGuard() {
  if (pgid > 1) ::kill(-pgid, SIGKILL);
}

void ProcessGroups::kill_all() {
  for (const auto& [container, group] : live_) {
    if (group.second > 1) ::kill(-group.second, SIGKILL);
    // SIGKILL cannot be ignored, so this returns at once (ECHILD when it is no child of ours
    // or was reaped already).
    if (group.first > 1) ::waitpid(group.first, nullptr, 0);
  }
  live_.clear();
}

}  // namespace heatblast::testing
