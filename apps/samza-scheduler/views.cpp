#include "views.hpp"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace heatblast::samza {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void put(Writer& w, std::string_view key, std::uint64_t value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.Uint64(value);
}

void summary_fields(Writer& w, const JobView& job) {
  put(w, "name", job.name);
  put(w, "state", job.state);
  put(w, "reason", job.reason);
  w.Key("containers");
  w.StartObject();
  put(w, "running", job.running);
  put(w, "wanted", job.wanted);
  w.EndObject();
  put(w, "restarts", static_cast<std::uint64_t>(job.restarts));
  put(w, "generation", static_cast<std::uint64_t>(job.generation));
}

std::string finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string state_class(std::string_view state) {
  if (state == "RUNNING" || state == "TASK_RUNNING" || state == "subscribed") return "ok";
  if (state == "FAILED" || state == "DEGRADED" || state == "TASK_FAILED" || state == "TASK_LOST" ||
      state == "TASK_ERROR" || state == "disconnected") {
    return "bad";
  }
  return "busy";
}

constexpr std::string_view kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 28px;display:flex;align-items:baseline;gap:24px;flex-wrap:wrap}
header h1{font-size:20px;margin:0;font-weight:600}
header a{color:#9cf}
header .fw{color:#c9cfdb;font-size:13px}
header .fw b{color:#fff;font-weight:500}
main{padding:20px 28px;max-width:1280px}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08);border-radius:6px;overflow:hidden}
th,td{text-align:left;padding:8px 12px;border-bottom:1px solid #e6e8ec;vertical-align:top}
th{background:#eef0f4;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#555d6e}
tr:last-child td{border-bottom:none}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.ok{background:#dff5e3;color:#176b2c}.bad{background:#fde2e1;color:#a1231b}.busy{background:#fff3d6;color:#8a5a00}
tr.job:has(+tr.sub) td{border-bottom:none}
tr.sub td{padding-top:0}
details summary{cursor:pointer;font-weight:600;color:#3a4a6b;font-size:13px}
details table{margin:8px 0 4px;box-shadow:none;border:1px solid #e6e8ec}
.muted{color:#7a8294}.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.empty{padding:28px;text-align:center;color:#7a8294;background:#fff;border-radius:6px}
footer{padding:8px 28px;color:#7a8294;font-size:12px}
)";

// Reloads the page's main part every 5 s, keeping expanded jobs expanded.
constexpr std::string_view kScript = R"(
setInterval(function(){
  fetch(location.href,{cache:'no-store'}).then(function(r){return r.text();}).then(function(t){
    var open={};document.querySelectorAll('details[open]').forEach(function(d){open[d.id]=1;});
    var doc=new DOMParser().parseFromString(t,'text/html');
    document.querySelector('header').innerHTML=doc.querySelector('header').innerHTML;
    document.querySelector('main').innerHTML=doc.querySelector('main').innerHTML;
    document.querySelectorAll('details').forEach(function(d){if(open[d.id])d.open=true;});
  }).catch(function(){});
},5000);
)";

std::string container_rows(const JobView& job) {
  std::string rows;
  for (const auto& c : job.containers) {
    const std::string state = c.state.empty() ? c.phase : c.state;
    rows += fmt::format(
        "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td><span class=\"badge {}\">{}"
        "</span></td><td>{}</td><td class=\"muted\">{}{}</td></tr>\n",
        html(c.id), html(c.task_id.empty() ? "-" : c.task_id), html(c.host.empty() ? "-" : c.host),
        state_class(state), html(state.empty() ? "-" : state), c.restarts,
        html(c.reason.empty() ? "" : c.reason + " "), html(c.message));
  }
  return rows;
}

// One row per job; its containers in a full-width row below, folded.
std::string job_row(const JobView& job) {
  std::string detail;
  if (!job.containers.empty()) {
    detail = fmt::format(
        "<tr class=\"sub\"><td colspan=\"5\"><details id=\"job-{0}\"><summary>{1} "
        "container(s)</summary><table><tr><th>id</th><th>task</th><th>host</th><th>state</th>"
        "<th>restarts</th><th>last message</th></tr>\n{2}</table></details></td></tr>\n",
        html(job.name), job.containers.size(), container_rows(job));
  }
  std::string info;
  if (job.containers.empty() && !job.job_info_state.empty()) {
    info = fmt::format("<div class=\"muted\">job-info task: {}</div>", html(job.job_info_state));
  }
  return fmt::format(
      "<tr class=\"job\"><td><b>{}</b><div class=\"muted mono\">{}</div>{}</td><td><span "
      "class=\"badge {}\">{}</span></td><td>{}/{}</td><td>{}</td><td class=\"muted\">{}</td>"
      "</tr>\n{}",
      html(job.name), html(job.image), info, state_class(job.state), html(job.state), job.running,
      job.wanted, job.restarts, html(job.reason.empty() ? "-" : job.reason), detail);
}

}  // namespace

std::string job_summary_json(const JobView& job) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  summary_fields(w, job);
  w.EndObject();
  return finish(buffer);
}

std::string job_detail_json(const JobView& job, const std::string& spec_json) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  summary_fields(w, job);
  if (!job.job_info_state.empty()) put(w, "jobInfoTask", job.job_info_state);
  w.Key("spec");
  w.RawValue(spec_json.data(), spec_json.size(), rapidjson::kObjectType);
  w.Key("containerTasks");
  w.StartArray();
  for (const auto& c : job.containers) {
    w.StartObject();
    put(w, "id", c.id);
    put(w, "taskId", c.task_id);
    put(w, "agentId", c.agent_id);
    put(w, "host", c.host);
    put(w, "state", c.state);
    put(w, "phase", c.phase);
    put(w, "restarts", static_cast<std::uint64_t>(c.restarts));
    put(w, "reason", c.reason);
    put(w, "message", c.message);
    put(w, "generation", static_cast<std::uint64_t>(c.generation));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return finish(buffer);
}

std::string jobs_json(const std::vector<JobView>& jobs) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("jobs");
  w.StartArray();
  for (const auto& job : jobs) {
    w.StartObject();
    summary_fields(w, job);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return finish(buffer);
}

std::string framework_json(const FrameworkView& framework) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "name", framework.name);
  put(w, "frameworkId", framework.id);
  put(w, "master", framework.master);
  put(w, "state", framework.state);
  if (!framework.instance.empty()) {
    put(w, "instance", framework.instance);
    put(w, "leader", framework.leader);
  }
  w.EndObject();
  return finish(buffer);
}

std::string error_json(const std::string& message) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  put(w, "error", message);
  w.EndObject();
  return finish(buffer);
}

namespace {

// With --zk: which instance this is; a standby links the leader's page.
std::string instance_badge(const FrameworkView& framework) {
  if (framework.instance.empty()) return {};
  if (framework.instance == "leader") {
    return "<span class=\"fw\"><span class=\"badge ok\">leader</span></span>";
  }
  if (framework.leader.empty()) {
    return "<span class=\"fw\"><span class=\"badge busy\">standby, no leader known</span></span>";
  }
  return fmt::format(
      "<span class=\"fw\"><span class=\"badge busy\">standby</span> leader is "
      "<a href=\"http://{0}/\">{0}</a></span>",
      html(framework.leader));
}

std::string standby_page(const FrameworkView& framework) {
  const std::string where =
      framework.leader.empty()
          ? std::string("No leader is known yet; this page shows it once one is elected.")
          : fmt::format(
                "Jobs run on the leader, <a href=\"http://{0}/\">{0}</a>. This "
                "instance takes over if the leader goes away; its API forwards "
                "every request to the leader meanwhile.",
                html(framework.leader));
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{0} - samza-scheduler (standby)</title><noscript><meta http-equiv=\"refresh\" "
      "content=\"5\"></noscript><style>{1}</style></head><body>\n"
      "<header><h1>{0}</h1>{2}</header>\n<main><div class=\"empty\">{3}</div></main>\n"
      "<footer>Refreshes every 5 s. API: <a href=\"/framework\">/framework</a>, "
      "<a href=\"/metrics\">/metrics</a></footer>\n<script>{4}</script></body></html>\n",
      html(framework.name), kStyle, instance_badge(framework), where, kScript);
}

}  // namespace

