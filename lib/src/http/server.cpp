#include "heatblast/http_server.hpp"

#include <array>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/header_text.hpp"

namespace heatblast::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// After the last response on a connection: how long, and how many bytes, to keep reading (and
// discarding) what the client still sends, so that closing does not reset the connection
// before the client has read our response.
constexpr std::chrono::seconds kLingerTime{5};
constexpr std::size_t kLingerBytes = std::size_t{1} << 20;

std::string_view view(beast::string_view s) {
  return {s.data(), s.size()};
}

std::string endpoint_text(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// Beast's serializer, into one string (the connection writes strings).
template <class Printable>
std::string serialize(const Printable& message) {
  std::ostringstream out;
  out << message;
  return std::move(out).str();
}

template <class Buffers>
void append_buffers(std::string& out, const Buffers& buffers) {
  for (auto b : beast::buffers_range_ref(buffers))
    out.append(static_cast<const char*>(b.data()), b.size());
}

bool valid_headers(const Headers& headers) {
  for (const auto& [name, value] : headers)
    if (!valid_field_name(name) || !valid_field_value(value)) return false;
  return true;
}

// A handler ends its connection by answering with a "close" token in Connection.
bool asks_close(const bhttp::response<bhttp::string_body>& res) {
  for (auto token : bhttp::token_list(res[bhttp::field::connection]))
    if (beast::iequals(token, "close")) return true;
  return false;
}

// Reads per read call while a request header is arriving.
constexpr std::size_t kHeaderReadSize = 4096;

// A connection refused at max_connections gets this, then its bytes are drained for at most
// this long (so that the close does not reset the connection before the answer is read), by at
// most this many refusals at once (beyond them a refused connection is closed at once).
// 429, not 503: to a Mesos scheduler client a 503 on a call means "this master lost your
// subscription" and makes it drop its stream and subscribe again.
constexpr std::string_view kRefusal =
    "HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\n"
    "Content-Type: text/plain\r\nContent-Length: 34\r\n\r\ntoo many connections; retry later\n";
constexpr std::chrono::seconds kRefusalLinger{1};
// A new connection silent this long may be closed to make room at max_connections.
constexpr std::chrono::milliseconds kSilentNewConnection{500};
constexpr std::size_t kMaxRefusing = 32;

// The same operational event is logged at most this often.
constexpr std::chrono::seconds kLogEvery{10};

// True when the header bytes in `bytes` hold an obs-fold (RFC 9112 section 5.2): a field line
// that begins with SP or HTAB, continuing the previous one. Beast joins such lines; we refuse
// them, as a field hidden in a continuation is read differently by different parsers.
// `at_field_start`: the request line has been consumed already.
bool has_obs_fold(std::string_view bytes, bool at_field_start) {
  std::size_t i = 0;
  if (!at_field_start) {
    const auto eol = bytes.find("\r\n");
    if (eol == std::string_view::npos) return false;
    i = eol + 2;
  }
  while (i < bytes.size()) {
    if (bytes[i] == ' ' || bytes[i] == '\t') return true;
    const auto eol = bytes.find("\r\n", i);
    if (eol == std::string_view::npos || eol == i) return false;  // incomplete, or the end
    i = eol + 2;
  }
  return false;
}

struct FramingError {
  int status;
  std::string reason;
};

// RFC 9112 section 6 on a parsed request header. Beast takes a Transfer-Encoding that does
// not end in "chunked" as "no body", so that the body would be read as the next request
// (request smuggling); and it accepts Content-Length after such a Transfer-Encoding.
std::optional<FramingError> check_framing(const bhttp::request_header<>& req) {
  std::vector<std::string_view> codings;
  bool have_te = false;
  for (auto [it, end] = req.equal_range(bhttp::field::transfer_encoding); it != end; ++it) {
    have_te = true;
    std::string_view list = view(it->value());
    while (!list.empty()) {
      const auto comma = list.find(',');
      const auto one = trim_ows(list.substr(0, comma));
      if (!one.empty()) codings.push_back(one);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
  }
  if (!have_te) return std::nullopt;
  if (req.version() < 11)
    return FramingError{400, "malformed request: Transfer-Encoding in an HTTP/1.0 request"};
  if (req.count(bhttp::field::content_length) > 0)
    return FramingError{400, "malformed request: both Transfer-Encoding and Content-Length"};
  if (codings.empty() || !iequals(codings.back(), "chunked"))
    return FramingError{400, fmt::format("malformed request: Transfer-Encoding '{}' does not end "
                                         "in 'chunked'",
                                         fmt::join(codings, ", "))};
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (iequals(codings[i], "chunked"))
      return FramingError{400, "malformed request: 'chunked' applied more than once"};
  }
  if (codings.size() > 1)
    return FramingError{501, fmt::format("transfer coding '{}' is not implemented", codings[0])};
  return std::nullopt;
}

}  // namespace

