// heatblast::http::Server: an HTTP/1.1 server on the caller's Asio event loop, for the programs'
// REST APIs and for local-master's scheduler endpoint (ordinary and endless chunked responses).
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
// same alias and find_header() are declared in http_client.hpp.)
using Headers = std::vector<std::pair<std::string, std::string>>;

// The value of the first field named `name` (ASCII case-insensitive), or nullopt. The view points
// into `headers`.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

namespace detail {
class ServerConnection;
class ServerStream;
}  // namespace detail

struct ServerOptions {
  // An IP literal to listen on ("127.0.0.1", "0.0.0.0", "::"); host names are not resolved.
  std::string address = "127.0.0.1";
  // 0 picks a free ephemeral port; port() tells which.
  std::uint16_t port = 0;
  // A request body above this is answered 413 and the connection closed.
  std::size_t max_body_size = std::size_t{1} << 20;
  // Request line and header fields above this are answered 431 and the connection closed.
  std::size_t max_header_size = std::size_t{16} << 10;
  // Connections open at once, streams included. At the limit, a new connection takes the place
  // of the connection silent the longest, which is closed: a kept-alive one waiting for a next
  // request that has not begun, or a new one that has sent nothing for half a second. When
  // there is none, the new connection is answered 429 ("Retry-After: 1", "Connection: close";
  // not 503, which Mesos clients read as a lost subscription) and closed. Streams, requests
  // under way and answers being written are never dropped to make room. Keep it well below the
  // process's descriptor limit (each connection holds one). 0: no limit.
  std::size_t max_connections = 256;
  // Time for a request's line and header fields to arrive, counted from the accept (a new
  // connection) or from the first byte of the next request (a kept-alive one); then the
  // connection is closed without an answer. Short, against clients that hold connections open
  // with a request that never completes ("slowloris"). 0: none.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // Time a kept-alive connection may wait for the next request to begin, a request's body to
  // arrive after its header, and an ordinary response to be written; then the connection is
  // closed. Open streams and requests waiting for their handler's answer are exempt. 0: none.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Bytes a stream may have queued but not yet handed to the kernel. A write that would pass it
  // ends the stream with errc::write_buffer_full (a reader that is too slow is dropped, never
  // buffered without bound).
  std::size_t max_stream_buffer = std::size_t{4} << 20;
  // Where the server reports what an operator should know: connections refused at
  // max_connections and failed accepts (out of descriptors), at most one line per 10 s for each.
  // Called on the executor. Empty: not reported.
  std::function<void(std::string_view line)> log;
};

// One request, valid only during the handler call: copy what an asynchronous answer needs.
struct ServerRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // as sent, e.g. "/api/v1/scheduler?x=1"
  std::string path;    // target up to '?'
  std::string query;   // after '?', undecoded; empty if none
  Headers headers;
  std::string body;  // chunked or Content-Length body, decoded
  std::string peer;  // "127.0.0.1:50312" or "[::1]:50312"

  // First field named `name`, ASCII case-insensitive.
  std::optional<std::string_view> header(std::string_view name) const {
    return find_header(headers, name);
  }
};

// The writing end of one streaming (chunked) response. Copies refer to the same stream, and
// only weakly to its connection: a writer may outlive the connection and the Server, and then
// does nothing. Use on the Server's executor.
class StreamWriter {
 public:
  StreamWriter() = default;  // refers to no stream: open() is false

  // Sends `bytes` as one HTTP chunk (an empty `bytes` sends nothing). Returns false, sending
  // nothing, when the stream has ended; and when the bytes would take the stream's unsent
  // bytes past ServerOptions::max_stream_buffer, in which case the stream ends with
  // errc::write_buffer_full and its connection is closed.
  bool write(std::string_view bytes);

  // Ends the body with the final empty chunk, then closes the connection once it is sent.
  void close();

  // Drops the connection at once, without the final chunk: the client sees a broken stream.
  // (For fault injection.) on_close gets errc::cancelled.
  void abort();

  // True until the stream ends: close() or abort() called, the peer gone, a write failed, the
  // buffer limit hit, or the Server stopped.
  bool open() const;

  // Bytes written but not yet handed to the kernel.
  std::size_t buffered() const;