std::string status_page(const FrameworkView& framework, const std::vector<JobView>& jobs) {
  // A standby neither subscribes nor keeps jobs (its API forwards to the leader), so its page
  // says where the jobs are instead of a framework, a master and an empty job list.
  if (framework.instance == "standby") return standby_page(framework);
  std::string rows;
  for (const auto& job : jobs)
    rows += job_row(job);
  const std::string body =
      jobs.empty() ? std::string(
                         "<div class=\"empty\">No jobs yet. Submit one with "
                         "<span class=\"mono\">POST /jobs</span>.</div>")
                   : fmt::format(
                         "<table><tr><th>job</th><th>state</th><th>running / wanted</th>"
                         "<th>restarts</th><th>last problem</th></tr>\n{}</table>",
                         rows);
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>{0} - samza-scheduler</title><noscript><meta http-equiv=\"refresh\" "
      "content=\"5\"></noscript><style>{1}</style></head><body>\n"
      "<header><h1>{0}</h1><span class=\"fw\">framework <b class=\"mono\">{2}</b></span>"
      "<span class=\"fw\">master <b>{3}</b></span><span class=\"fw\"><span class=\"badge {4}\">"
      "{5}</span></span>{9}<span class=\"fw\">{6} job(s)</span></header>\n"
      "<main>{7}</main>\n<footer>Refreshes every 5 s. API: <a href=\"/jobs\">/jobs</a>, "
      "<a href=\"/framework\">/framework</a>, <a href=\"/metrics\">/metrics</a></footer>\n"
      "<script>{8}</script></body></html>\n",
      html(framework.name), kStyle, html(framework.id.empty() ? "(not registered)" : framework.id),
      html(framework.master.empty() ? "-" : framework.master), state_class(framework.state),
      html(framework.state), jobs.size(), body, kScript, instance_badge(framework));
}