namespace detail {

class Refusal;

// What connections share with the Server; it outlives the Server while handlers drain.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(net::any_io_executor ex, ServerOptions opts, RequestHandler h)
      : executor(std::move(ex)),
        options(std::move(opts)),
        handler(std::make_shared<const RequestHandler>(std::move(h))),
        acceptor(executor),
        retry_timer(executor) {}

  Result<void> start();
  void stop();
  void do_accept();
  void evict_idle();
  void refuse(tcp::socket socket);
  void log(std::string_view line);

  net::any_io_executor executor;
  ServerOptions options;
  // Shared so that a handler call keeps its function alive even if it stops the Server.
  std::shared_ptr<const RequestHandler> handler;
  tcp::acceptor acceptor;
  net::steady_timer retry_timer;
  bool started = false;
  bool stopped = false;
  std::uint16_t port = 0;
  std::uint64_t accepted = 0;
  // Open connections. Strong: a connection waiting for its handler's answer has no I/O pending
  // to keep it alive. A connection removes itself when it closes.
  std::unordered_map<ServerConnection*, std::shared_ptr<ServerConnection>> connections;
  // Connections refused at the limit that are still draining (see kRefusalLinger).
  std::unordered_map<Refusal*, std::shared_ptr<Refusal>> refusals;
  std::uint64_t refused = 0;
  std::string where;  // the bound address, for log lines
  // Rate limits of the log: refusals and accept failures since the last line of their kind.
  std::optional<std::chrono::steady_clock::time_point> refusal_logged_at, accept_error_logged_at;
  std::uint64_t refused_unlogged = 0;
  std::uint64_t accept_errors_unlogged = 0;
};

// A connection refused at max_connections: 429, then drained briefly and closed.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(std::shared_ptr<ServerCore> core, tcp::socket socket)
      : core_(std::move(core)), socket_(std::move(socket)), timer_(core_->executor) {}

  void start() {
    timer_.expires_after(kRefusalLinger);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    net::async_write(socket_, net::buffer(kRefusal.data(), kRefusal.size()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec || self->closed_) return self->close();
                       boost::system::error_code ignored;
                       self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                       self->drain();
                     });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    core_->refusals.erase(this);  // last: may drop the last reference
  }

 private:
  void drain() {
    socket_.async_read_some(net::buffer(buffer_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->closed_ || self->drained_ > kLingerBytes)
                                return self->close();
                              self->drain();
                            });
  }

  std::shared_ptr<ServerCore> core_;
  tcp::socket socket_;
  net::steady_timer timer_;
  std::array<char, 1024> buffer_{};
  std::size_t drained_ = 0;
  bool closed_ = false;
};

// One streaming response, shared by its writers and its connection.
class ServerStream : public std::enable_shared_from_this<ServerStream> {
 public:
  ServerStream(std::weak_ptr<ServerConnection> conn, std::weak_ptr<ServerCore> core,
               net::any_io_executor ex)
      : connection(std::move(conn)), core_(std::move(core)), executor_(std::move(ex)) {}

  // The stream has ended for `why`. Silent: by Server::stop(), which calls nothing.
  void finish(Result<void> why, bool silent) {
    if (end) return;
    end = std::move(why);
    silent_ = silent;
    schedule();
  }

  void set_on_close(std::function<void(Result<void>)> handler) {
    on_close_ = std::move(handler);
    schedule();
  }

  std::weak_ptr<ServerConnection> connection;
  std::optional<Result<void>> end;

 private:
  void schedule() {
    if (!end || silent_ || !on_close_ || posted_) return;
    posted_ = true;
    net::post(executor_, [self = shared_from_this()] {
      self->posted_ = false;
      auto core = self->core_.lock();
      if (!core || core->stopped || !self->on_close_) return;
      auto handler = std::move(self->on_close_);
      self->on_close_ = nullptr;
      handler(*self->end);
    });
  }

