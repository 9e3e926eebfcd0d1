// The JSON documents of a Mesos 1.12 master's read-only endpoints, rendered from a
// MasterSnapshot: /master/state, /master/frameworks, /master/slaves, /master/tasks, /version
// and /metrics/snapshot, with Mesos's field names and value shapes (resources as
// {"cpus":2.0,"ports":"[31000-32000]"}, attributes as {"name":value}, enums by name), so that
// tools written against Mesos read them. Pure functions: no I/O, no clock but `now`.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "master.hpp"

namespace heatblast::local_master {

// An HTTP query string ("a=1&b=x%2Fy") decoded into its parameters; the first value of a
// repeated name wins. Errors: errc::invalid_argument for a bad percent escape or a NUL.
Result<std::map<std::string, std::string>> parse_query(std::string_view query);

// /master/frameworks: {"frameworks":[...],"completed_frameworks":[...],
// "unregistered_frameworks":[]}; `framework_id` (if any) keeps only that framework.
std::string frameworks_json(const MasterSnapshot& snapshot,
                            const std::map<std::string, std::string>& query);

// /master/slaves: {"slaves":[...],"recovered_slaves":[]}.
std::string slaves_json(const MasterSnapshot& snapshot);

// /master/tasks: {"tasks":[...]}, active and completed tasks ordered by their latest status's
// timestamp, newest first ("order=asc": oldest first), then `offset` and `limit` (default 100)
// applied; `framework_id` and `task_id` filter. Unparsable numbers take their defaults, as
// Mesos does.
std::string tasks_json(const MasterSnapshot& snapshot,
                       const std::map<std::string, std::string>& query);

// /slave(1)/state: a Mesos agent's /state for the agent `agent_id` (local-master serves every
// agent's endpoints at its own address, so this is where `Offer.url` leads): the agent's
// resources and attributes, and per framework one executor per task with its sandbox as
// `directory`, which is what the web UI and CLI read to find a task's files.
std::string agent_state_json(const MasterSnapshot& snapshot, const std::string& agent_id);

// /version: {"version":"1.12.0","build_date":..,"build_time":..,"build_user":..}.
std::string version_json(std::string_view version);

// /metrics/snapshot: a flat object of doubles, "master/..." names as a Mesos master's.
std::string metrics_json(const MasterMetrics& metrics, TimePoint now);

}  // namespace heatblast::local_master