std::string metrics_text(const MetricsView& m) {
  std::string out;
  auto metric = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("samza_scheduler_jobs", "gauge", "Jobs by state.");
  for (std::string_view state :
       {"SUBMITTED", "COMPUTING_MODEL", "STARTING", "RUNNING", "DEGRADED", "FAILED", "KILLING"}) {
    std::size_t count = 0;
    for (const auto& job : m.jobs)
      count += job.state == state;
    out += fmt::format("samza_scheduler_jobs{{state=\"{}\"}} {}\n", state, count);
  }
  metric("samza_scheduler_containers_running", "gauge", "Containers in TASK_RUNNING, by job.");
  for (const auto& job : m.jobs)
    out += fmt::format("samza_scheduler_containers_running{{job=\"{}\"}} {}\n", label(job.name),
                       job.running);
  metric("samza_scheduler_containers_wanted", "gauge", "Containers in the job's model, by job.");
  for (const auto& job : m.jobs)
    out += fmt::format("samza_scheduler_containers_wanted{{job=\"{}\"}} {}\n", label(job.name),
                       job.wanted);
  metric("samza_scheduler_container_restarts", "gauge",
         "Relaunches of the job's current containers, by job.");
  for (const auto& job : m.jobs)
    out += fmt::format("samza_scheduler_container_restarts{{job=\"{}\"}} {}\n", label(job.name),
                       job.restarts);
  metric("samza_scheduler_offers_received_total", "counter", "OFFERS events received.");
  out += fmt::format("samza_scheduler_offers_received_total {}\n", m.offers_received);
  metric("samza_scheduler_offers_used_total", "counter", "ACCEPT calls the master took.");
  out += fmt::format("samza_scheduler_offers_used_total {}\n", m.offers_used);
  metric("samza_scheduler_offers_declined_total", "counter", "DECLINE calls the master took.");
  out += fmt::format("samza_scheduler_offers_declined_total {}\n", m.offers_declined);
  metric("samza_scheduler_subscribed", "gauge", "1 while subscribed to a master.");
  out += fmt::format("samza_scheduler_subscribed {}\n", m.framework.state == "subscribed" ? 1 : 0);
  if (!m.framework.instance.empty()) {
    metric("samza_scheduler_leader", "gauge",
           "1 while this instance leads (--zk), 0 while it is a standby.");
    out += fmt::format("samza_scheduler_leader {}\n", m.framework.instance == "leader" ? 1 : 0);
  }
  metric("samza_scheduler_subscriptions_total", "counter", "SUBSCRIBED events received.");
  out += fmt::format("samza_scheduler_subscriptions_total {}\n", m.subscriptions);
  metric("samza_scheduler_reconnects_total", "counter", "Connection attempts after the first.");
  out += fmt::format("samza_scheduler_reconnects_total {}\n", m.reconnects);
  metric("samza_scheduler_events_total", "counter", "Events received, by type.");
  for (const auto& [type, count] : m.events)
    out += fmt::format("samza_scheduler_events_total{{type=\"{}\"}} {}\n", label(type), count);
  metric("samza_scheduler_calls_total", "counter", "Calls the master accepted, by type.");
  for (const auto& [type, count] : m.calls)
    out += fmt::format("samza_scheduler_calls_total{{type=\"{}\"}} {}\n", label(type), count);
  metric("samza_scheduler_http_requests_total", "counter", "API requests served.");
  out += fmt::format("samza_scheduler_http_requests_total {}\n", m.http_requests);
  return out;
}

}  // namespace heatblast::samza