  std::weak_ptr<ServerCore> core_;
  net::any_io_executor executor_;
  std::function<void(Result<void>)> on_close_;
  bool silent_ = false;
  bool posted_ = false;
};

// One accepted connection: reads requests one at a time, hands each to the handler, writes
// the answer, and reads the next (keep-alive) or ends. All output goes through one queue.
class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  enum class State {
    reading,    // waiting for (the rest of) a request
    handling,   // the handler owes an answer
    writing,    // an ordinary response is going out
    streaming,  // a chunked response is open
    closing,    // the final chunk is going out
    lingering,  // our side is done; draining what the peer still sends, then close
    closed,
  };

  static std::string_view to_string(State state) {
    switch (state) {
      case State::reading:
        return "reading";
      case State::handling:
        return "handling";
      case State::writing:
        return "writing";
      case State::streaming:
        return "streaming";
      case State::closing:
        return "closing";
      case State::lingering:
        return "lingering";
      case State::closed:
        return "closed";
    }
    return "?";
  }

  ServerConnection(std::shared_ptr<ServerCore> core, tcp::socket socket)
      : core_(std::move(core)), socket_(std::move(socket)), deadline_(core_->executor) {}

  void start() {
    boost::system::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);  // stream chunks must not wait for Nagle
    auto ep = socket_.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown") : endpoint_text(ep);
    do_read();
  }

  // Server::stop(): close at once; nothing reaches the user any more.
  void shutdown_now() {
    if (stream_) stream_->finish(fail(errc::cancelled, "server stopped"), true);
    close_now();
  }

  // Kept alive and waiting for a next request that has not begun: closing it loses nothing
  // (a client must expect an idle connection to close), so it makes room at the limit.
  // So is a new connection that has sent nothing for a while: a client that means to send a
  // request sends it at once.
  bool idle(std::chrono::steady_clock::time_point now) const {
    return state_ == State::reading && silent_ &&
           (sequence_ > 0 || now - idle_since_ >= kSilentNewConnection);
  }
  std::chrono::steady_clock::time_point idle_since() const { return idle_since_; }
  void evict() { close_now(); }

  bool pending(std::uint64_t sequence) const {
    return state_ == State::handling && sequence == sequence_;
  }

  bool respond(std::uint64_t sequence, int status, Headers headers, std::string body) {
    if (!pending(sequence)) return false;
    try {
      bool ok = status >= 200 && status <= 599 && valid_headers(headers);
      if (!ok) {
        status = 500;
        headers.clear();
        body = "the request handler produced an invalid response";
      }
      bhttp::response<bhttp::string_body> res;
      res.version(version_ >= 11 ? 11 : 10);
      res.result(static_cast<unsigned>(status));
      for (const auto& [name, value] : headers)
        res.insert(name, value);
      // keep_alive(true) below would strip a handler's "Connection: close"; honour it instead.
      keep_alive_ = keep_alive_ && !core_->stopped && !asks_close(res);
      res.keep_alive(keep_alive_);
      std::string text;
      if (status == 204 || status == 304) {
        res.erase(bhttp::field::content_length);
        res.erase(bhttp::field::transfer_encoding);
        text = serialize(res.base());
      } else if (head_) {
        res.erase(bhttp::field::transfer_encoding);
        res.content_length(body.size());
        text = serialize(res.base());
      } else {
        res.body() = std::move(body);
        res.prepare_payload();
        text = serialize(res);
      }
      transition_to(State::writing);
      arm_deadline(core_->options.idle_timeout);
      send(std::move(text));
      return ok;
    } catch (...) {
      close_now();
      return false;
    }
  }

  StreamWriter start_stream(std::uint64_t sequence, int status, Headers headers) {
    if (!pending(sequence)) return {};
    if (status < 200 || status > 599 || !valid_headers(headers)) {
      respond(sequence, 500, {}, {});
      return {};
    }
    try {
      bhttp::response<bhttp::empty_body> res;
      res.version(version_ >= 11 ? 11 : 10);
      res.result(static_cast<unsigned>(status));
      for (const auto& [name, value] : headers)
        res.insert(name, value);
      res.erase(bhttp::field::content_length);
      chunked_ = version_ >= 11;  // HTTP/1.0 has no chunks: the body then ends at close
      if (chunked_) res.chunked(true);
      // No "Connection: close", as from a Mesos master: some clients treat a stream marked so
      // differently. The connection still ends with the stream (see start_stream()).
      stream_ = std::make_shared<ServerStream>(weak_from_this(), core_, core_->executor);
      transition_to(State::streaming);
      disarm_deadline();
      send(serialize(res.base()));
      if (!discarding_) start_discard_read();  // notices the peer leaving
      return StreamWriter(stream_);
    } catch (...) {
      close_now();
      return {};
    }
  }

  bool stream_write(std::string_view bytes) {
    if (state_ != State::streaming) return false;
    if (bytes.empty()) return true;
    const std::size_t unsent = queued_.size() + writing_.size();
    const std::size_t framing = chunked_ ? 32 : 0;
    const std::size_t limit = core_->options.max_stream_buffer;
    if (bytes.size() + framing > limit || unsent > limit - bytes.size() - framing) {
      terminate(fail(errc::write_buffer_full,
                     fmt::format("stream to {} dropped: {} bytes unsent, the limit is {}", peer_,
                                 unsent + bytes.size(), limit)));
      return false;
    }
    try {
      if (chunked_) {
        append_buffers(queued_, bhttp::make_chunk(net::const_buffer(bytes.data(), bytes.size())));
      } else {
        queued_.append(bytes);
      }
    } catch (...) {
      terminate(fail(errc::io_error, fmt::format("stream to {}: out of memory", peer_)));
      return false;
    }
    do_write();
    return true;
  }

  void stream_close() {
    if (state_ != State::streaming) return;
    if (chunked_) append_buffers(queued_, bhttp::make_chunk_last());
    transition_to(State::closing);
    do_write();
  }

  void stream_abort() {
    if (state_ != State::streaming && state_ != State::closing) return;
    terminate(fail(errc::cancelled, "stream aborted by the server"));
  }

  std::size_t buffered() const { return queued_.size() + writing_.size(); }

 private:
  // Starts on the next request: a new connection must send it within header_timeout; a
  // kept-alive one may first wait idle_timeout for its first byte.
  void do_read() {
    transition_to(State::reading);
    parser_.emplace();
    parser_->body_limit(core_->options.max_body_size);
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        core_->options.max_header_size, std::numeric_limits<std::uint32_t>::max())));
    header_consumed_ = 0;
    silent_ = buffer_.size() == 0;
    header_timer_ = sequence_ == 0 || !silent_;
    idle_since_ = std::chrono::steady_clock::now();
    arm_deadline(header_timer_ ? core_->options.header_timeout : core_->options.idle_timeout);
    if (buffer_.size() > 0) return parse_header();  // pipelined: already here
    read_header_bytes();
  }

  // The header is read by hand into Beast's parser (not async_read_header) so that its bytes
  // can be checked for obs-fold before the parser joins the lines, and so that the header
  // timeout can start at the request's first byte.
  void read_header_bytes() {
    socket_.async_read_some(buffer_.prepare(kHeaderReadSize),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (self->state_ != State::reading) return;
                              self->buffer_.commit(n);
                              if (ec) return self->on_read_error(ec);
                              self->silent_ = false;
                              if (!self->header_timer_) {
                                self->header_timer_ = true;
                                self->arm_deadline(self->core_->options.header_timeout);
                              }
                              self->parse_header();
                            });
  }

  void parse_header() {
    const auto data = buffer_.data();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    if (has_obs_fold(bytes, header_consumed_ > 0))
      return fail_request(400,
                          "malformed request: a header field continued on the next line "
                          "(obs-fold)");
    beast::error_code ec;
    const std::size_t used = parser_->put(data, ec);
    buffer_.consume(used);
    header_consumed_ += used;
    if (ec == bhttp::error::need_more) return read_header_bytes();
    if (ec) return on_read_error(ec);
    if (parser_->is_header_done()) return on_header();
    if (used > 0) return parse_header();
    read_header_bytes();
  }

  void on_header() {
    const auto& req = parser_->get();
    if (auto bad = check_framing(req)) return fail_request(bad->status, std::move(bad->reason));
    arm_deadline(core_->options.idle_timeout);  // for the body
    if (req.version() >= 11 && iequals(view(req[bhttp::field::expect]), "100-continue"))
      send("HTTP/1.1 100 Continue\r\n\r\n");
    if (parser_->is_done()) return on_request();
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (self->state_ != State::reading) return;
                        if (ec) return self->on_read_error(ec);
                        self->on_request();
                      });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return fail_request(
          413, fmt::format("request body larger than {} bytes", core_->options.max_body_size));
    if (ec == bhttp::error::header_limit)
      return fail_request(
          431, fmt::format("request header larger than {} bytes", core_->options.max_header_size));
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
      return fail_request(400, fmt::format("malformed request: {}", ec.message()));
    close_now();  // peer gone, idle, or reset: nobody to answer
  }

  void on_request() {
    disarm_deadline();
    auto& req = parser_->get();
    ServerRequest request;
    request.method = std::string(view(req.method_string()));
    request.target = std::string(view(req.target()));
    const auto q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : req)
      request.headers.emplace_back(std::string(view(field.name_string())),
                                   std::string(view(field.value())));
    request.body = std::move(req.body());
    request.peer = peer_;
    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;
    version_ = req.version();
    parser_.reset();

    transition_to(State::handling);
    ++sequence_;
    auto handler = core_->handler;
    try {
      (*handler)(request, Responder(weak_from_this(), sequence_));
    } catch (...) {
      // The Responder died in the unwinding and answered 500 if the handler had not.
    }
  }

  void fail_request(int status, std::string text) {
    disarm_deadline();
    keep_alive_ = false;
    try {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
      res.set(bhttp::field::content_type, "text/plain");
      res.body() = std::move(text);
      res.keep_alive(false);
      res.prepare_payload();
      transition_to(State::writing);
      arm_deadline(core_->options.idle_timeout);
      send(serialize(res));
    } catch (...) {
      close_now();
    }
  }

  void send(std::string bytes) {
    queued_ += bytes;
    do_write();
  }

  void do_write() {
    if (writing_in_flight_ || state_ == State::closed) return;
    if (queued_.empty()) return on_drained();
    writing_.swap(queued_);
    queued_.clear();
    writing_in_flight_ = true;
    net::async_write(socket_, net::buffer(writing_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->writing_in_flight_ = false;
                       self->writing_.clear();
                       if (self->state_ == State::closed) return;
                       if (ec)
                         return self->terminate(fail(
                             errc::transport_error,
                             fmt::format("writing to {} failed: {}", self->peer_, ec.message())));
                       self->do_write();
                     });
  }

  // Everything queued has reached the kernel.
  void on_drained() {
    if (state_ == State::writing) {
      disarm_deadline();
      if (keep_alive_ && !core_->stopped) return do_read();
      return linger();
    }
    if (state_ == State::closing) {
      if (stream_) stream_->finish({}, false);
      return linger();
    }
  }

  void linger() {
    transition_to(State::lingering);
    boost::system::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    arm_deadline(kLingerTime);
    if (!discarding_) start_discard_read();
  }

  // Reads and drops what the peer sends: during a stream (to notice it leaving) and while
  // lingering.
  void start_discard_read() {
    discarding_ = true;
    socket_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->discarding_ = false;
                              self->on_discard_read(ec, n);
                            });
  }

  void on_discard_read(beast::error_code ec, std::size_t n) {
    if (state_ == State::closed) return;
    if (state_ == State::lingering) {
      lingered_ += n;
      if (ec || lingered_ > kLingerBytes) return close_now();
      return start_discard_read();
    }
    if (ec) {
      const bool eof = ec == net::error::eof;
      return terminate(
          fail(errc::transport_error,
               eof ? fmt::format("{} closed the stream's connection", peer_)
                   : fmt::format("stream connection to {} failed: {}", peer_, ec.message())));
    }
    start_discard_read();  // bytes during a stream mean nothing: dropped
  }

  // Every state change goes through here (one place to trace a connection).
  void transition_to(State next) { state_ = next; }

  void arm_deadline(std::chrono::steady_clock::duration after) {
    ++deadline_generation_;
    if (after.count() <= 0) {
      deadline_.cancel();
      return;
    }
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this(),
                          generation = deadline_generation_](const boost::system::error_code& ec) {
      if (ec || generation != self->deadline_generation_ || self->state_ == State::closed) return;
      self->terminate(fail(errc::timeout, fmt::format("{}: deadline passed while {}", self->peer_,
                                                      to_string(self->state_))));
    });
  }

  void disarm_deadline() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  // Ends the connection for `why`, ending its stream (if any) with it.
  void terminate(Result<void> why) {
    if (stream_) stream_->finish(std::move(why), false);
    close_now();
  }

  void close_now() {
    if (state_ == State::closed) return;
    transition_to(State::closed);
    disarm_deadline();
    boost::system::error_code ec;
    socket_.close(ec);
    queued_.clear();
    // Last: the registry may hold the last reference, and callers hold their own.
    core_->connections.erase(this);
  }

  std::shared_ptr<ServerCore> core_;
  tcp::socket socket_;
  net::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::size_t header_consumed_ = 0;  // bytes of the current header the parser has taken
  bool silent_ = true;               // no byte of the current request has arrived yet
  bool header_timer_ = false;        // the deadline is header_timeout (not idle_timeout)
  std::chrono::steady_clock::time_point idle_since_;
  std::string peer_;
  State state_ = State::reading;
  std::uint64_t sequence_ = 0;  // requests read on this connection
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  bool chunked_ = true;
  std::shared_ptr<ServerStream> stream_;
  std::string queued_;   // waiting for the write in flight
  std::string writing_;  // in flight
  bool writing_in_flight_ = false;
  bool discarding_ = false;
  std::size_t lingered_ = 0;
  std::array<char, 4096> discard_{};
};

