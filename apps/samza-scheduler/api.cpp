// The REST API: routing, authentication and the job endpoints (see README.md for the table).
#include <algorithm>
#include <cctype>
#include <memory>

#include <fmt/format.h>

#include "json_util.hpp"
#include "scheduler_impl.hpp"

namespace heatblast::samza {
namespace {

constexpr std::string_view kJson = "application/json";
// Set on a request a standby sends on to the leader (its value: the standby's address).
constexpr std::string_view kForwardedHeader = "X-Heatblast-Forwarded-By";

// Fields that describe one connection, not the message: never relayed (RFC 9110 7.6.1), nor
// the framing, which the relaying side sets anew.
bool hop_by_hop(std::string_view name) {
  static constexpr std::string_view kFields[] = {"connection",
                                                 "keep-alive",
                                                 "proxy-connection",
                                                 "transfer-encoding",
                                                 "te",
                                                 "trailer",
                                                 "upgrade",
                                                 "host",
                                                 "content-length",
                                                 "expect",
                                                 "proxy-authorization",
                                                 "proxy-authenticate"};
  for (std::string_view field : kFields) {
    if (field.size() == name.size() &&
        std::equal(field.begin(), field.end(), name.begin(), [](char a, char b) {
          return a == std::tolower(static_cast<unsigned char>(b));
        })) {
      return true;
    }
  }
  return false;
}

Reply json_reply(int status, std::string body) {
  return {status, std::move(body), {}};
}

Reply error_reply(int status, const std::string& message) {
  return {status, error_json(message), {}};
}

Reply method_not_allowed(std::string_view allowed) {
  Reply reply = error_reply(405, fmt::format("method not allowed; use {}", allowed));
  reply.headers.emplace_back("Allow", std::string(allowed));
  return reply;
}

bool allowed(std::string_view method, std::string_view list) {
  // "GET" allows HEAD too, as every HTTP server should.
  if (method == "HEAD") method = "GET";
  std::size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(", ", start);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(start, end - start) == method) return true;
    start = end + 2;
  }
  return false;
}

