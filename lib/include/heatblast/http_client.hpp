// heatblast::http::Client: outbound HTTP/1.1 (plain or TLS) driven from the caller's Asio event
// loop, for ordinary request/response exchanges and for endless streaming response bodies.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "heatblast/error.hpp"

namespace heatblast::http {

// Header fields in the order they are sent or were received; names keep their spelling. (The
// same alias and find_header() are declared in http_server.hpp.)
using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first field named `name` (ASCII case-insensitive), or nullopt. The view points
// into `headers`.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method = "POST";
  // http:// or https:// only. Any other scheme fails the request with errc::invalid_argument.
  std::string url;
  // Sent exactly as given, in this order, after Host (and Content-Length when there is a body).
  // The client adds nothing else: no Accept, Content-Type, Expect or Accept-Encoding of its own,
  // and User-Agent only from ClientOptions::user_agent when the caller sent none. A name or value
  // holding CR or LF, or a name that is empty or holds ':', fails the request with
  // errc::invalid_argument. An empty value is sent as "Name:" with nothing after it.
  Headers headers;
  // Sent with Content-Length (never chunked) when non-empty, or when the method is POST/PUT/PATCH.
  std::string body;
  // Time allowed to connect (TCP and TLS); 0 means curl's default (300 s).
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // Whole exchange, connect included; 0 means none. async_stream() rejects a non-zero value: a
  // stream has no end, its caller runs a watchdog and calls cancel().
  std::chrono::milliseconds timeout{0};
  // Fail with errc::timeout if less than one byte a second arrives for this long; 0 means off.
  std::chrono::seconds low_speed_time{0};
};

// A response head and, for async_send(), its whole body. Any status (1xx excepted) is a Response:
// 307, 404 or 503 are results for the caller to interpret, not errors. Redirects are never
// followed; the Location header is in `headers`.
struct Response {
  int status = 0;
  Headers headers;
  std::string body;  // empty in StreamHandlers::on_head

  // First field named `name`, ASCII case-insensitive.
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

struct ClientOptions {
  // CA bundle (PEM) used to verify TLS peers; empty means the system default bundle.
  std::string ca_file;
  // Verify the peer's certificate chain and host name. Off only for tests and trusted networks.
  bool verify_peer = true;
  // async_send() bodies above this fail with errc::body_too_large (streams are not capped).
  std::size_t max_body_size = std::size_t{16} << 20;
  // Sent as User-Agent when non-empty and the request carries none of its own.
  std::string user_agent;
  // SO_KEEPALIVE on every connection, so a peer that vanished is noticed on idle connections.
  bool tcp_keepalive = true;
  std::chrono::seconds keepalive_idle{60};
  std::chrono::seconds keepalive_interval{20};
  // Proxy URL for every request; empty means no proxy. The environment (http_proxy and friends)
  // is never read.
  std::string proxy;
};

// Per-request identifier; never reused by one Client. 0 is never a valid id.
using RequestId = std::uint64_t;

// Callbacks of one streaming exchange, all run on the Client's executor, in this order:
// on_head at most once, on_data zero or more times, on_end exactly once — unless the request
// is cancelled (cancel(), cancel_all() or destroying the Client), after which none runs.
struct StreamHandlers {
  // The status and header fields (body empty), as soon as the head has arrived.
  std::function<void(const Response& head)> on_head;
  // Each piece of the body as it arrives, chunked transfer coding already removed. Pieces have no
  // relation to the sender's chunks or records; the view is valid only during the call.
  std::function<void(std::string_view bytes)> on_data;
  // The end: success when the body ended cleanly (the final chunk, or all of Content-Length);
  // an error when it did not (errc::transport_error if the connection broke, or any of the
  // errors of async_send(), in which case on_head may not have run).
  std::function<void(Result<void> end)> on_end;
};

// Drives libcurl's multi-socket interface from `executor`: no threads of its own, every callback
// runs on `executor` and never from inside an initiating call. Not thread-safe: call every
// member on the executor (or from a handler posted to it). Connections are kept alive and reused
// by later requests to the same host and port; a streaming exchange holds its connection alone
// until it ends, so a stream and ordinary calls run on separate connections.
//
// Exceptions thrown by a callback propagate out of the io_context's run() (as with any Asio
// handler); the Client stays consistent and the rest of its work carries on at the next run().
class Client {
 public:
  // No I/O here: connections are opened by the first request that needs them.
  explicit Client(boost::asio::any_io_executor executor, ClientOptions options = {});
  // cancel_all(): no callback runs after the destructor starts.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request` and calls `done` once on the executor with the status, headers and whole
  // body, or with an error: errc::invalid_argument (bad URL, scheme or header), connection_refused,
  // resolve_failed, timeout, tls_error, transport_error, protocol_error, body_too_large. After
  // cancel() for the returned id, `done` never runs.
  RequestId async_send(Request request, std::function<void(Result<Response>)> done);

  // Sends `request` and delivers the response as it arrives (see StreamHandlers). There is no
  // body limit: the caller consumes the pieces as they come. A non-zero request.timeout is
  // rejected with on_end(errc::invalid_argument).
  RequestId async_stream(Request request, StreamHandlers handlers);

  // Stops request `id` if it is still running: its connection is closed (a half-read response
  // cannot be reused) and none of its callbacks runs afterwards, even one already due. An unknown
  // or finished id is ignored.
  void cancel(RequestId id);

  // cancel() for every request of this Client. Connections kept for reuse stay open.
  void cancel_all();

  // Requests whose final callback has not run yet (and that were not cancelled).
  std::size_t in_flight() const;

  const boost::asio::any_io_executor& get_executor() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared with pending handlers, which hold it weakly
};

}  // namespace heatblast::http
