#include "read_endpoints.hpp"

#include <set>

#include "files_api.hpp"
#include "mesos_json.hpp"

namespace heatblast::local_master {
namespace {

EndpointAnswer json_answer(std::string body) {
  return EndpointAnswer{200, {{"Content-Type", "application/json"}}, std::move(body)};
}

EndpointAnswer text_answer(int status, std::string body) {
  if (body.empty()) return EndpointAnswer{status, {}, {}};
  return EndpointAnswer{status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body)};
}

// Every sandbox of a task the master still knows, running or completed.
std::vector<std::string> sandboxes(const MasterSnapshot& snapshot) {
  std::vector<std::string> out;
  for (const auto& framework : snapshot.frameworks) {
    for (const auto& task : framework.tasks)
      out.push_back(task.sandbox);
    for (const auto& task : framework.completed_tasks)
      out.push_back(task.sandbox);
  }
  return out;
}

}  // namespace

std::optional<EndpointAnswer> serve_read_only(const Master& master,
                                              const http::ServerRequest& request, TimePoint now) {
  static const std::set<std::string, std::less<>> kPaths = {"/state",
                                                            "/state.json",
                                                            "/master/state",
                                                            "/master/state.json",
                                                            "/master/frameworks",
                                                            "/master/slaves",
                                                            "/master/tasks",
                                                            "/version",
                                                            "/metrics/snapshot",
                                                            "/files/browse",
                                                            "/files/read",
                                                            "/files/browse.json",
                                                            "/files/read.json",
                                                            "/slave(1)/state",
                                                            "/slave(1)/state.json",
                                                            "/slave(1)/health"};
  if (!kPaths.contains(request.path)) return std::nullopt;
  auto query = parse_query(request.query);
  if (!query) return text_answer(400, query.error().message + "\n");
  const std::string& path = request.path;
  if (path == "/version") return json_answer(version_json(master.master_info().version()));
  if (path == "/slave(1)/health") return EndpointAnswer{200, {}, {}};

  if (path == "/metrics/snapshot") return json_answer(metrics_json(master.metrics(), now));

  const MasterSnapshot snapshot = master.snapshot();
  if (path == "/master/frameworks") return json_answer(frameworks_json(snapshot, *query));
  if (path == "/master/slaves") return json_answer(slaves_json(snapshot));
  if (path == "/master/tasks") return json_answer(tasks_json(snapshot, *query));
  if (path.starts_with("/slave(1)/state")) {
    // Every agent's endpoints are here; the first agent's state is what this address shows.
    return json_answer(agent_state_json(snapshot, snapshot.agents.front().id));
  }
  if (path.starts_with("/files/")) {
    const FilesAnswer answer = path.starts_with("/files/browse")
                                   ? files_browse(sandboxes(snapshot), *query)
                                   : files_read(sandboxes(snapshot), *query);
    if (answer.json) return json_answer(answer.body);
    return text_answer(answer.status, answer.body);
  }
  return json_answer(render_state_json(snapshot));
}

}  // namespace heatblast::local_master