Result<void> ServerCore::start() {
  if (stopped) return fail(errc::invalid_argument, "the server was stopped; it cannot start again");
  if (started) return fail(errc::invalid_argument, "the server is already started");
  boost::system::error_code ec;
  const auto address = net::ip::make_address(options.address, ec);
  if (ec)
    return fail(errc::invalid_argument,
                fmt::format("listen address '{}' is not an IP address", options.address));
  const tcp::endpoint endpoint(address, options.port);
  const auto bind_to = endpoint_text(endpoint);
  auto failed = [&](const char* step) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    const auto code = ec == net::error::address_in_use ? errc::address_in_use : errc::io_error;
    return fail(code, fmt::format("{} '{}': {}", step, bind_to, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return failed("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return failed("setsockopt");
  if (acceptor.bind(endpoint, ec); ec) return failed("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return failed("listen");
  port = acceptor.local_endpoint(ec).port();
  if (ec) return failed("getsockname");
  this->where = endpoint_text(tcp::endpoint(address, port));
  started = true;
  do_accept();
  return {};
}

void ServerCore::stop() {
  if (stopped) return;
  stopped = true;
  boost::system::error_code ec;
  acceptor.close(ec);
  retry_timer.cancel();
  auto open = std::move(connections);
  connections.clear();
  for (auto& [raw, connection] : open)
    connection->shutdown_now();
  auto refusing = std::move(refusals);
  refusals.clear();
  for (auto& [raw, refusal] : refusing)
    refusal->close();
}

void ServerCore::do_accept() {
  acceptor.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (self->stopped) return;
        if (ec) {
          ++self->accept_errors_unlogged;
          const auto now = std::chrono::steady_clock::now();
          if (!self->accept_error_logged_at || now - *self->accept_error_logged_at >= kLogEvery) {
            self->log(fmt::format("http server '{}': accepting failed {} time(s): {}", self->where,
                                  self->accept_errors_unlogged, ec.message()));
            self->accept_error_logged_at = now;
            self->accept_errors_unlogged = 0;
          }
          // Out of descriptors or similar: try again shortly rather than spin.
          self->retry_timer.expires_after(std::chrono::milliseconds(100));
          self->retry_timer.async_wait([self](const boost::system::error_code& wait_ec) {
            if (!wait_ec && !self->stopped) self->do_accept();
          });
          return;
        }
        const std::size_t limit = self->options.max_connections;
        try {
          if (limit > 0 && self->connections.size() >= limit) self->evict_idle();
          if (limit > 0 && self->connections.size() >= limit) {
            self->refuse(std::move(socket));
          } else {
            ++self->accepted;
            auto connection = std::make_shared<ServerConnection>(self, std::move(socket));
            self->connections.emplace(connection.get(), connection);
            connection->start();
          }
        } catch (...) {
          // Could not take this connection (memory): it is closed by the socket's destructor.
        }
        self->do_accept();
      });
}

void ServerCore::evict_idle() {
  ServerConnection* oldest = nullptr;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [raw, connection] : connections) {
    if (raw->idle(now) && (!oldest || raw->idle_since() < oldest->idle_since())) oldest = raw;
  }
  if (oldest) oldest->evict();
}

void ServerCore::refuse(tcp::socket socket) {
  ++refused;
  ++refused_unlogged;
  const auto now = std::chrono::steady_clock::now();
  if (!refusal_logged_at || now - *refusal_logged_at >= kLogEvery) {
    log(
        fmt::format("http server '{}': {} connection(s) refused with 429: {} are open, the limit "
                    "('max_connections')",
                    where, refused_unlogged, connections.size()));
    refusal_logged_at = now;
    refused_unlogged = 0;
  }
  if (refusals.size() >= kMaxRefusing) return;  // closed by the socket's destructor
  auto refusal = std::make_shared<Refusal>(shared_from_this(), std::move(socket));
  refusals.emplace(refusal.get(), refusal);
  refusal->start();
}

void ServerCore::log(std::string_view line) {
  if (!options.log) return;
  try {
    options.log(line);
  } catch (...) {
    // A logger that fails loses the line, never the server.
  }
}

}  // namespace detail

