#include "heatblast/http_client.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <unordered_map>

#include <curl/curl.h>
#include <fmt/format.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/curl_errors.hpp"
#include "http/header_text.hpp"

namespace heatblast::http {

namespace net = boost::asio;

namespace {

// curl_global_init once per process, before the first handle. Thread-safe through the static.
bool curl_ready() {
  static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return ok;
}

bool valid_method(std::string_view method) {
  return !method.empty() &&
         std::all_of(method.begin(), method.end(), [](char c) { return is_token_char(c); });
}

bool valid_url_scheme(std::string_view url) {
  return istarts_with(url, "http://") || istarts_with(url, "https://");
}

long to_long(std::int64_t v) {
  return static_cast<long>(std::clamp<std::int64_t>(v, 0, std::numeric_limits<long>::max()));
}

// The user's side of one request: shared by the request and every delivery already posted for
// it, so that cancel() can silence deliveries that are queued but have not run.
struct Sink {
  bool live = true;
  bool streaming = false;
  std::function<void(Result<Response>)> done;
  StreamHandlers stream;
};

// One easy handle and what curl's callbacks fill in. Curl calls back only while the handle is in
// the multi handle, and the Transfer outlives that, so the raw pointer curl holds is safe.
struct Transfer {
  RequestId id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  std::string method;
  std::string url;
  std::string body;  // CURLOPT_POSTFIELDS points into it
  std::shared_ptr<Sink> sink;
  bool streaming = false;
  std::size_t max_body = 0;

  Response response;  // head as parsed; whole body for async_send
  bool head_complete = false;
  bool head_posted = false;
  std::string pending;  // stream bytes not posted yet
  bool too_large = false;
  bool out_of_memory = false;
  char error_buffer[CURL_ERROR_SIZE] = {};

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (header_list != nullptr) curl_slist_free_all(header_list);
  }

  void header_line(std::string_view line) {
    if (head_complete) return;  // trailer fields after a chunked body: not part of the head
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
      line.remove_suffix(1);
    if (line.empty()) {
      long code = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
      if (code >= 100 && code < 200 && code != 101) {
        response.headers.clear();  // an interim response: the final one follows
        return;
      }
      response.status = static_cast<int>(code);
      head_complete = true;
      return;
    }
    if (istarts_with(line, "HTTP/")) {  // a status line starts a new head
      response.headers.clear();
      return;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !response.headers.empty()) {
      auto& value = response.headers.back().second;  // obsolete line folding
      value += ' ';
      value += trim_ows(line);
      return;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    response.headers.emplace_back(std::string(trim_ows(line.substr(0, colon))),
                                  std::string(trim_ows(line.substr(colon + 1))));
  }

  bool body_bytes(std::string_view bytes) {
    if (streaming) {
      pending.append(bytes);
      return true;
    }
    if (bytes.size() > max_body - response.body.size()) {
      too_large = true;
      return false;
    }
    response.body.append(bytes);
    return true;
  }
};

// A socket curl asked us to watch. The descriptor never owns the fd: curl opens and closes it.
struct SocketWatch {
  explicit SocketWatch(const net::any_io_executor& ex) : descriptor(ex) {}
  SocketWatch(const SocketWatch&) = delete;
  SocketWatch& operator=(const SocketWatch&) = delete;
  ~SocketWatch() {
    if (descriptor.is_open()) descriptor.release();  // cancels pending waits; fd stays open
  }

  net::posix::stream_descriptor descriptor;
  std::uint64_t generation = 0;
  int want = 0;  // CURL_POLL_IN / _OUT / _INOUT
  bool reading = false;
  bool writing = false;
};

// Curl's per-transfer callbacks. Nothing may throw out of them: a failure is recorded in the
// Transfer and reported by returning a short count, which fails the transfer.
size_t curl_header_cb(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  try {
    t->header_line(std::string_view(data, size * n));
  } catch (...) {
    t->out_of_memory = true;
    return 0;
  }
  return size * n;
}

size_t curl_write_cb(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  try {
    if (!t->body_bytes(std::string_view(data, size * n))) return CURL_WRITEFUNC_ERROR;
  } catch (...) {
    t->out_of_memory = true;
    return CURL_WRITEFUNC_ERROR;
  }
  return size * n;
}

}  // namespace

class Client::Impl : public std::enable_shared_from_this<Client::Impl> {
 public:
  Impl(net::any_io_executor executor, ClientOptions options)
      : executor_(std::move(executor)), options_(std::move(options)), timer_(executor_) {}

