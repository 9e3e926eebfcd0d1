#include "http_target.hpp"

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
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard_body);
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
  CurlSlist headers_;
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

}  // namespace heatblast::load
