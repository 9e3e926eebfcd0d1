#include "http_target.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "curl_handle.hpp"

namespace heatblast::load {
namespace {

// The scheme and authority of `url`: "http://h:1/a/b" -> "http://h:1".
std::string origin(const std::string& url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto path = url.find('/', scheme_end + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

// Sets up `h` for `query` at `url` (both must outlive the handle's use); `headers` is the header
// list it sends, which several handles may share.
void setup_easy(CURL* h, const std::string& url, const HttpQuery& query,
                std::chrono::milliseconds timeout, curl_slist* headers) {
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, query.method.c_str());
  if (query.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  if (!query.body.empty()) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, query.body.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(query.body.size()));
  }
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
}

// Without it curl sends "Expect: 100-continue" for larger bodies and waits for an answer.
CurlSlist request_headers() {
  return CurlSlist(curl_slist_append(nullptr, "Expect:"));
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
    headers_ = request_headers();
    setup_easy(handle_.get(), url_, query_, timeout, headers_.get());
    return {};
  }

 private:
  CurlHandle handle_;
  std::string url_;
  HttpQuery query_;
  CurlSlist headers_;
};

struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlMulti = std::unique_ptr<CURLM, MultiDeleter>;

// One connection of run_http_queries: its handle, and when its query in flight started.
struct Connection {
  CurlHandle handle;
  std::chrono::steady_clock::time_point started;
};

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

Result<void> run_http_queries(const std::string& base_url, const HttpQuery& query,
                              std::chrono::milliseconds timeout, std::uint64_t connections,
                              std::uint64_t queries, double rate,
                              std::chrono::steady_clock::time_point start,
                              const HttpQueryDone& done) {
  using Clock = std::chrono::steady_clock;
  const std::string url = origin(base_url) + query.path;
  const CurlSlist headers = request_headers();
  std::vector<Connection> pool(connections);
  std::vector<Connection*> idle;  // reserved once: the loop allocates nothing per query
  idle.reserve(connections);
  for (auto& c : pool) {
    c.handle.reset(curl_easy_init());
    if (!c.handle) return fail(errc::transport_error, "curl_easy_init failed");
    setup_easy(c.handle.get(), url, query, timeout, headers.get());
    curl_easy_setopt(c.handle.get(), CURLOPT_PRIVATE, &c);
    idle.push_back(&c);
  }
  // Declared after the handles so that it is cleaned up first, while they still exist.
  CurlMulti multi(curl_multi_init());
  if (!multi) return fail(errc::transport_error, "curl_multi_init failed");
  // One cached connection per handle: a finished transfer leaves its connection for the next.
  curl_multi_setopt(multi.get(), CURLMOPT_MAXCONNECTS, static_cast<long>(connections));

  std::uint64_t next = 0;
  std::uint64_t completed = 0;
  std::size_t in_flight = 0;
  char status_text[32];
  while (completed < queries) {
    // Start every due query an idle connection can take.
    int wait_ms = 1000;  // curl_multi_poll returns sooner when a transfer's timer says so
    auto now = Clock::now();
    while (!idle.empty() && next < queries) {
      const auto due = query_due(start, next, rate);
      if (due > now) {
        const auto ahead = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
        wait_ms = static_cast<int>(std::min<decltype(ahead)>(ahead, wait_ms));
        break;
      }
      Connection* c = idle.back();
      idle.pop_back();
      c->started = now;
      ++next;
      ++in_flight;
      if (const CURLMcode mc = curl_multi_add_handle(multi.get(), c->handle.get()); mc != CURLM_OK)
        return fail(errc::transport_error,
                    fmt::format("curl_multi_add_handle: {}", curl_multi_strerror(mc)));
    }
    int running = 0;
    if (const CURLMcode mc = curl_multi_perform(multi.get(), &running); mc != CURLM_OK)
      return fail(errc::transport_error,
                  fmt::format("curl_multi_perform: {}", curl_multi_strerror(mc)));
    bool any_done = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      if (!any_done) now = Clock::now();  // one clock read for all that finished together
      any_done = true;
      CURL* h = msg->easy_handle;
      const CURLcode code = msg->data.result;  // msg is invalid once the handle is removed
      Connection* c = nullptr;
      curl_easy_getinfo(h, CURLINFO_PRIVATE, &c);
      std::string_view error;
      if (code != CURLE_OK) {
        error = curl_easy_strerror(code);
      } else {
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 400) {
          const auto end = fmt::format_to_n(status_text, sizeof status_text, "HTTP {}", status);
          error = std::string_view(status_text, end.out - status_text);
        }
      }
      curl_multi_remove_handle(multi.get(), h);
      idle.push_back(c);
      --in_flight;
      ++completed;
      done(std::chrono::duration_cast<std::chrono::microseconds>(now - c->started), error);
    }
    // A finished query frees a connection: start the next one before waiting.
    if (any_done || completed >= queries) continue;
    if (const CURLMcode mc = curl_multi_poll(multi.get(), nullptr, 0, wait_ms, nullptr);
        mc != CURLM_OK)
      return fail(errc::transport_error,
                  fmt::format("curl_multi_poll: {}", curl_multi_strerror(mc)));
  }
  return {};
}

}  // namespace heatblast::load