// Compares in time independent of where the texts differ.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.starts_with(key) && pair[key.size()] == '=') {
      return std::string(pair.substr(key.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

void SamzaScheduler::Impl::on_request(const http::ServerRequest& request,
                                      http::Responder responder) {
  ++http_requests_;
  // A standby answers what describes itself; everything else is the leader's.
  const bool own = request.path == "/" || request.path == "/health" || request.path == "/metrics" ||
                   request.path == "/framework";
  if (ha() && !framework_ && !own) {
    if (!leading_) {
      forward(request, std::move(responder));
      return;
    }
    Reply reply = error_reply(503, "elected leader, taking over; try again shortly");
    reply.headers.emplace_back("Retry-After", "1");
    reply.headers.emplace_back("Content-Type", std::string(kJson));
    responder.respond(reply.status, std::move(reply.headers), std::move(reply.body));
    return;
  }
  Reply reply = route(request);
  if (!http::find_header(reply.headers, "Content-Type")) {
    reply.headers.emplace_back("Content-Type", std::string(kJson));
  }
  reply.headers.emplace_back("Cache-Control", "no-store");
  if (reply.status >= 400) {
    log_.debug(
        fmt::format("{} {} from {}: {}", request.method, request.path, request.peer, reply.status));
  }
  responder.respond(reply.status, std::move(reply.headers), std::move(reply.body));
}

void SamzaScheduler::Impl::forward(const http::ServerRequest& request, http::Responder responder) {
  auto answer = [&responder](Reply reply) {
    reply.headers.emplace_back("Content-Type", std::string(kJson));
    reply.headers.emplace_back("Cache-Control", "no-store");
    responder.respond(reply.status, std::move(reply.headers), std::move(reply.body));
  };
  // A request forwarded to us is never forwarded again: two instances that each take the
  // other for the leader (for a moment, during an election) must not bounce it forever.
  if (leader_address_.empty() || request.header(kForwardedHeader)) {
    Reply reply = error_reply(503, leader_address_.empty()
                                       ? "standby, and no leader is elected yet; try again shortly"
                                       : "standby, and the leader is changing; try again shortly");
    reply.headers.emplace_back("Retry-After", "1");
    answer(std::move(reply));
    return;
  }
  http::Request out;
  out.method = request.method;
  out.url = fmt::format("http://{}{}", leader_address_, request.target);
  for (const auto& [name, value] : request.headers) {
    if (hop_by_hop(name)) continue;
    out.headers.emplace_back(name, value);
  }
  out.headers.emplace_back(std::string(kForwardedHeader), advertise_);
  out.body = request.body;
  out.connect_timeout = std::chrono::seconds(2);
  out.timeout = std::chrono::seconds(15);
  const std::string location = out.url;
  auto pending = std::make_shared<http::Responder>(std::move(responder));
  forwarder_->async_send(
      std::move(out), [this, pending, location](Result<http::Response> response) {
        if (!response) {
          // The leader did not answer; a client that follows redirects may still reach it.
          log_.debug(fmt::format("forwarding to {} failed: {}", location, response.error().what()));
          Reply reply = error_reply(
              307, fmt::format("standby; the leader could not be reached: {}; try it directly",
                               response.error().what()));
          reply.headers.emplace_back("Location", location);
          reply.headers.emplace_back("Content-Type", std::string(kJson));
          pending->respond(reply.status, std::move(reply.headers), std::move(reply.body));
          return;
        }
        http::Headers headers;
        for (auto& [name, value] : response->headers) {
          if (!hop_by_hop(name)) headers.emplace_back(std::move(name), std::move(value));
        }
        pending->respond(response->status, std::move(headers), std::move(response->body));
      });
}

bool SamzaScheduler::Impl::authorized(const http::ServerRequest& request) const {
  if (api_token_.empty()) return true;
  const auto header = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() <= kBearer.size()) return false;
  std::string scheme(header->substr(0, kBearer.size()));
  for (auto& c : scheme)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return scheme == "bearer " && same_secret(header->substr(kBearer.size()), api_token_);
}

Reply SamzaScheduler::Impl::route(const http::ServerRequest& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  const bool mutating = method != "GET" && method != "HEAD";
  auto unauthorized = [] {
    Reply reply = error_reply(401, "this endpoint needs 'Authorization: Bearer <token>'");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"samza-scheduler\"");
    return reply;
  };

  if (path == "/" || path == "/health" || path == "/metrics" || path == "/framework") {
    if (!allowed(method, "GET")) return method_not_allowed("GET");
    if (path == "/") {
      return {200,
              status_page(framework_view(), all_views()),
              {{"Content-Type", "text/html; charset=utf-8"}}};
    }
    if (path == "/metrics") {
      return {200,
              metrics_text(metrics_view()),
              {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}};
    }
    if (path == "/framework") return json_reply(200, framework_json(framework_view()));
    const auto view = framework_view();
    return json_reply(200, fmt::format(R"({{"status":"ok","subscribed":{}}})",
                                       view.state == "subscribed" ? "true" : "false"));
  }
  if (path == "/jobs") {
    if (!allowed(method, "GET, POST")) return method_not_allowed("GET, POST");
    if (method == "POST") return authorized(request) ? post_jobs(request) : unauthorized();
    return json_reply(200, jobs_json(all_views()));
  }
  if (path == "/run-job") {  // where Heatblast's job images post their SamzaJobConfig
    if (!allowed(method, "POST")) return method_not_allowed("POST");
    return authorized(request) ? run_job(request) : unauthorized();
  }
  constexpr std::string_view kJobs = "/jobs/";
  if (!path.starts_with(kJobs)) return error_reply(404, fmt::format("no such path '{}'", path));
  std::string rest = path.substr(kJobs.size());
  const auto slash = rest.find('/');
  const std::string name = rest.substr(0, slash);
  rest = slash == std::string::npos ? "" : rest.substr(slash);

  std::string_view methods;
  if (rest.empty()) {
    methods = "GET, PUT, DELETE";
  } else if (rest == "/restart" || rest == "/job-info") {
    methods = "POST";
  } else if (rest == "/coordinator") {
    methods = "GET";
  } else {
    return error_reply(404, fmt::format("no such path '{}'", path));
  }
  if (!allowed(method, methods)) return method_not_allowed(methods);
  // The job-info URL carries its own per-job token instead.
  if (mutating && rest != "/job-info" && !authorized(request)) return unauthorized();
  return route_job(request, name, rest);
}

Reply SamzaScheduler::Impl::route_job(const http::ServerRequest& request, const std::string& name,
                                      const std::string& rest) {
  auto it = jobs_.find(name);
  if (it == jobs_.end()) return error_reply(404, fmt::format("no job '{}'", name));
  Job& job = it->second;
  const std::string& method = request.method;
  if (rest == "/coordinator") {
    if (!job.model) {
      Reply reply = error_reply(503, fmt::format("job '{}' has no model yet", name));
      reply.headers.emplace_back("Retry-After", "5");
      return reply;
    }
    return json_reply(200, job.model->json);
  }
  if (rest == "/job-info") return post_model(request, job, true);
  if (rest == "/restart") return restart_job(job);
  if (method == "PUT") return put_job(request, job);
  if (method == "DELETE") return delete_job(job);
  return json_reply(200, job_detail_json(view_of(job), spec_to_json(job.spec)));
}

