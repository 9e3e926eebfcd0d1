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

// Posts `figures` to the load-tester; a reply other than 2xx is an error.
Result<void> post_figures(const WorkerOptions& options, const Figures& figures, bool final) {
  CurlHandle handle(curl_easy_init());
  if (!handle) return fail(errc::transport_error, "curl_easy_init failed");
  const std::string url =
      fmt::format("{}/figures?task={}&final={}", options.report_to, options.task, final ? 1 : 0);
  const std::string body = encode(figures);
  CURL* h = handle.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  CurlSlist headers(curl_slist_append(nullptr, "Expect:"));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK)
    return fail(errc::transport_error,
                fmt::format("report to {}: {}", url, curl_easy_strerror(code)));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299)
    return fail(errc::protocol_error, fmt::format("report to {}: HTTP {}", url, status));
  return {};
}

// What the connection threads share: the next query's number, and the figures so far.
struct Shared {
  std::atomic<std::uint64_t> next{0};
  std::mutex mutex;
  Figures figures;  // merged in by each thread at its end; counts also updated as it goes
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
  std::string first_error;  // under `mutex`: what the first failed query said
};

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

// All of an HTTP share's connections from the calling thread.
Result<void> run_http(const WorkerOptions& options, Shared& shared, Clock::time_point start) {
  Figures mine;
  auto ran = run_http_queries(options.target, *parse_http_query(options.query), options.timeout,
                              options.connections, options.queries, options.rate, start,
                              [&](std::chrono::microseconds latency, std::string_view error) {
                                count_query(mine, shared, latency, error);
                              });
  std::lock_guard lock(shared.mutex);
  shared.figures.merge(mine);
  return ran;
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
    else
      return fail(errc::invalid_argument, "unknown flag " + name);
    if (!ok) return fail(errc::invalid_argument, fmt::format("{}: bad value '{}'", name, value));
  }
  if (o.target.empty()) return fail(errc::invalid_argument, "--target is required");
  return o;
}

std::vector<std::string> worker_arguments(const WorkerOptions& o) {
  return {"--target",      o.target,
          "--query",       o.query,
          "--queries",     std::to_string(o.queries),
          "--rate",        fmt::format("{}", o.rate),
          "--connections", std::to_string(o.connections),
          "--timeout-ms",  std::to_string(o.timeout.count()),
          "--report-to",   o.report_to,
          "--task",        o.task};
}

Result<Figures> run_worker(const WorkerOptions& options) {
  if (auto ok = check_target(options.target, options.query); !ok) return tl::unexpected(ok.error());
  // HTTP: every connection from this thread (libcurl's multi interface); PostgreSQL: a blocking
  // connection per thread.
  const bool http = target_kind(options.target) == TargetKind::http;
  std::vector<std::unique_ptr<Target>> targets;
  for (std::uint64_t i = 0; !http && i < options.connections; ++i) {
    auto target = connect_target(options.target, options.query, options.timeout);
    if (!target) return tl::unexpected(target.error());
    targets.push_back(std::move(*target));
  }
  Shared shared;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (auto& target : targets)
    threads.emplace_back([&, t = target.get()] { run_connection(options, *t, shared, start); });

  // Progress while the threads run: the counts only (the histogram comes with the final report).
  std::mutex wake_mutex;
  std::condition_variable wake;
  bool finished = false;
  std::thread progress([&] {
    std::unique_lock lock(wake_mutex);
    while (!wake.wait_for(lock, options.progress_every, [&] { return finished; })) {
      if (options.report_to.empty()) continue;
      Figures now;
      now.queries = shared.done.load();
      now.errors = shared.errors.load();
      now.duration_us = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
      lock.unlock();
      (void)post_figures(options, now, false);  // progress is best effort; the final is not
      lock.lock();
    }
  });
  Result<void> ran;
  if (http) ran = run_http(options, shared, start);
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
  figures.duration_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
  if (!options.report_to.empty()) {
    if (auto posted = post_figures(options, figures, true); !posted)
      return tl::unexpected(posted.error());
  }
  return figures;
}

}  // namespace heatblast::load
