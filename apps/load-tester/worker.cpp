#include "worker.hpp"

#include <curl/curl.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace heatblast::load {
namespace {

using Clock = std::chrono::steady_clock;

size_t discard(char*, size_t size, size_t n, void*) {
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// The scheme and authority of `url`: "http://h:1/a/b" -> "http://h:1".
std::string origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto path = url.find('/', scheme_end + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

class HttpTarget final : public Target {
 public:
  HttpTarget(CurlHandle handle, std::string url, HttpQuery query)
      : handle_(std::move(handle)), url_(std::move(url)), query_(std::move(query)) {}

  Result<void> query() override {
    const CURLcode code = curl_easy_perform(handle_.get());
    if (code != CURLE_OK) return fail(errc::transport_error, curl_easy_strerror(code));
    long status = 0;
    curl_easy_getinfo(handle_.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) return fail(errc::protocol_error, fmt::format("HTTP {}", status));
    return {};
  }

  Result<void> setup(std::chrono::milliseconds timeout) {
    CURL* h = handle_.get();
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, query_.method.c_str());
    if (query_.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (!query_.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, query_.body.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(query_.body.size()));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    // Without it curl sends "Expect: 100-continue" for larger bodies and waits for an answer.
    headers_.reset(curl_slist_append(nullptr, "Expect:"));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
    return {};
  }

 private:
  CurlHandle handle_;
  std::string url_;
  HttpQuery query_;
  std::unique_ptr<curl_slist, SlistDeleter> headers_;
};

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
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(nullptr, "Expect:"));
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

void run_connection(const WorkerOptions& options, Target& target, Shared& shared,
                    Clock::time_point start) {
  Figures mine;
  for (;;) {
    const std::uint64_t n = shared.next.fetch_add(1);
    if (n >= options.queries) break;
    if (options.rate > 0) {
      // Query n is due n/rate seconds after the start: the rate holds over the whole share
      // and a slow query is caught up on, not lost.
      const auto due =
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(n) / options.rate));
      std::this_thread::sleep_until(due);
    }
    const auto before = Clock::now();
    const auto result = target.query();
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - before).count();
    mine.latency.record(static_cast<std::uint64_t>(micros));
    ++mine.queries;
    if (!result) {
      ++mine.errors;
      if (shared.errors.fetch_add(1) == 0) {
        std::lock_guard lock(shared.mutex);
        shared.first_error = result.error().what();
      }
    }
    shared.done.fetch_add(1);
  }
  std::lock_guard lock(shared.mutex);
  shared.figures.merge(mine);
}

}  // namespace

Result<HttpQuery> parse_http_query(std::string_view text) {
  HttpQuery q;
  const auto space = text.find(' ');
  q.method = std::string(text.substr(0, space));
  if (space == std::string_view::npos || q.method.empty())
    return fail(errc::invalid_argument,
                fmt::format("query '{}' is not 'METHOD /path [body]'", text));
  std::string_view rest = text.substr(space + 1);
  const auto body_start = rest.find(' ');
  q.path = std::string(rest.substr(0, body_start));
  if (q.path.empty() || q.path.front() != '/')
    return fail(errc::invalid_argument,
                fmt::format("query '{}' is not 'METHOD /path [body]'", text));
  if (body_start != std::string_view::npos) q.body = std::string(rest.substr(body_start + 1));
  for (const char c : q.method)
    if (c < 'A' || c > 'Z')
      return fail(errc::invalid_argument, fmt::format("'{}' is not an HTTP method", q.method));
  return q;
}

Result<std::unique_ptr<Target>> make_http_target(const std::string& base_url,
                                                 const HttpQuery& query,
                                                 std::chrono::milliseconds timeout) {
  CurlHandle handle(curl_easy_init());
  if (!handle) return fail(errc::transport_error, "curl_easy_init failed");
  auto target =
      std::make_unique<HttpTarget>(std::move(handle), origin(base_url) + query.path, query);
  if (auto ok = target->setup(timeout); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<Target>(std::move(target));
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
  auto query = parse_http_query(options.query);
  if (!query) return tl::unexpected(query.error());
  std::vector<std::unique_ptr<Target>> targets;
  for (std::uint64_t i = 0; i < options.connections; ++i) {
    auto target = make_http_target(options.target, *query, options.timeout);
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
  for (auto& thread : threads)
    thread.join();
  {
    std::lock_guard lock(wake_mutex);
    finished = true;
  }
  wake.notify_all();
  progress.join();

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