  ~Impl() { shutdown(); }

  // Separate from the constructor: the callbacks need a live object, and curl may fail.
  void init() {
    if (!curl_ready()) return;
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Impl::socket_cb);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Impl::timer_cb);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    // HTTP/1.1 only, one exchange per connection at a time: the Mesos rule of separate
    // connections for the stream and for calls depends on it.
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
  }

  const net::any_io_executor& executor() const { return executor_; }
  std::size_t in_flight() const { return sinks_.size(); }

  RequestId start(Request request, std::shared_ptr<Sink> sink) {
    RequestId id = ++last_id_;
    sinks_.emplace(id, sink);
    if (auto started = begin(id, std::move(request), sink); !started)
      post_end(id, sink, tl::unexpected(std::move(started.error())));
    return id;
  }

  void cancel(RequestId id) {
    if (auto it = sinks_.find(id); it != sinks_.end()) {
      it->second->live = false;
      sinks_.erase(it);
    }
    if (auto it = transfers_.find(id); it != transfers_.end()) {
      auto transfer = std::move(it->second);
      transfers_.erase(it);
      curl_multi_remove_handle(multi_, transfer->easy);  // closes a half-used connection
    }
  }

  void cancel_all() {
    for (auto& [id, sink] : sinks_)
      sink->live = false;
    sinks_.clear();
    auto transfers = std::move(transfers_);
    transfers_.clear();
    for (auto& [id, transfer] : transfers)
      curl_multi_remove_handle(multi_, transfer->easy);
  }

  void shutdown() {
    if (stopped_) return;
    stopped_ = true;
    cancel_all();
    if (multi_ != nullptr) {
      curl_multi_cleanup(multi_);  // closes cached connections; may call socket_cb
      multi_ = nullptr;
    }
    sockets_.clear();
    timer_.cancel();
  }

  // --- curl's multi callbacks: no user code, no curl_multi_* calls, nothing thrown out ---

  static int socket_cb(CURL*, curl_socket_t s, int what, void* userp, void*) {
    return static_cast<Impl*>(userp)->on_socket(s, what);
  }

  static int timer_cb(CURLM*, long timeout_ms, void* userp) {
    static_cast<Impl*>(userp)->on_timer(timeout_ms);
    return 0;
  }

 private:
  int on_socket(curl_socket_t s, int what) noexcept {
    try {
      if (what == CURL_POLL_REMOVE) {
        sockets_.erase(s);
        return 0;
      }
      auto& watch = sockets_[s];
      if (!watch) {
        auto fresh = std::make_unique<SocketWatch>(executor_);
        boost::system::error_code ec;
        fresh->descriptor.assign(s, ec);
        if (ec) {
          sockets_.erase(s);
          return -1;
        }
        fresh->generation = ++socket_generation_;
        watch = std::move(fresh);
      }
      watch->want = what;
      arm(s, *watch);
      return 0;
    } catch (...) {
      sockets_.erase(s);
      return -1;
    }
  }

  void on_timer(long timeout_ms) noexcept {
    ++timer_generation_;
    if (timeout_ms < 0) {
      timer_.cancel();
      return;
    }
    // Never socket_action from inside a curl callback: even a 0 ms timeout goes through Asio.
    timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    timer_.async_wait([weak = weak_from_this(),
                       generation = timer_generation_](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (!self || ec || self->stopped_ || generation != self->timer_generation_) return;
      self->drive(CURL_SOCKET_TIMEOUT, 0);
    });
  }

  auto ready_handler(curl_socket_t s, std::uint64_t generation, int direction) {
    return
        [weak = weak_from_this(), s, generation, direction](const boost::system::error_code& ec) {
          if (auto self = weak.lock()) self->on_ready(s, generation, direction, ec);
        };
  }

  void arm(curl_socket_t s, SocketWatch& watch) {
    if ((watch.want & CURL_POLL_IN) != 0 && !watch.reading) {
      watch.reading = true;
      watch.descriptor.async_wait(net::posix::descriptor_base::wait_read,
                                  ready_handler(s, watch.generation, CURL_CSELECT_IN));
    }
    if ((watch.want & CURL_POLL_OUT) != 0 && !watch.writing) {
      watch.writing = true;
      watch.descriptor.async_wait(net::posix::descriptor_base::wait_write,
                                  ready_handler(s, watch.generation, CURL_CSELECT_OUT));
    }
  }

  void on_ready(curl_socket_t s, std::uint64_t generation, int direction,
                const boost::system::error_code& ec) {
    if (stopped_) return;
    auto it = sockets_.find(s);
    // A stale wait: the fd was dropped by curl, maybe reused for a new connection since.
    if (it == sockets_.end() || it->second->generation != generation) return;
    auto& watch = *it->second;
    (direction == CURL_CSELECT_IN ? watch.reading : watch.writing) = false;
    if (ec == net::error::operation_aborted) return;
    const int wanted = direction == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
    if ((watch.want & wanted) == 0) return;  // curl lost interest while the wait was queued
    drive(s, ec ? CURL_CSELECT_ERR : direction);
    if (stopped_) return;
    it = sockets_.find(s);
    if (it != sockets_.end() && it->second->generation == generation) arm(s, *it->second);
  }

  // One step of curl's state machine, then everything it produced goes out to the user.
  void drive(curl_socket_t s, int events) {
    int running = 0;
    curl_multi_socket_action(multi_, s, events, &running);
    for (auto& [id, transfer] : transfers_)
      flush_stream(*transfer);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;  // msg dies with curl_multi_remove_handle
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      if (raw != nullptr) finish(raw->id, code);
    }
  }

  // Posts what a stream's callbacks filled in since the last step: the head, then the body.
  void flush_stream(Transfer& t) {
    if (!t.streaming) return;
    if (t.head_complete && !t.head_posted) {
      t.head_posted = true;
      net::post(executor_, [sink = t.sink, head = t.response] {
        if (sink->live && sink->stream.on_head) sink->stream.on_head(head);
      });
    }
    if (!t.pending.empty()) {
      net::post(executor_, [sink = t.sink, bytes = std::move(t.pending)] {
        if (sink->live && sink->stream.on_data) sink->stream.on_data(bytes);
      });
      t.pending.clear();
    }
  }

  void finish(RequestId id, CURLcode code) {
    auto it = transfers_.find(id);
    if (it == transfers_.end()) return;
    auto t = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, t->easy);
    flush_stream(*t);
    if (code == CURLE_OK) {
      if (!t->head_complete) {
        long status = 0;
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        t->response.status = static_cast<int>(status);
      }
      post_end(id, t->sink, std::move(t->response));
      return;
    }
    if (t->too_large) {
      post_end(id, t->sink,
               fail(errc::body_too_large,
                    fmt::format("{} '{}': response body larger than the maximum of {} bytes",
                                t->method, t->url, t->max_body)));
    } else if (t->out_of_memory) {
      post_end(id, t->sink,
               fail(errc::io_error,
                    fmt::format("{} '{}': out of memory while receiving", t->method, t->url)));
    } else {
      post_end(id, t->sink, tl::unexpected(curl_error(code, t->method, t->url, t->error_buffer)));
    }
  }

  // The final callback, posted. It runs unless the request is cancelled before it does.
  void post_end(RequestId id, const std::shared_ptr<Sink>& sink, Result<Response> result) {
    net::post(executor_, [weak = weak_from_this(), id, sink, result = std::move(result)]() mutable {
      if (!sink->live) return;
      sink->live = false;
      if (auto self = weak.lock()) self->sinks_.erase(id);
      if (!sink->streaming) {
        if (sink->done) sink->done(std::move(result));
      } else if (sink->stream.on_end) {
        sink->stream.on_end(result ? Result<void>{} : tl::unexpected(std::move(result.error())));
      }
    });
  }

  Result<void> begin(RequestId id, Request request, const std::shared_ptr<Sink>& sink) {
    if (multi_ == nullptr) return fail(errc::io_error, "libcurl could not be initialised");
    auto where = [&] { return fmt::format("{} '{}'", request.method, request.url); };
    if (!valid_method(request.method))
      return fail(errc::invalid_argument, fmt::format("{}: invalid method", where()));
    if (!valid_url_scheme(request.url))
      return fail(errc::invalid_argument,
                  fmt::format("{}: the URL is not http:// or https://", where()));
    if (sink->streaming && request.timeout.count() != 0)
      return fail(errc::invalid_argument,
                  fmt::format("{}: a stream takes no whole-request timeout", where()));

    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->sink = sink;
    t->streaming = sink->streaming;
    t->max_body = options_.max_body_size;
    t->method = std::move(request.method);
    t->url = std::move(request.url);
    t->body = std::move(request.body);

    // Caller's fields verbatim; then blank out what curl would add on its own ("Name:" removes
    // an internal header, "Name;" sends an empty one).
    bool has_accept = false, has_type = false, has_expect = false, has_agent = false;
    for (const auto& [name, value] : request.headers) {
      if (!valid_field_name(name) || !valid_field_value(value))
        return fail(errc::invalid_argument,
                    fmt::format("{} '{}': invalid header field '{}'", t->method, t->url, name));
      has_accept = has_accept || iequals(name, "Accept");
      has_type = has_type || iequals(name, "Content-Type");
      has_expect = has_expect || iequals(name, "Expect");
      has_agent = has_agent || iequals(name, "User-Agent");
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      if (!append_header(*t, line)) return fail(errc::io_error, "out of memory");
    }
    if (!has_accept && !append_header(*t, "Accept:")) return fail(errc::io_error, "out of memory");
    if (!has_type && !append_header(*t, "Content-Type:"))
      return fail(errc::io_error, "out of memory");
    // Without this curl sends "Expect: 100-continue" for bodies over 1 KiB and waits for a 100
    // that libprocess never sends.
    if (!has_expect && !append_header(*t, "Expect:")) return fail(errc::io_error, "out of memory");
    if (!has_agent && !options_.user_agent.empty() &&
        !append_header(*t, "User-Agent: " + options_.user_agent))
      return fail(errc::io_error, "out of memory");

    t->easy = curl_easy_init();
    if (t->easy == nullptr) return fail(errc::io_error, "curl_easy_init failed");
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    // "" disables proxies, including the ones curl would take from the environment.
    curl_easy_setopt(e, CURLOPT_PROXY, options_.proxy.c_str());
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (options_.tcp_keepalive) {
      curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
      curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, to_long(options_.keepalive_idle.count()));
      curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, to_long(options_.keepalive_interval.count()));
    }
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, to_long(request.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_long(request.timeout.count()));
    if (request.low_speed_time.count() > 0) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, to_long(request.low_speed_time.count()));
    }
    if (!options_.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, options_.verify_peer ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, options_.verify_peer ? 2L : 0L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &curl_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &curl_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    if (!t->streaming) {
      // Fails early when Content-Length already says too much; body_bytes() caps the rest.
      curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(std::min<std::size_t>(
                           options_.max_body_size,
                           static_cast<std::size_t>(std::numeric_limits<curl_off_t>::max()))));
    }

    const std::string& m = t->method;
    if (m == "GET" && t->body.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
      if (!t->body.empty() || m == "POST" || m == "PUT" || m == "PATCH") {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
      }
      if (m != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);

    if (CURLMcode mc = curl_multi_add_handle(multi_, e); mc != CURLM_OK)
      return fail(errc::io_error, fmt::format("{} '{}': curl_multi_add_handle: {}", t->method,
                                              t->url, curl_multi_strerror(mc)));
    transfers_.emplace(id, std::move(t));
    return {};
  }

  static bool append_header(Transfer& t, const std::string& line) {
    curl_slist* next = curl_slist_append(t.header_list, line.c_str());
    if (next == nullptr) return false;
    t.header_list = next;
    return true;
  }

  net::any_io_executor executor_;
  ClientOptions options_;
  CURLM* multi_ = nullptr;
  net::steady_timer timer_;
  std::uint64_t timer_generation_ = 0;
  std::uint64_t socket_generation_ = 0;
  std::map<curl_socket_t, std::unique_ptr<SocketWatch>> sockets_;
  std::unordered_map<RequestId, std::unique_ptr<Transfer>> transfers_;  // in curl
  std::unordered_map<RequestId, std::shared_ptr<Sink>> sinks_;  // final callback not run yet
  RequestId last_id_ = 0;
  bool stopped_ = false;
};

Client::Client(net::any_io_executor executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(options))) {
  impl_->init();
}

Client::~Client() {
  impl_->shutdown();
}

RequestId Client::async_send(Request request, std::function<void(Result<Response>)> done) {
  auto sink = std::make_shared<Sink>();
  sink->done = std::move(done);
  return impl_->start(std::move(request), std::move(sink));
}

RequestId Client::async_stream(Request request, StreamHandlers handlers) {
  auto sink = std::make_shared<Sink>();
  sink->streaming = true;
  sink->stream = std::move(handlers);
  return impl_->start(std::move(request), std::move(sink));
}

void Client::cancel(RequestId id) {
  impl_->cancel(id);
}
void Client::cancel_all() {
  impl_->cancel_all();
}
std::size_t Client::in_flight() const {
  return impl_->in_flight();
}
const net::any_io_executor& Client::get_executor() const {
  return impl_->executor();
}

}  // namespace heatblast::http
