#include "worker.hpp"

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "curl_handle.hpp"

namespace heatblast::load {
namespace {

using Clock = std::chrono::steady_clock;

// While the worker waits for grants it checks this often whether to ask for more.
constexpr std::chrono::milliseconds kGrantPoll{10};
// After an answer that granted nothing new, this long before asking again.
constexpr std::chrono::milliseconds kAskAgain{50};
// A worker out of grants that hears nothing from the load-tester for this long gives up.
constexpr std::chrono::seconds kGiveUp{30};

std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// The load-tester's answer to a report.
struct Reply {
  long status = 0;
  std::string body;  // "granted N\n"
};

// Posts `figures` (and how many queries were started) to the load-tester.
Result<Reply> post_figures(const WorkerOptions& options, const Figures& figures,
                           std::uint64_t started, bool final) {
  CurlHandle handle(curl_easy_init());
  if (!handle) return fail(errc::transport_error, "curl_easy_init failed");
  const std::string url = fmt::format("{}/figures?task={}&final={}&started={}", options.report_to,
                                      options.task, final ? 1 : 0, started);
  const std::string body = encode(figures);
  Reply reply;
  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &keep_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  CurlSlist headers(curl_slist_append(nullptr, "Expect:"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK)
    return fail(errc::transport_error,
                fmt::format("report to {}: {}", url, curl_easy_strerror(code)));
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

// N from a "granted N" answer; 0 when it holds none.
std::uint64_t granted_in(std::string_view body) {
  constexpr std::string_view kKey = "granted ";
  std::uint64_t n = 0;
  if (body.rfind(kKey, 0) == 0)
    std::from_chars(body.data() + kKey.size(), body.data() + body.size(), n);
  return n;
}

// What the connection threads share: the next query's number, the grants, and the figures so
// far.
struct Shared {
  std::atomic<std::uint64_t> next{0};
  std::mutex mutex;
  Figures figures;  // merged in by each thread at its end; counts also updated as it goes
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
  std::string first_error;  // under `mutex`: what the first failed query said
  // Grants: queries numbered below `allowed` may start. Raised and stopped under `mutex`.
  std::atomic<std::uint64_t> allowed{0};
  std::atomic<std::uint64_t> started{0};  // by the connection threads (HTTP counts its own)
  std::atomic<bool> stopped{false};
  std::condition_variable more_granted;
  HttpRun* http = nullptr;  // told of grants and of the stop
};

// Waits until query `n` is granted; false when the worker stopped first.
bool wait_granted(Shared& shared, std::uint64_t n) {
  if (n < shared.allowed.load() && !shared.stopped.load()) return true;
  std::unique_lock lock(shared.mutex);
  shared.more_granted.wait(lock,
                           [&] { return n < shared.allowed.load() || shared.stopped.load(); });
  return !shared.stopped.load();
}

void raise_grant(Shared& shared, std::uint64_t allowed) {
  {
    std::lock_guard lock(shared.mutex);
    if (allowed <= shared.allowed.load()) return;
    shared.allowed.store(allowed);
  }
  shared.more_granted.notify_all();
  if (shared.http != nullptr) shared.http->allow(allowed);
}

void stop_queries(Shared& shared) {
  {
    std::lock_guard lock(shared.mutex);
    shared.stopped.store(true);
  }
  shared.more_granted.notify_all();
  if (shared.http != nullptr) shared.http->stop();
}

// Counts one completed query in `mine` and in `shared` (which the progress reports read).
void count_query(Figures& mine, Shared& shared, std::chrono::microseconds latency,
                 std::string_view error) {
  mine.latency.record(static_cast<std::uint64_t>(latency.count()));
  ++mine.queries;
  if (!error.empty()) {
    ++mine.errors;
    if (shared.errors.fetch_add(1) == 0) {
      std::lock_guard lock(shared.mutex);
      shared.first_error = error;
    }
  }
  shared.done.fetch_add(1);
}

// One blocking connection's thread (PostgreSQL): takes query numbers until the share is done.
void run_connection(const WorkerOptions& options, Target& target, Shared& shared,
                    Clock::time_point start) {
  Figures mine;
  for (;;) {
    const std::uint64_t n = shared.next.fetch_add(1);
    if (n >= options.queries) break;
    if (!wait_granted(shared, n)) break;
    shared.started.fetch_add(1);
    if (options.rate > 0) std::this_thread::sleep_until(query_due(start, n, options.rate));
    const auto before = Clock::now();
    const auto result = target.query();
    const auto latency =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - before);
    if (result)
      count_query(mine, shared, latency, {});
    else
      count_query(mine, shared, latency, result.error().what());
  }
  std::lock_guard lock(shared.mutex);
  shared.figures.merge(mine);
}

// Figures only this thread writes while an HTTP share runs (merged into Shared at its end).
struct HttpShare {
  Figures mine;
  std::unique_ptr<HttpRun> run;
};

Result<void> setup_http(const WorkerOptions& options, Shared& shared, HttpShare& share,
                        Clock::time_point start) {
  HttpRunOptions run;
  run.base_url = options.target;
  run.query = *parse_http_query(options.query);
  run.timeout = options.timeout;
  run.connections = options.connections;
  run.queries = options.queries;
  run.rate = options.rate;
  run.start = start;
  run.allowed = shared.allowed.load();
  auto made = HttpRun::make(run, [&](std::chrono::microseconds latency, std::string_view error) {
    count_query(share.mine, shared, latency, error);
  });
  if (!made) return tl::unexpected(made.error());
  share.run = std::move(*made);
  shared.http = share.run.get();
  return {};
}

}  // namespace

Result<void> check_target(const std::string& target, const std::string& query) {
  switch (target_kind(target)) {
    case TargetKind::http:
      if (auto q = parse_http_query(query); !q) return tl::unexpected(q.error());
      return {};
    case TargetKind::postgresql:
      if (query.empty()) return fail(errc::invalid_argument, "--query: an empty SQL statement");
      return check_postgres_target(target);
    case TargetKind::unknown:
      break;
  }
  return fail(
      errc::invalid_argument,
      fmt::format("'{}' is not an http://, https:// or postgresql:// URL", redact_target(target)));
}

Result<std::unique_ptr<Target>> connect_target(const std::string& target, const std::string& query,
                                               std::chrono::milliseconds timeout) {
  if (auto ok = check_target(target, query); !ok) return tl::unexpected(ok.error());
  if (target_kind(target) == TargetKind::postgresql)
    return make_postgres_target(target, query, timeout);
  return make_http_target(target, *parse_http_query(query), timeout);
}

Result<WorkerOptions> parse_worker_flags(const std::vector<std::string>& args) {
  WorkerOptions o;
  for (std::size_t i = 0; i < args.size(); i += 2) {
    const std::string& name = args[i];
    if (i + 1 >= args.size()) return fail(errc::invalid_argument, name + " needs a value");
    const std::string& value = args[i + 1];
    auto number = [&](auto& out) -> bool {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      return !value.empty() && ec == std::errc() && end == value.data() + value.size() && out >= 0;
    };
    bool ok = true;
    if (name == "--target")
      o.target = value;
    else if (name == "--query")
      o.query = value;
    else if (name == "--queries")
      ok = number(o.queries);
    else if (name == "--rate")
      ok = number(o.rate);
    else if (name == "--connections")
      ok = number(o.connections) && o.connections > 0;
    else if (name == "--timeout-ms") {
      std::int64_t ms = 0;
      ok = number(ms) && ms > 0;
      o.timeout = std::chrono::milliseconds(ms);
    } else if (name == "--report-to")
      o.report_to = value;
    else if (name == "--task")
      o.task = value;
    else if (name == "--granted") {
      std::uint64_t granted = 0;
      ok = number(granted);
      o.granted = granted;
    } else
      return fail(errc::invalid_argument, "unknown flag " + name);
    if (!ok) return fail(errc::invalid_argument, fmt::format("{}: bad value '{}'", name, value));
  }
  if (o.target.empty()) return fail(errc::invalid_argument, "--target is required");
  return o;
}

std::vector<std::string> worker_arguments(const WorkerOptions& o) {
  std::vector<std::string> args{"--target",      o.target,
                                "--query",       o.query,
                                "--queries",     std::to_string(o.queries),
                                "--rate",        fmt::format("{}", o.rate),
                                "--connections", std::to_string(o.connections),
                                "--timeout-ms",  std::to_string(o.timeout.count()),
                                "--report-to",   o.report_to,
                                "--task",        o.task};
  if (o.granted) {
    args.push_back("--granted");
    args.push_back(std::to_string(*o.granted));
  }
  return args;
}

Result<Figures> run_worker(const WorkerOptions& options) {
  if (auto ok = check_target(options.target, options.query); !ok) return tl::unexpected(ok.error());
  // HTTP: every connection from this thread (HttpRun); PostgreSQL: a blocking connection per
  // thread.
  const bool http = target_kind(options.target) == TargetKind::http;
  std::vector<std::unique_ptr<Target>> targets;
  for (std::uint64_t i = 0; !http && i < options.connections; ++i) {
    auto target = connect_target(options.target, options.query, options.timeout);
    if (!target) return tl::unexpected(target.error());
    targets.push_back(std::move(*target));
  }
  Shared shared;
  // Without a load-tester to ask, there is nobody to grant more: the share is the grant.
  const bool granting = options.granted && !options.report_to.empty();
  shared.allowed.store(granting ? std::min(*options.granted, options.queries) : options.queries);
  const auto start = Clock::now();
  HttpShare http_share;
  if (http) {
    if (auto ok = setup_http(options, shared, http_share, start); !ok)
      return tl::unexpected(ok.error());
  }
  const auto started = [&] { return http ? http_share.run->started() : shared.started.load(); };
  std::vector<std::thread> threads;
  for (auto& target : targets)
    threads.emplace_back([&, t = target.get()] { run_connection(options, *t, shared, start); });

  // Progress while the threads run: the counts only (the histogram comes with the final report),
  // every progress_every, and sooner when half of the last grant is used up.
  std::mutex wake_mutex;
  std::condition_variable wake;
  bool finished = false;
  std::string stop_reason;  // written by the progress thread, read after it joined
  std::thread progress([&] {
    std::unique_lock lock(wake_mutex);
    auto next_report = start + options.progress_every;
    auto next_ask = start;
    auto last_answer = start;
    std::uint64_t step = shared.allowed.load();
    const auto poll =
        granting ? std::min(kGrantPoll, options.progress_every) : options.progress_every;
    // With nothing granted yet, the first ask goes out before any wait.
    bool ask_now = granting && shared.allowed.load() == 0;
    for (;;) {
      if (!ask_now && wake.wait_for(lock, poll, [&] { return finished; })) break;
      ask_now = false;
      if (options.report_to.empty() || shared.stopped.load()) continue;
      const auto now = Clock::now();
      const std::uint64_t allowed = shared.allowed.load();
      const std::uint64_t begun = std::min(started(), allowed);
      const bool short_of_grants = granting && allowed < options.queries;
      const bool need = short_of_grants && now >= next_ask &&
                        allowed - begun <= std::max<std::uint64_t>(1, step / 2);
      if (now < next_report && !need) continue;
      Figures now_figures;
      now_figures.queries = shared.done.load();
      now_figures.errors = shared.errors.load();
      now_figures.duration_us = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - start).count());
      lock.unlock();
      // Progress is best effort; the final report is not.
      const auto reply = post_figures(options, now_figures, begun, false);
      lock.lock();
      next_report = now + options.progress_every;
      next_ask = now + kAskAgain;
      if (reply && reply->status == 409) {
        // The load-tester counts this task as ended (and has re-queued what it did not grant).
        stop_reason = "the load-tester counts this task as ended";
        stop_queries(shared);
        continue;
      }
      if (reply && reply->status >= 200 && reply->status <= 299) {
        last_answer = now;
        const std::uint64_t granted = std::min(granted_in(reply->body), options.queries);
        if (granted > allowed) {
          step = granted - allowed;
          next_ask = now;
          raise_grant(shared, granted);
        }
      } else if (short_of_grants && begun >= allowed && now - last_answer >= kGiveUp) {
        stop_reason = fmt::format("no grant from the load-tester for {} s", kGiveUp.count());
        stop_queries(shared);
      }
    }
  });
  Result<void> ran;
  if (http) {
    ran = http_share.run->run();
    std::lock_guard lock(shared.mutex);
    shared.figures.merge(http_share.mine);
  }
  for (auto& thread : threads)
    thread.join();
  {
    std::lock_guard lock(wake_mutex);
    finished = true;
  }
  wake.notify_all();
  progress.join();
  if (!ran) return tl::unexpected(ran.error());

  Figures figures = std::move(shared.figures);
  if (!shared.first_error.empty())
    std::fprintf(stderr, "load-worker: %llu queries failed; the first: %s\n",
                 static_cast<unsigned long long>(figures.errors), shared.first_error.c_str());
  if (!stop_reason.empty())
    return fail(errc::protocol_error, fmt::format("stopped after {} of {} queries: {}",
                                                  figures.queries, options.queries, stop_reason));
  figures.duration_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  if (!options.report_to.empty()) {
    auto posted = post_figures(options, figures, figures.queries, true);
    if (!posted) return tl::unexpected(posted.error());
    if (posted->status < 200 || posted->status > 299)
      return fail(errc::protocol_error,
                  fmt::format("final report to {}: HTTP {}", options.report_to, posted->status));
  }
  return figures;
}

}  // namespace heatblast::load
