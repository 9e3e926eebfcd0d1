#include "heatblast/http_server.hpp"

#include <array>
#include <limits>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>
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

}  // namespace

namespace detail {

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
      keep_alive_ = keep_alive_ && !core_->stopped;
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
      res.keep_alive(false);
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
  void do_read() {
    transition_to(State::reading);
    parser_.emplace();
    parser_->body_limit(core_->options.max_body_size);
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
        core_->options.max_header_size, std::numeric_limits<std::uint32_t>::max())));
    arm_deadline(core_->options.idle_timeout);
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (state_ != State::reading) return;
    if (ec) return on_read_error(ec);
    const auto& req = parser_->get();
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
  const auto where = endpoint_text(endpoint);
  auto failed = [&](const char* step) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    const auto code = ec == net::error::address_in_use ? errc::address_in_use : errc::io_error;
    return fail(code, fmt::format("{} '{}': {}", step, where, ec.message()));
  };
  if (acceptor.open(endpoint.protocol(), ec); ec) return failed("open");
  if (acceptor.set_option(tcp::acceptor::reuse_address(true), ec); ec) return failed("setsockopt");
  if (acceptor.bind(endpoint, ec); ec) return failed("bind");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return failed("listen");
  port = acceptor.local_endpoint(ec).port();
  if (ec) return failed("getsockname");
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
}

void ServerCore::do_accept() {
  acceptor.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (self->stopped) return;
        if (ec) {
          // Out of descriptors or similar: try again shortly rather than spin.
          self->retry_timer.expires_after(std::chrono::milliseconds(100));
          self->retry_timer.async_wait([self](const boost::system::error_code& wait_ec) {
            if (!wait_ec && !self->stopped) self->do_accept();
          });
          return;
        }
        try {
          ++self->accepted;
          auto connection = std::make_shared<ServerConnection>(self, std::move(socket));
          self->connections.emplace(connection.get(), connection);
          connection->start();
        } catch (...) {
          // Could not take this connection (memory): it is closed by the socket's destructor.
        }
        self->do_accept();
      });
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
const net::any_io_executor& Server::get_executor() const {
  return impl_->executor;
}

}  // namespace heatblast::http
