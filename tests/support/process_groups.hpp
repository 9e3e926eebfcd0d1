// Process groups of tasks that tests start (local-master runs each task in a group of its own):
// which of their processes still live, waiting until none does, and killing them whatever the
// test's outcome, so that no task outlives its test.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace heatblast::testing {

// Processes of group `pgid` that are alive: zombies (ended, waiting for a parent or for PID 1
// to reap them, which some containers do late) do not count. Linux: reads /proc.
std::vector<std::string> living_processes_in_group(int pgid);

// Waits (running `io`) until no process of group `pgid` is alive; fails the test after
// `limit`. The master reports a task's end when the group's leader (local-master's supervisor)
// ended; the rest of the group, killed by the same signal, may take a moment longer on a busy
// machine.
void wait_group_gone(boost::asio::io_context& io, int pgid,
                     std::chrono::milliseconds limit = std::chrono::seconds(2));

// SIGKILLs one process group when the test ends, however it ends.
struct GroupGuard {
  int pgid = 0;
  GroupGuard() = default;
  GroupGuard(const GroupGuard&) = delete;
  GroupGuard& operator=(const GroupGuard&) = delete;
  ~GroupGuard();
};

// The groups that tasks run in, by container, as a runner reports them: kill_all() (and the
// destructor) SIGKILLs every group not reported ended and reaps its leader when that is a child
// of this process.
class ProcessGroups {
 public:
  ProcessGroups() = default;
  ProcessGroups(const ProcessGroups&) = delete;
  ProcessGroups& operator=(const ProcessGroups&) = delete;
  ~ProcessGroups() { kill_all(); }

  void started(const std::string& container, int pid, int pgid) { live_[container] = {pid, pgid}; }
  void ended(const std::string& container) { live_.erase(container); }
  std::size_t size() const { return live_.size(); }
  void kill_all();

 private:
  std::map<std::string, std::pair<int, int>> live_;  // container -> (pid, pgid)
};

}  // namespace heatblast::testing