  // Sets the handler called once, posted to the executor, when the stream has ended, unless it
  // ended through Server::stop() (or the Server's destruction), which calls nothing: success
  // after close() and the final chunk went out; errc::transport_error when the peer closed or
  // reset the connection or a write failed; errc::write_buffer_full; errc::cancelled after
  // abort(). Set after the end, it is still called (posted). Replaces an earlier handler.
  void on_close(std::function<void(Result<void> end)> handler);

 private:
  friend class detail::ServerConnection;
  explicit StreamWriter(std::shared_ptr<detail::ServerStream> stream)
      : stream_(std::move(stream)) {}
  std::shared_ptr<detail::ServerStream> stream_;
};

// The answer to one request: respond() once or start_stream() once. Move-only; refers weakly to
// its connection (using it after the connection is gone does nothing). Responses on one
// connection go out in request order: the next request is read only after this one is answered.
// Destroying a Responder that has not answered sends 500. Use on the Server's executor.
class Responder {
 public:
  Responder() = default;
  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // Sends a whole response: `headers` as given, plus Content-Length (no body for HEAD requests
  // or statuses 204 and 304). The connection is kept alive when the request allowed it.
  // Returns false if this Responder has answered already or its connection is gone. A status
  // outside 200..599, or an invalid header field, sends 500 instead and returns false.
  bool respond(int status, Headers headers = {}, std::string body = {});

  // Sends the status and `headers` with "Transfer-Encoding: chunked" (any Content-Length given
  // is dropped; no Connection field is added, as a Mesos master adds none), and returns the
  // writer for the body. The connection carries nothing else afterwards: what the client sends
  // during the stream is read and dropped, and the server closes the connection once the final
  // chunk is out. To an HTTP/1.0 client the body is sent unframed and ends at the close. Returns a
  // closed writer if this Responder has answered already or its connection is gone; a status
  // outside 200..599, or an invalid header field, sends 500 instead and returns a closed writer.
  StreamWriter start_stream(int status, Headers headers = {});

  // True while an answer is still due and the connection is open.
  bool pending() const;

 private:
  friend class detail::ServerConnection;
  Responder(std::weak_ptr<detail::ServerConnection> connection, std::uint64_t sequence)
      : connection_(std::move(connection)), sequence_(sequence) {}
  std::weak_ptr<detail::ServerConnection> connection_;
  std::uint64_t sequence_ = 0;
};

// Called on the executor for each complete request. It may answer at once or keep the
// Responder and answer later. An exception thrown out of it is caught, and an unanswered
// request gets 500. Malformed requests never reach it (400 and close), nor too large ones (413,
// 431), nor those whose framing could be read two ways (RFC 9112 sections 5.2 and 6; each
// answered 400 and the connection closed, so no byte after them is read as a request): a
// Transfer-Encoding not ending in "chunked", or on an HTTP/1.0 request; Transfer-Encoding with
// Content-Length; Content-Length fields that differ (identical repeats are one value, as RFC
// 9110 section 8.6 allows); an obs-fold (a field line continued on the next line). A
// Transfer-Encoding naming any coding before "chunked" gets 501 (none is implemented).
using RequestHandler = std::function<void(const ServerRequest& request, Responder responder)>;

// Accepts connections and serves HTTP/1.1 on `executor`: no threads of its own; all handlers run
// on the executor. Not thread-safe: call every member on the executor.
class Server {
 public:
  // No I/O here: start() binds.
  Server(boost::asio::any_io_executor executor, ServerOptions options, RequestHandler handler);
  // stop().
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts accepting. Errors: errc::address_in_use when the port is taken,
  // errc::invalid_argument for an address that is not an IP literal or a second start(),
  // errc::io_error for anything else the OS refuses.
  Result<void> start();

  // Stops accepting and closes every connection at once, open streams included (their clients
  // see the stream break). No handler, on_close included, runs after stop() returns. Idempotent.
  // A stopped Server cannot start again.
  void stop();

  // The bound port after a successful start(), else 0.
  std::uint16_t port() const;

  // Connections taken since start() (not counting refused ones), those open now (streams
  // included), and those refused at ServerOptions::max_connections.
  std::uint64_t accepted_connections() const;
  std::size_t open_connections() const;
  std::uint64_t refused_connections() const;

  const boost::asio::any_io_executor& get_executor() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared with connections and pending handlers
};

}  // namespace heatblast::http