// --- StreamWriter ---

bool StreamWriter::write(std::string_view bytes) {
  if (!stream_ || stream_->end) return false;
  auto connection = stream_->connection.lock();
  return connection && connection->stream_write(bytes);
}

void StreamWriter::close() {
  if (!stream_ || stream_->end) return;
  if (auto connection = stream_->connection.lock()) connection->stream_close();
}

void StreamWriter::abort() {
  if (!stream_ || stream_->end) return;
  if (auto connection = stream_->connection.lock()) connection->stream_abort();
}

bool StreamWriter::open() const {
  return stream_ && !stream_->end;
}

std::size_t StreamWriter::buffered() const {
  if (!stream_ || stream_->end) return 0;
  auto connection = stream_->connection.lock();
  return connection ? connection->buffered() : 0;
}

void StreamWriter::on_close(std::function<void(Result<void>)> handler) {
  if (stream_) stream_->set_on_close(std::move(handler));
}

// --- Responder ---

Responder::Responder(Responder&& other) noexcept
    : connection_(std::move(other.connection_)), sequence_(std::exchange(other.sequence_, 0)) {
  other.connection_.reset();
}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (auto connection = connection_.lock(); connection && connection->pending(sequence_))
      connection->respond(sequence_, 500, {}, "the request handler dropped the request");
    connection_ = std::move(other.connection_);
    other.connection_.reset();
    sequence_ = std::exchange(other.sequence_, 0);
  }
  return *this;
}

