#include "http_target.hpp"

#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace heatblast::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// A response body of more than this fails the query: a load target answers small, and a client
// that read without end would measure nothing useful. Nothing of the body is kept.
constexpr std::uint64_t kBodyLimit = std::uint64_t{64} << 20;

// Where an http(s):// URL points, and how its requests name it.
struct Origin {
  bool tls = false;
  std::string host;         // without the brackets of an IPv6 literal
  std::string port;         // "80" / "443" when the URL gives none
  std::string host_header;  // the authority as the URL writes it, without user info
  std::string user_info;    // percent-decoded "user:password", empty when none
};

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto byte = [&](std::size_t k) -> std::uint32_t {
      return k < in.size() ? static_cast<unsigned char>(in[k]) : 0;
    };
    const std::uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < in.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

Result<Origin> parse_origin(std::string_view url) {
  Origin o;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    o.tls = true;
    rest = url.substr(8);
  } else {
    return fail(errc::invalid_argument, fmt::format("'{}' is not an http(s):// URL", url));
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  // The last '@' ends the user info (a password may hold an unescaped '@').
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    o.user_info = percent_decode(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  o.host_header = std::string(authority);
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos)
      return fail(errc::invalid_argument, fmt::format("'{}': no ']' after the IPv6 address", url));
    if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return fail(errc::invalid_argument, fmt::format("'{}' has no host", url));
  o.host = std::string(host);
  o.port = port.empty() ? (o.tls ? "443" : "80") : std::string(port);
  return o;
}

// Reads a response's status line and framing and drops the rest: no header is stored and no body
// kept, so a response costs no allocation. Its basic_parser does the HTTP/1.1 framing
// (Content-Length, chunked, keep-alive) exactly as Beast's response_parser does.
class StatusParser final : public beast::http::basic_parser<false> {
 public:
  int status() const noexcept { return status_; }

 private:
  void on_request_impl(beast::http::verb, beast::string_view, beast::string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, beast::string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(beast::http::field, beast::string_view, beast::string_view,
                     error_code&) override {}
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
};

using TlsStream = beast::ssl_stream<tcp::socket>;

// The connections of one run and the loop that drives them; Stream is a tcp::socket or a
// TlsStream, so both schemes share every line but the connect.
template <class Stream>
class Engine final : public HttpRun {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  struct Connection {
    std::optional<Stream> stream;  // re-made for each connect: a TLS stream is not reusable
    bool open = false;
    bool busy = false;     // a query is in flight on it
    bool reused = false;   // it has answered a query: a close now may be the server's idle close
    bool retried = false;  // this query was already sent again on a new connection
    bool timed_out = false;
    beast::flat_buffer buffer;
    std::optional<StatusParser> parser;
    Clock::time_point started;
  };