Reply SamzaScheduler::Impl::post_jobs(const http::ServerRequest& request) {
  auto submission = parse_submission(request.body);
  if (!submission) return error_reply(400, submission.error().what());
  JobSpec& spec = submission->spec;
  auto existing = jobs_.find(spec.name);
  if (!spec.runnable()) {
    // Heatblast's second step: the SamzaJobConfig of a job submitted before.
    if (existing == jobs_.end()) {
      return error_reply(404, fmt::format("no job '{}': submit it with 'dockerImage' (or "
                                          "'command') first",
                                          spec.name));
    }
    return post_model(request, existing->second, false);
  }
  if (existing != jobs_.end()) {
    return error_reply(409, fmt::format("job '{}' exists already", spec.name));
  }
  if (!spec.role.empty() && spec.role != flags_.role) {
    return error_reply(400, fmt::format("'role' \"{}\" is not this framework's role \"{}\"",
                                        spec.role, flags_.role));
  }
  Job job;
  job.spec = std::move(spec);
  job.token = random_hex_token();
  if (submission->model) {
    job.model = std::move(submission->model);
    job.model_wanted = false;
    job.state = JobState::starting;
  }
  // Stored before anything acts on it: a job submitted just before a crash is not lost.
  if (auto saved = save(job); !saved) return error_reply(500, saved.error().what());
  const std::string name = job.spec.name;
  log_.info(fmt::format("job '{}' submitted ({})", name,
                        job.spec.docker_image.empty() ? "command " + job.spec.command
                                                      : "image " + job.spec.docker_image));
  auto& stored = jobs_[name] = std::move(job);
  post_advance(name);
  Reply reply = json_reply(201, job_summary_json(view_of(stored)));
  reply.headers.emplace_back("Location", "/jobs/" + name);
  return reply;
}

Reply SamzaScheduler::Impl::put_job(const http::ServerRequest& request, Job& job) {
  if (job.state == JobState::killing) {
    return error_reply(409, fmt::format("job '{}' is being killed", job.spec.name));
  }
  auto spec = apply_update(job.spec, request.body);
  if (!spec) return error_reply(400, spec.error().what());
  if (!spec->role.empty() && spec->role != flags_.role) {
    return error_reply(400, fmt::format("'role' \"{}\" is not this framework's role \"{}\"",
                                        spec->role, flags_.role));
  }
  job.spec = std::move(*spec);
  job.model_wanted = true;
  if (job.state == JobState::failed) job.state = JobState::computing_model;
  job.reason.clear();
  if (auto saved = save(job); !saved) return error_reply(500, saved.error().what());
  log_.info(fmt::format("job '{}' updated: computing its model again", job.spec.name));
  post_advance(job.spec.name);
  return json_reply(200, job_summary_json(view_of(job)));
}

Reply SamzaScheduler::Impl::delete_job(Job& job) {
  if (job.state != JobState::killing) {
    job.state = JobState::killing;
    if (auto saved = save(job); !saved) return error_reply(500, saved.error().what());
    log_.info(fmt::format("job '{}': killing its tasks", job.spec.name));
    post_advance(job.spec.name);
  }
  return json_reply(202, job_summary_json(view_of(job)));
}

Reply SamzaScheduler::Impl::restart_job(Job& job) {
  if (job.state == JobState::killing) {
    return error_reply(409, fmt::format("job '{}' is being killed", job.spec.name));
  }
  if (!job.model) {
    job.model_wanted = true;
    job.state = JobState::computing_model;
  } else {
    ++job.generation;
    if (job.state == JobState::failed) job.state = JobState::starting;
  }
  job.degraded = false;
  job.reason.clear();
  if (auto saved = save(job); !saved) return error_reply(500, saved.error().what());
  log_.info(
      fmt::format("job '{}': rolling restart (generation {})", job.spec.name, job.generation));
  post_advance(job.spec.name);
  return json_reply(202, job_summary_json(view_of(job)));
}

Reply SamzaScheduler::Impl::post_model(const http::ServerRequest& request, Job& job,
                                       bool check_token) {
  if (check_token && !same_secret(query_value(request.query, "token"), job.token)) {
    return error_reply(403, fmt::format("wrong or missing token for job '{}'", job.spec.name));
  }
  if (!job.model_wanted || job.state == JobState::killing || job.state == JobState::failed) {
    return error_reply(409, fmt::format("job '{}' is not waiting for a model (it is {})",
                                        job.spec.name, to_string(job.state)));
  }
  auto model = parse_posted_model(request.body, job.spec.name);
  if (!model) return error_reply(400, model.error().what());
  accept_model(job, std::move(*model));
  return json_reply(200, job_summary_json(view_of(job)));
}

Reply SamzaScheduler::Impl::run_job(const http::ServerRequest& request) {
  auto doc = json::parse(request.body);
  if (!doc) return error_reply(400, doc.error().what());
  if (!doc->IsObject() || !doc->HasMember("jobName") || !(*doc)["jobName"].IsString()) {
    return error_reply(400, "'jobName' is missing");
  }
  auto it = jobs_.find(std::string(json::view((*doc)["jobName"])));
  if (it == jobs_.end()) {
    return error_reply(404, fmt::format("no job '{}'", json::view((*doc)["jobName"])));
  }
  return post_model(request, it->second, false);
}

}  // namespace heatblast::samza
