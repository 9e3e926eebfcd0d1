#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "master.hpp"

namespace heatblast::local_master {
namespace {

// MemTotal from /proc/meminfo, in MB.
Result<double> total_memory_mb() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kilobytes = 0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == "MemTotal:") return kilobytes / 1024.0;
  }
  return fail(errc::io_error, "cannot read 'MemTotal' from /proc/meminfo");
}

// What a Mesos agent offers of a total: the total less `reserve` when the total is at least
// twice `reserve`, else half of it.
double less_reserve(double total, double reserve) {
  return total >= 2 * reserve ? total - reserve : total / 2;
}

}  // namespace

Result<AgentSpec> local_agent_spec(const std::string& hostname, const std::string& disk_path) {
  const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  auto memory = total_memory_mb();
  if (!memory) return tl::unexpected(memory.error());
  // The work dir may not exist yet (it is made after the flags are read): measure the disk it
  // will be on, through its nearest existing ancestor.
  std::filesystem::path probe = std::filesystem::absolute(disk_path);
  std::error_code ec;
  while (!std::filesystem::exists(probe, ec) && probe.has_parent_path() &&
         probe != probe.parent_path()) {
    probe = probe.parent_path();
  }
  struct statvfs fs {};
  if (::statvfs(probe.c_str(), &fs) != 0) {
    return fail(errc::io_error, fmt::format("cannot statvfs '{}'", disk_path));
  }
  const double disk_mb =
      static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize) / (1024.0 * 1024.0);
  const std::string text =
      fmt::format("cpus:{};mem:{};disk:{};ports:[31000-32000]", cpus > 0 ? cpus : 1,
                  static_cast<long long>(less_reserve(*memory, 1024)),
                  static_cast<long long>(less_reserve(disk_mb, 5 * 1024)));
  auto resources = parse_resources(text);
  if (!resources) return tl::unexpected(resources.error());
  return AgentSpec{hostname, std::move(*resources), {}};
}

std::vector<AgentSpec> simulated_agents(std::size_t count, const Resources& each) {
  std::vector<AgentSpec> agents;
  agents.reserve(count);
  for (std::size_t i = 1; i <= count; ++i) {
    agents.push_back(AgentSpec{fmt::format("agent-{}", i), each, {}});
  }
  return agents;
}

}  // namespace heatblast::local_master