 public:
  Engine(const HttpRunOptions& options, Origin origin, std::string request, HttpQueryDone done)
      : origin_(std::move(origin)),
        request_(std::move(request)),
        head_(options.query.method == "HEAD"),
        timeout_(options.timeout),
        rate_(options.rate),
        start_(options.start),
        queries_(options.queries),
        allowed_(options.allowed),
        done_(std::move(done)),
        connections_(std::max<std::uint64_t>(options.connections, 1)) {
    idle_.reserve(connections_.size());  // once: the loop allocates nothing per query
    for (auto& c : connections_)
      idle_.push_back(&c);
    // A timed-out query is found within 1/32 of the timeout (at most 50 ms late).
    sweep_every_ =
        std::clamp(timeout_ / 32, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
  }

  Result<void> setup() {
    error_code ec;
    tcp::resolver resolver(io_);
    endpoints_ = resolver.resolve(origin_.host, origin_.port, ec);
    if (ec)
      return fail(errc::transport_error,
                  fmt::format("cannot resolve {}: {}", origin_.host, ec.message()));
    if constexpr (kTls) {
      // As libcurl did: the system's CA store (SSL_CERT_FILE / SSL_CERT_DIR override it), the
      // peer's certificate and its name checked.
      tls_.emplace(asio::ssl::context::tls_client);
      tls_->set_default_verify_paths(ec);
      if (ec) return fail(errc::transport_error, fmt::format("TLS CA store: {}", ec.message()));
      tls_->set_verify_mode(asio::ssl::verify_peer);
    }
    return {};
  }

  Result<void> run() override {
    // Held while queries remain, so that waiting for a grant does not end run().
    auto guard = asio::make_work_guard(io_);
    guard_ = &guard;
    asio::post(io_, [this] { start_due(); });
    io_.run();
    guard_ = nullptr;
    return {};
  }

  // One query on the calling thread (the blocking Target): its error, if any.
  Result<void> run_one() {
    ++queries_;
    ++allowed_;
    one_error_.clear();
    one_failed_ = false;
    io_.restart();
    start_due();
    io_.run();
    if (one_failed_) return fail(errc::transport_error, one_error_);
    return {};
  }
  void keep_error(std::string_view error) {
    one_failed_ = !error.empty();
    one_error_ = error;
  }

  void allow(std::uint64_t allowed) override {
    asio::post(io_, [this, allowed] {
      if (allowed <= allowed_) return;
      allowed_ = allowed;
      start_due();
    });
  }

  void stop() override {
    asio::post(io_, [this] {
      queries_ = std::min(queries_, next_);
      if (in_flight_ == 0) finish();
    });
  }

  std::uint64_t started() const override { return started_.load(std::memory_order_relaxed); }

 private:
  // Starts every due and allowed query an idle connection can take.
  void start_due() {
    if (finished_) return;
    const std::uint64_t limit = std::min(queries_, allowed_);
    while (!idle_.empty() && next_ < limit) {
      const auto now = Clock::now();
      const auto due = query_due(start_, next_, rate_);
      if (due > now) {
        wait_until(due);
        break;
      }
      Connection& c = *idle_.back();
      idle_.pop_back();
      ++next_;
      started_.store(next_, std::memory_order_relaxed);
      begin(c, now);
    }
    if (next_ >= queries_ && in_flight_ == 0) finish();
  }

  void wait_until(Clock::time_point due) {
    if (pacing_) return;
    pacing_ = true;
    pacer_.expires_at(due);
    pacer_.async_wait([this](error_code) {
      pacing_ = false;
      if (!finished_) start_due();
    });
  }

  void begin(Connection& c, Clock::time_point now) {
    c.started = now;
    c.busy = true;
    c.retried = false;
    c.timed_out = false;
    ++in_flight_;
    if (!sweeping_) sweep();
    if (c.open)
      send(c);
    else
      connect(c);
  }

  void connect(Connection& c) {
    if constexpr (kTls)
      c.stream.emplace(io_, *tls_);
    else
      c.stream.emplace(io_);
    c.buffer.clear();
    c.open = true;
    c.reused = false;
    asio::async_connect(beast::get_lowest_layer(*c.stream), endpoints_,
                        [this, &c](error_code ec, const tcp::endpoint&) {
                          if (ec) return failed(c, ec);
                          beast::get_lowest_layer(*c.stream).set_option(tcp::no_delay(true), ec);
                          if constexpr (kTls) {
                            handshake(c);
                          } else {
                            send(c);
                          }
                        });
  }

  void handshake(Connection& c) {
    if constexpr (kTls) {
      // SNI and the name the certificate must carry.
      SSL_set_tlsext_host_name(c.stream->native_handle(), origin_.host.c_str());
      c.stream->set_verify_callback(asio::ssl::host_name_verification(origin_.host));
      c.stream->async_handshake(asio::ssl::stream_base::client, [this, &c](error_code ec) {
        if (ec) return failed(c, ec);
        send(c);
      });
    }
  }

  void send(Connection& c) {
    c.parser.emplace();
    c.parser->body_limit(kBodyLimit);
    if (head_) c.parser->skip(true);  // a HEAD answer has the headers of a body but none
    asio::async_write(*c.stream, asio::buffer(request_), [this, &c](error_code ec, std::size_t) {
      if (ec) return stale(c, ec) ? connect(c) : failed(c, ec);
      receive(c);
    });
  }

  void receive(Connection& c) {
    beast::http::async_read(*c.stream, c.buffer, *c.parser, [this, &c](error_code ec, std::size_t) {
      if (ec) return stale(c, ec) ? connect(c) : failed(c, ec);
      const int status = c.parser->status();
      c.reused = true;
      if (!c.parser->keep_alive()) close(c);  // Connection: close
      if (status >= 400) {
        const auto end = fmt::format_to_n(status_text_, sizeof status_text_, "HTTP {}", status);
        return complete(c, std::string_view(status_text_, end.out - status_text_));
      }
      complete(c, {});
    });
  }

  // A kept-alive connection the server closed while it was idle: the request never reached it,
  // so it is sent once more on a new connection, as browsers and libcurl do.
  bool stale(Connection& c, error_code ec) {
    const bool closed = ec == asio::error::eof || ec == beast::http::error::end_of_stream ||
                        ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    if (!closed || !c.reused || c.retried || c.timed_out) return false;
    if (c.parser && c.parser->got_some()) return false;
    c.retried = true;
    close(c);
    return true;
  }

  void failed(Connection& c, error_code ec) {
    close(c);
    if (c.timed_out)
      error_text_ = fmt::format("timed out after {} ms", timeout_.count());
    else
      error_text_ = ec.message();
    complete(c, error_text_);
  }

  void close(Connection& c) {
    if (!c.open) return;
    c.open = false;
    error_code ignored;
    beast::get_lowest_layer(*c.stream).close(ignored);
  }

  void complete(Connection& c, std::string_view error) {
    const auto now = Clock::now();
    --in_flight_;
    c.busy = false;
    idle_.push_back(&c);
    done_(std::chrono::duration_cast<std::chrono::microseconds>(now - c.started), error);
    start_due();
  }

  // Closes the connection of every query older than the timeout; its pending operation then
  // ends with an error, and the query fails.
  void sweep() {
    sweeping_ = true;
    sweeper_.expires_after(sweep_every_);
    sweeper_.async_wait([this](error_code) {
      sweeping_ = false;
      if (finished_) return;
      const auto now = Clock::now();
      for (auto& c : connections_) {
        if (c.busy && c.open && now - c.started >= timeout_) {
          c.timed_out = true;
          close(c);
        }
      }
      if (in_flight_ > 0) sweep();
    });
  }

  void finish() {
    if (guard_ == nullptr) {
      // run_one(): the io_context runs out of work by itself once the timers are gone.
      pacer_.cancel();
      sweeper_.cancel();
      return;
    }
    finished_ = true;
    pacer_.cancel();
    sweeper_.cancel();
    guard_->reset();
  }

  asio::io_context io_{1};
  Origin origin_;
  std::string request_;
  bool head_;
  std::chrono::milliseconds timeout_;
  double rate_;
  Clock::time_point start_;
  std::uint64_t queries_;
  std::uint64_t allowed_;
  HttpQueryDone done_;
  std::optional<asio::ssl::context> tls_;
  tcp::resolver::results_type endpoints_;
  std::vector<Connection> connections_;
  std::vector<Connection*> idle_;
  std::uint64_t next_ = 0;
  std::atomic<std::uint64_t> started_{0};
  std::size_t in_flight_ = 0;
  asio::steady_timer pacer_{io_};
  asio::steady_timer sweeper_{io_};
  std::chrono::milliseconds sweep_every_;
  bool pacing_ = false;
  bool sweeping_ = false;
  bool finished_ = false;
  asio::executor_work_guard<asio::io_context::executor_type>* guard_ = nullptr;
  char status_text_[32] = {};
  std::string error_text_;
  std::string one_error_;
  bool one_failed_ = false;
};

template <class Stream>
Result<std::unique_ptr<Engine<Stream>>> make_engine(const HttpRunOptions& options, Origin origin,
                                                    std::string request, HttpQueryDone done) {
  auto engine = std::make_unique<Engine<Stream>>(options, std::move(origin), std::move(request),
                                                 std::move(done));
  if (auto ok = engine->setup(); !ok) return tl::unexpected(ok.error());
  return engine;
}

// The blocking Target: one connection, one query per call.
template <class Stream>
class HttpTarget final : public Target {
 public:
  Result<void> setup(const HttpRunOptions& options, Origin origin, std::string request) {
    auto engine = make_engine<Stream>(
        options, std::move(origin), std::move(request),
        [this](std::chrono::microseconds, std::string_view error) { engine_->keep_error(error); });
    if (!engine) return tl::unexpected(engine.error());
    engine_ = std::move(*engine);
    return {};
  }
  Result<void> query() override { return engine_->run_one(); }

