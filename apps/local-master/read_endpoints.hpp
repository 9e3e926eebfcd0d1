// The read-only endpoints that operators' tools read from a Mesos master and agent, served by
// local-master in Mesos's shapes: /master/state (also /state, /state.json,
// /master/state.json), /master/frameworks, /master/slaves, /master/tasks, /version,
// /metrics/snapshot, and the agent's /slave(1)/state, /slave(1)/health, /files/browse and
// /files/read.
#pragma once

#include <optional>

#include "heatblast/http_server.hpp"
#include "master.hpp"

namespace heatblast::local_master {

struct EndpointAnswer {
  int status = 200;
  http::Headers headers;
  std::string body;
};

// The answer for `request` when its path is one of the endpoints above (any method, as
// Mesos's), nullopt otherwise. JSON with "Content-Type: application/json"; errors as plain
// text (400 for a malformed query).
std::optional<EndpointAnswer> serve_read_only(const Master& master,
                                              const http::ServerRequest& request, TimePoint now);

}  // namespace heatblast::local_master
