#include "load_tester.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "host_port.hpp"
#include "machine.hpp"
#include "worker.hpp"

namespace heatblast::load {
namespace {

// A grant covers this much of a task's rate: a worker asks again when half of it is left, so a
// round trip to the load-tester has about 0.12 s before the worker would wait, and a lost worker
// leaves about this much of its rate in doubt.
constexpr double kGrantAheadSeconds = 0.25;
// With --rate 0 a grant follows the task's measured throughput, within these bounds (the upper
// one bounds what a lost worker leaves in doubt).
constexpr std::uint64_t kMinGrant = 100;
constexpr std::uint64_t kMaxGrant = 10000;

// A value of a "task=NAME&final=0|1&started=N" query.
std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=')
      return std::string(pair.substr(key.size() + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

// The load-worker binary, whole: served from memory to every task that fetches it.
Result<std::string> read_worker_binary(const std::string& path) {
  constexpr std::size_t kMaxSize = std::size_t{512} << 20;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) {
    return fail(errc::invalid_argument,
                fmt::format("cannot read the load-worker binary '{}' (give --worker PATH, or "
                            "--worker-on-agent PATH to run one installed on the agents)",
                            path));
  }
  const auto size = static_cast<std::size_t>(in.tellg());
  if (size == 0 || size > kMaxSize) {
    return fail(
        errc::invalid_argument,
        fmt::format("the load-worker binary '{}' holds {} bytes: not a program", path, size));
  }
  std::string bytes(size, '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return fail(errc::io_error, fmt::format("cannot read the load-worker binary '{}'", path));
  }
  return bytes;
}

}  // namespace

LoadTester::LoadTester(boost::asio::any_io_executor executor, Flags flags, std::string worker,
                       LoadTesterHooks hooks)
    : executor_(std::move(executor)),
      flags_(std::move(flags)),
      worker_(std::move(worker)),
      hooks_(std::move(hooks)) {}

LoadTester::~LoadTester() {
  if (framework_) framework_->stop();
  if (server_) server_->stop();
}

void LoadTester::log(std::string_view line) const {
  if (hooks_.on_log) hooks_.on_log(line);
}

Result<void> LoadTester::start() {
  auto masters = scheduler::parse_masters(flags_.master);
  if (!masters) return tl::unexpected(masters.error());
  auto listen = apps::parse_listen(flags_.listen);
  if (!listen) return tl::unexpected(listen.error());
  if (auto ok = check_target(flags_.target, flags_.query); !ok)
    return fail(errc::invalid_argument, "--target: " + ok.error().what());

  if (flags_.worker_on_agent.empty()) {
    auto binary = read_worker_binary(worker_);
    if (!binary) return tl::unexpected(binary.error());
    worker_binary_ = std::make_shared<const std::string>(std::move(*binary));
  }

  http::ServerOptions server_options;
  server_options.address = listen->address;
  server_options.port = listen->port;
  // A report is at most a few dozen kB (every histogram bucket filled): anything bigger is not one.
  server_options.max_body_size = 64 << 10;
  server_ = std::make_unique<http::Server>(
      executor_, server_options,
      [this](const http::ServerRequest& request, http::Responder responder) {
        if (request.path == "/load-worker") return serve_worker(request, std::move(responder));
        handle_figures(request, std::move(responder));
      });
  if (auto started = server_->start(); !started) return tl::unexpected(started.error());

  std::string advertise = flags_.advertise;
  if (advertise.empty()) {
    if (listen->address != "0.0.0.0" && listen->address != "::") {
      advertise = listen->address;
    } else if (auto host = apps::machine_hostname()) {
      advertise = *host;
    } else {
      return fail(errc::invalid_argument, "this host has no name: give --advertise");
    }
  }
  if (advertise.find(':') == std::string::npos) advertise += fmt::format(":{}", server_->port());
  report_to_ = "http://" + advertise;

  const auto shares = split_queries(flags_.total_queries, flags_.queries_per_task);
  // --rate is for the whole run: each of the (at most P) tasks running at once gets its part.
  const auto running = std::min<std::size_t>(flags_.parallelism, shares.size());
  task_rate_ = flags_.rate > 0 && running > 0 ? flags_.rate / static_cast<double>(running) : 0;

  scheduler::Options options;
  options.masters = *masters;
  options.framework.set_user("root");
  if (const char* user = std::getenv("USER"); user && *user) options.framework.set_user(user);
  options.framework.set_name("load-tester");
  // A load run nobody resumes should not hold the cluster once we are gone.
  options.framework.set_failover_timeout(60);
  options.give_up_after = std::chrono::seconds(60);
  tasks::ManagerOptions manager_options;
  manager_options.max_in_flight = flags_.parallelism;
  manager_options.min_revive_interval = std::chrono::milliseconds(200);
  scheduler::Handlers handlers;
  handlers.on_log = [this](scheduler::LogLevel level, std::string_view line) {
    if (level != scheduler::LogLevel::debug) log(line);
  };
  handlers.on_fatal = [this](const Error& error) {
    log(fmt::format("giving up: {}", error.what()));
    finish(2);
  };
  framework_ = std::make_unique<tasks::Framework>(
      executor_, std::move(options), std::move(manager_options), std::move(handlers),
      [this](const tasks::TaskChange& change) { on_change(change); });
  for (const auto share : shares)
    add_task(share);
  started_at_ = std::chrono::steady_clock::now();
  return framework_->start();
}

void LoadTester::add_task(std::uint64_t share) {
  const std::string name = fmt::format("load-{}", ++next_task_);
  WorkerOptions worker;
  // A PostgreSQL password goes in the task's environment, as a secret, not in its arguments.
  auto [target, password] = target_kind(flags_.target) == TargetKind::postgresql
                                ? split_password(flags_.target)
                                : TargetWithoutPassword{flags_.target, {}};
  worker.target = target;
  worker.query = flags_.query;
  worker.queries = share;
  worker.rate = task_rate_;
  worker.connections = flags_.connections;
  worker.timeout =
      std::chrono::milliseconds(static_cast<std::int64_t>(flags_.timeout_seconds * 1000));
  worker.report_to = report_to_;
  worker.task = name;
  // Nothing granted yet: the worker asks before its first query, so a task that never got to
  // ask leaves nothing in doubt.
  worker.granted = 0;

  tasks::TaskSpec spec;
  spec.name = name;
  // No shell: the query text goes to the worker as one argument, whatever it holds.
  spec.command.set_shell(false);
  if (flags_.worker_on_agent.empty()) {
    // Fetched into the sandbox (the task's working directory) before it runs.
    auto* uri = spec.command.add_uris();
    uri->set_value(report_to_ + "/load-worker");
    uri->set_executable(true);
    uri->set_extract(false);
    spec.command.set_value("./load-worker");
    spec.command.add_arguments("load-worker");
  } else {
    spec.command.set_value(flags_.worker_on_agent);
    spec.command.add_arguments(flags_.worker_on_agent);
  }
  for (const auto& argument : worker_arguments(worker))
    spec.command.add_arguments(argument);
  if (!password.empty()) {
    auto* variable = spec.command.mutable_environment()->add_variables();
    variable->set_name("PGPASSWORD");
    variable->set_type(mesos::v1::Environment::Variable::SECRET);
    variable->mutable_secret()->set_type(mesos::v1::Secret::VALUE);
    variable->mutable_secret()->mutable_value()->set_data(password);
  }
  spec.resources.scalars = {{"cpus", flags_.task_cpus}, {"mem", flags_.task_mem}};
  spec.restart.policy = tasks::RestartPolicy::never;  // a failure is re-queued here, by share
  results_[name] = TaskResult{name, share, {}, {}, {}, false, 0, 0, std::nullopt};
  if (auto added = framework_->tasks().add(std::move(spec)); !added) {
    log(fmt::format("cannot add {}: {}", name, added.error().what()));
  }
}

std::uint64_t LoadTester::grant_window(const TaskResult& task) const {
  // Enough for every connection to have a few queries in flight.
  const std::uint64_t floor = std::max<std::uint64_t>(10, 4 * flags_.connections);
  if (task_rate_ > 0)
    return std::max(floor, static_cast<std::uint64_t>(std::ceil(task_rate_ * kGrantAheadSeconds)));
  const double seconds = static_cast<double>(task.figures.duration_us) / 1e6;
  const double measured =
      seconds > 0 ? static_cast<double>(task.figures.queries) / seconds * kGrantAheadSeconds : 0;
  return std::clamp(static_cast<std::uint64_t>(measured), std::max(floor, kMinGrant),
                    std::max(floor, kMaxGrant));
}

void LoadTester::serve_worker(const http::ServerRequest& request, http::Responder responder) {
  if (request.method != "GET") return (void)responder.respond(405, {{"Allow", "GET"}});
  if (!worker_binary_) return (void)responder.respond(404, {}, "no worker served\n");
  responder.respond(200, {{"Content-Type", "application/octet-stream"}}, *worker_binary_);
}

void LoadTester::handle_figures(const http::ServerRequest& request, http::Responder responder) {
  if (request.path != "/figures") return (void)responder.respond(404);
  if (request.method != "POST") return (void)responder.respond(405, {{"Allow", "POST"}});
  auto it = results_.find(query_value(request.query, "task"));
  if (it == results_.end()) return (void)responder.respond(404, {}, "unknown task\n");
  auto figures = decode(request.body);
  if (!figures) return (void)responder.respond(400, {}, figures.error().what() + "\n");
  TaskResult& task = it->second;
  // Figures of a task already counted as ended (a late post, or a worker that outlived its
  // task) would be counted twice: its share has been re-queued.
  if (task.outcome) return (void)responder.respond(409, {}, "task already ended\n");
  // A late progress report must not replace the final one.
  if (!task.final_report) {
    task.figures = std::move(*figures);
    task.final_report = query_value(request.query, "final") == "1";
  }
  // The answer grants queries ahead of those the worker has started, up to its share.
  std::uint64_t started = 0;
  const std::string started_text = query_value(request.query, "started");
  std::from_chars(started_text.data(), started_text.data() + started_text.size(), started);
  started = std::max(started, task.figures.queries);
  if (!task.final_report)
    task.granted = std::max(task.granted, std::min(task.share, started + grant_window(task)));
  responder.respond(200, {{"Content-Type", "text/plain"}},
                    fmt::format("granted {}\n", task.granted));
}

void LoadTester::on_change(const tasks::TaskChange& change) {
  peak_in_flight_ = std::max(peak_in_flight_, framework_->tasks().in_flight());
  const auto& record = change.record;
  if (auto it = results_.find(record.name); it != results_.end()) {
    if (!record.task_id.empty()) it->second.task_id = record.task_id;
    if (!record.hostname.empty()) it->second.agent = record.hostname;
  }
  if (record.phase == tasks::Phase::done && change.previous_phase != tasks::Phase::done)
    task_ended(record);
  if (framework_->tasks().all_done() && !finished_) {
    const bool clean = !aborting_ && failed_tasks_ == 0 && totals().errors == 0;
    // Leave the handler first: finish() tears the framework down.
    boost::asio::post(executor_, [this, clean] { finish(clean ? 0 : 1); });
  }
}

void LoadTester::task_ended(const tasks::TaskRecord& record) {
  TaskResult& task = results_[record.name];
  task.outcome = record.last_outcome;
  const bool ok = task.outcome == mesos::v1::TASK_FINISHED && task.final_report;
  if (ok) return;
  const std::uint64_t done = std::min(task.figures.queries, task.share);
  // Without its final report, a worker may have sent any of the queries it was granted and not
  // reported: those are neither counted done nor sent again.
  const std::uint64_t sent_at_most = task.final_report ? done : std::max(done, task.granted);
  task.in_doubt = sent_at_most - done;
  in_doubt_queries_ += task.in_doubt;
  if (aborting_) return;
  ++failed_tasks_;
  const std::uint64_t rest = task.share - sent_at_most;
  log(fmt::format("{} ended {} after {} of {} queries ({} in doubt){}", record.name,
                  task.outcome ? mesos::v1::TaskState_Name(*task.outcome) : "without a state", done,
                  task.share, task.in_doubt, record.message.empty() ? "" : ": " + record.message));
  if (failed_tasks_ > flags_.max_failed_tasks) {
    log(fmt::format("{} tasks failed, more than --max-failed-tasks {}: aborting", failed_tasks_,
                    flags_.max_failed_tasks));
    abort();
    return;
  }
  if (rest > 0) {
    requeued_queries_ += rest;
    add_task(rest);
  }
}

void LoadTester::abort() {
  if (aborting_ || !framework_) return;
  aborting_ = true;
  for (const auto& record : framework_->tasks().records())
    if (record.phase != tasks::Phase::done) (void)framework_->tasks().kill(record.name);
  if (framework_->tasks().all_done()) boost::asio::post(executor_, [this] { finish(1); });
}

Figures LoadTester::totals() const {
  Figures all;
  for (const auto& [name, task] : results_)
    all.merge(task.figures);
  return all;
}

std::string LoadTester::progress_line() {
  const auto now = std::chrono::steady_clock::now();
  const auto all = totals();
  const auto since =
      progress_at_ == std::chrono::steady_clock::time_point() ? started_at_ : progress_at_;
  const double seconds = std::chrono::duration<double>(now - since).count();
  const double rate =
      seconds > 0
          ? static_cast<double>(all.queries - std::min(all.queries, progress_queries_)) / seconds
          : 0;
  progress_queries_ = all.queries;
  progress_at_ = now;
  return fmt::format("{}/{} queries, {} tasks running, {} errors, {:.0f} queries/s{}", all.queries,
                     flags_.total_queries, framework_ ? framework_->tasks().in_flight() : 0,
                     all.errors, rate,
                     in_doubt_queries_ > 0 ? fmt::format(", {} in doubt", in_doubt_queries_) : "");
}

std::string LoadTester::report() const {
  const auto end = finished_ ? ended_at_ : std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(end - started_at_).count();
  return format_report(flags_.report, totals(), results_, seconds, failed_tasks_, requeued_queries_,
                       in_doubt_queries_);
}

void LoadTester::finish(int status) {
  if (finished_) return;
  finished_ = true;
  ended_at_ = std::chrono::steady_clock::now();
  server_->stop();
  auto done = [this, status] {
    if (hooks_.on_exit) hooks_.on_exit(status);
  };
  if (status == 2 || !framework_) return done();
  framework_->client().teardown([done](Result<void>) { done(); });
}

}  // namespace heatblast::load