 private:
  std::unique_ptr<Engine<Stream>> engine_;
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
  for (const char c : q.path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return fail(errc::invalid_argument,
                  fmt::format("query '{}': the path holds a control character", text));
  return q;
}

Result<std::string> serialize_http_request(const std::string& base_url, const HttpQuery& query) {
  auto origin = parse_origin(base_url);
  if (!origin) return tl::unexpected(origin.error());
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: load-worker\r\n",
                                    query.method, query.path, origin->host_header);
  if (!origin->user_info.empty())
    request += fmt::format("Authorization: Basic {}\r\n", base64(origin->user_info));
  const bool sends_body = !query.body.empty() || query.method == "POST" || query.method == "PUT" ||
                          query.method == "PATCH";
  if (sends_body) request += fmt::format("Content-Length: {}\r\n", query.body.size());
  // Servers that parse bodies by type (most JSON APIs) reject a body without one; the flag has
  // no room for headers, so the body's first character decides.
  if (!query.body.empty()) {
    const auto first = query.body.find_first_not_of(" \t\r\n");
    const bool json =
        first != std::string::npos && (query.body[first] == '{' || query.body[first] == '[');
    request +=
        json ? "Content-Type: application/json\r\n" : "Content-Type: text/plain; charset=utf-8\r\n";
  }
  request += "\r\n";
  request += query.body;
  return request;
}

Result<std::unique_ptr<HttpRun>> HttpRun::make(const HttpRunOptions& options, HttpQueryDone done) {
  auto origin = parse_origin(options.base_url);
  if (!origin) return tl::unexpected(origin.error());
  auto request = serialize_http_request(options.base_url, options.query);
  if (!request) return tl::unexpected(request.error());
  if (origin->tls) {
    auto engine =
        make_engine<TlsStream>(options, std::move(*origin), std::move(*request), std::move(done));
    if (!engine) return tl::unexpected(engine.error());
    return std::unique_ptr<HttpRun>(std::move(*engine));
  }
  auto engine =
      make_engine<tcp::socket>(options, std::move(*origin), std::move(*request), std::move(done));
  if (!engine) return tl::unexpected(engine.error());
  return std::unique_ptr<HttpRun>(std::move(*engine));
}

Result<std::unique_ptr<Target>> make_http_target(const std::string& base_url,
                                                 const HttpQuery& query,
                                                 std::chrono::milliseconds timeout) {
  auto origin = parse_origin(base_url);
  if (!origin) return tl::unexpected(origin.error());
  auto request = serialize_http_request(base_url, query);
  if (!request) return tl::unexpected(request.error());
  HttpRunOptions options;
  options.base_url = base_url;
  options.query = query;
  options.timeout = timeout;
  options.start = Clock::now();
  if (origin->tls) {
    auto target = std::make_unique<HttpTarget<TlsStream>>();
    if (auto ok = target->setup(options, std::move(*origin), std::move(*request)); !ok)
      return tl::unexpected(ok.error());
    return std::unique_ptr<Target>(std::move(target));
  }
  auto target = std::make_unique<HttpTarget<tcp::socket>>();
  if (auto ok = target->setup(options, std::move(*origin), std::move(*request)); !ok)
    return tl::unexpected(ok.error());
  return std::unique_ptr<Target>(std::move(target));
}

Result<void> run_http_queries(const std::string& base_url, const HttpQuery& query,
                              std::chrono::milliseconds timeout, std::uint64_t connections,
                              std::uint64_t queries, double rate,
                              std::chrono::steady_clock::time_point start,
                              const HttpQueryDone& done) {
  HttpRunOptions options;
  options.base_url = base_url;
  options.query = query;
  options.timeout = timeout;
  options.connections = connections;
  options.queries = queries;
  options.rate = rate;
  options.start = start;
  options.allowed = queries;
  auto run = HttpRun::make(options, done);
  if (!run) return tl::unexpected(run.error());
  return (*run)->run();
}

}  // namespace heatblast::load