Responder::~Responder() {
  if (auto connection = connection_.lock(); connection && connection->pending(sequence_))
    connection->respond(sequence_, 500, {}, "the request handler dropped the request");
}

bool Responder::respond(int status, Headers headers, std::string body) {
  auto connection = connection_.lock();
  return connection && connection->respond(sequence_, status, std::move(headers), std::move(body));
}

StreamWriter Responder::start_stream(int status, Headers headers) {
  auto connection = connection_.lock();
  if (!connection) return {};
  return connection->start_stream(sequence_, status, std::move(headers));
}

bool Responder::pending() const {
  auto connection = connection_.lock();
  return connection && connection->pending(sequence_);
}

// --- Server ---

class Server::Impl : public detail::ServerCore {
 public:
  using ServerCore::ServerCore;
};

Server::Server(net::any_io_executor executor, ServerOptions options, RequestHandler handler)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options), std::move(handler))) {}

Server::~Server() {
  impl_->stop();
}

Result<void> Server::start() {
  return impl_->start();
}
void Server::stop() {
  impl_->stop();
}
std::uint16_t Server::port() const {
  return impl_->started ? impl_->port : 0;
}
std::uint64_t Server::accepted_connections() const {
  return impl_->accepted;
}
std::size_t Server::open_connections() const {
  return impl_->connections.size();
}
std::uint64_t Server::refused_connections() const {
  return impl_->refused;
}
const net::any_io_executor& Server::get_executor() const {
  return impl_->executor;
}

}  // namespace heatblast::http
