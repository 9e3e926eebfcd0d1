// load-worker against an HTTP target that this test serves on loopback (an http::Server on its
// own io_context thread), with the load-tester's report endpoint served the same way.
#include "worker.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_server.hpp"

namespace load = heatblast::load;
namespace http = heatblast::http;

namespace {

// An HTTP target and a report endpoint on one loopback server, served by a thread of its own.
// As a load-tester, it grants `grant_ahead` queries beyond those a worker reports started
// (0: grants nothing), or answers 409 (its task has ended) when `refuse`.
struct Grants {
  std::uint64_t grant_ahead = 0;
  bool refuse = false;
};

class TestServer {
 public:
  explicit TestServer(bool fail_every_other = false, Grants grants = {})
      : fail_every_other_(fail_every_other), grants_(grants) {
    server_ = std::make_unique<http::Server>(
        io_.get_executor(), http::ServerOptions{},
        [this](const http::ServerRequest& r, http::Responder w) {
          if (r.path == "/figures") {
            std::lock_guard lock(mutex_);
            reports_.push_back(r.query + "\n" + r.body);
            if (grants_.refuse) return (void)w.respond(409, {}, "task already ended\n");
            const auto at = r.query.find("started=");
            const std::uint64_t started =
                at == std::string::npos ? 0 : std::stoull(r.query.substr(at + 8));
            if (grants_.grant_ahead > 0 && r.query.find("final=0") != std::string::npos)
              granted_ = std::max(granted_.load(), started + grants_.grant_ahead);
            w.respond(200, {}, fmt::format("granted {}\n", granted_.load()));
            return;
          }
          const auto n = ++received_;
          // Every request the worker sends must have been granted before it.
          if (n > granted_.load()) ungranted_ = true;
          std::lock_guard lock(mutex_);
          last_method_ = r.method;
          last_path_ = r.path;
          last_body_ = r.body;
          last_content_type_ = std::string(r.header("Content-Type").value_or(""));
          w.respond(fail_every_other_ && n % 2 == 0 ? 500 : 200, {}, "ok");
        });
    REQUIRE(server_->start());
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    boost::asio::post(io_, [this] { server_->stop(); });
    guard_.reset();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_()); }
  std::uint64_t received() const { return received_.load(); }
  void grant(std::uint64_t n) { granted_ = n; }
  bool ungranted() const { return ungranted_.load(); }
  std::vector<std::string> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::mutex mutex_;
  std::string last_method_, last_path_, last_body_, last_content_type_;

 private:
  std::uint16_t port_() const {
    return port_value_ ? port_value_ : (port_value_ = server_->port());
  }
  bool fail_every_other_;
  Grants grants_;
  std::atomic<std::uint64_t> granted_{~std::uint64_t{0}};
  std::atomic<bool> ungranted_{false};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  std::atomic<std::uint64_t> received_{0};
  std::vector<std::string> reports_;
  mutable std::uint16_t port_value_ = 0;
};

}  // namespace

TEST_CASE("load-worker: query text is METHOD /path [body]") {
  auto q = load::parse_http_query("POST /orders {\"id\":1}");
  REQUIRE(q);
  CHECK(q->method == "POST");
  CHECK(q->path == "/orders");
  CHECK(q->body == "{\"id\":1}");
  CHECK(load::parse_http_query("GET /")->body.empty());
  CHECK_FALSE(load::parse_http_query("GET"));
  CHECK_FALSE(load::parse_http_query("GET orders"));
  CHECK_FALSE(load::parse_http_query("get /"));
}

TEST_CASE("load-worker: flags round-trip through worker_arguments") {
  load::WorkerOptions o;
  o.target = "http://h:1";
  o.query = "POST /x a b";
  o.queries = 77;
  o.rate = 12.5;
  o.connections = 3;
  o.timeout = std::chrono::milliseconds(1500);
  o.report_to = "http://r:2";
  o.task = "chunk-3";
  CHECK_FALSE(load::parse_worker_flags(load::worker_arguments(o))->granted);
  o.granted = 40;
  auto back = load::parse_worker_flags(load::worker_arguments(o));
  REQUIRE(back);
  CHECK(back->target == o.target);
  CHECK(back->query == o.query);
  CHECK(back->queries == 77);
  CHECK(back->rate == 12.5);
  CHECK(back->connections == 3);
  CHECK(back->timeout == o.timeout);
  CHECK(back->report_to == o.report_to);
  CHECK(back->task == o.task);
  CHECK(back->granted == 40);
  CHECK_FALSE(load::parse_worker_flags({"--queries", "x", "--target", "http://h"}));
  CHECK_FALSE(load::parse_worker_flags({"--nope", "1"}));
}

TEST_CASE("load-worker: runs exactly its share over several connections and reports it") {
  TestServer server;
  load::WorkerOptions o;
  o.target = server.url() + "/ignored";
  o.query = "POST /orders {\"id\":1}";
  o.queries = 300;
  o.connections = 4;
  o.report_to = server.url();
  o.task = "chunk-1";
  auto figures = load::run_worker(o);
  REQUIRE(figures);
  CHECK(figures->queries == 300);
  CHECK(figures->errors == 0);
  CHECK(figures->latency.count() == 300);
  CHECK(server.received() == 300);
  {
    std::lock_guard lock(server.mutex_);
    CHECK(server.last_method_ == "POST");
    CHECK(server.last_path_ == "/orders");
    CHECK(server.last_body_ == "{\"id\":1}");
    CHECK(server.last_content_type_ == "application/json");
  }
  const auto reports = server.reports();
  REQUIRE_FALSE(reports.empty());
  const auto& final_report = reports.back();
  CHECK(final_report.rfind("task=chunk-1&final=1&started=300\n", 0) == 0);
  auto decoded = load::decode(final_report.substr(final_report.find('\n') + 1));
  REQUIRE(decoded);
  CHECK(decoded->queries == 300);
  CHECK(decoded->latency.count() == 300);
}

TEST_CASE("load-worker: failed queries are counted, not hidden") {
  TestServer server(/*fail_every_other=*/true);
  load::WorkerOptions o;
  o.target = server.url();
  o.queries = 200;
  o.connections = 2;
  auto figures = load::run_worker(o);
  REQUIRE(figures);
  CHECK(figures->queries == 200);
  CHECK(figures->errors == 100);
}

TEST_CASE("load-worker: --rate holds within 20 %") {
  TestServer server;
  load::WorkerOptions o;
  o.target = server.url();
  o.queries = 201;
  o.rate = 200;  // 200 intervals of 5 ms: 1 s
  o.connections = 2;
  auto figures = load::run_worker(o);
  REQUIRE(figures);
  const double seconds = static_cast<double>(figures->duration_us) / 1e6;
  const double rate = 200 / seconds;
  INFO("measured " << rate << " queries/s");
  CHECK(rate <= 200 * 1.2);
  CHECK(rate >= 200 * 0.8);
}

TEST_CASE("load-worker: an unreachable load-tester fails the run") {
  TestServer server;
  load::WorkerOptions o;
  o.target = server.url();
  o.queries = 5;
  o.report_to = "http://127.0.0.1:1";
  CHECK_FALSE(load::run_worker(o));
}

TEST_CASE("load-worker: a target that never answers times out each query") {
  // A listening socket that is never accepted from: the kernel completes the handshakes, so each
  // request is sent and waits for an answer that never comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 16) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  load::WorkerOptions o;
  o.target = fmt::format("http://127.0.0.1:{}", ntohs(addr.sin_port));
  o.queries = 3;
  o.connections = 2;
  o.timeout = std::chrono::milliseconds(200);
  auto figures = load::run_worker(o);
  ::close(fd);
  REQUIRE(figures);
  CHECK(figures->queries == 3);
  CHECK(figures->errors == 3);
  CHECK(figures->latency.count() == 3);
  CHECK(figures->latency.percentile(0.01) >= 190'000);  // each waited for its own timeout
  CHECK(figures->latency.max() < 5'000'000);
}

TEST_CASE("load-worker: sends only the queries it was granted, and asks for more ahead of need") {
  TestServer server(false, Grants{/*grant_ahead=*/30, false});
  server.grant(20);
  load::WorkerOptions o;
  o.target = server.url();
  o.queries = 500;
  o.connections = 4;
  o.granted = 20;
  o.report_to = server.url();
  o.task = "chunk-1";
  auto figures = load::run_worker(o);
  REQUIRE(figures);
  CHECK(figures->queries == 500);
  CHECK(server.received() == 500);
  CHECK_FALSE(server.ungranted());
  // 480 more queries, 30 or so per grant: many asks, each before the worker ran dry.
  CHECK(server.reports().size() >= 10);
}

TEST_CASE("load-worker: stops when the load-tester says its task has ended") {
  TestServer server(false, Grants{0, /*refuse=*/true});
  server.grant(40);
  load::WorkerOptions o;
  o.target = server.url();
  o.queries = 300;
  o.connections = 2;
  o.granted = 40;
  o.report_to = server.url();
  o.task = "chunk-1";
  auto figures = load::run_worker(o);
  REQUIRE_FALSE(figures);
  CHECK(figures.error().what().find("the load-tester counts this task as ended") !=
        std::string::npos);
  CHECK(server.received() <= 40);
  CHECK_FALSE(server.ungranted());
}

TEST_CASE("load-worker: a Connection: close answer is followed by a new connection") {
  // A server that answers one request per connection and closes it, 20 times: each query after
  // the first has to reconnect.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  std::atomic<int> answered{0};
  std::thread thread([&] {
    boost::system::error_code ec;
    for (int i = 0; i < 20; ++i) {
      boost::asio::ip::tcp::socket socket(io);
      acceptor.accept(socket, ec);
      if (ec) return;  // shut down: the worker gave up early
      std::string in;
      boost::asio::read_until(socket, boost::asio::dynamic_buffer(in), "\r\n\r\n", ec);
      boost::asio::write(
          socket,
          boost::asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                                               "Connection: close\r\n\r\nok")),
          ec);
      ++answered;
    }
  });
  load::WorkerOptions o;
  o.target = fmt::format("http://127.0.0.1:{}", acceptor.local_endpoint().port());
  o.queries = 20;
  auto figures = load::run_worker(o);
  ::shutdown(acceptor.native_handle(), SHUT_RDWR);  // wakes an accept() still waiting
  thread.join();
  REQUIRE(figures);
  CHECK(figures->queries == 20);
  CHECK(figures->errors == 0);
  CHECK(answered == 20);
}

namespace {

// An HTTPS server for one test: serves keep-alive requests with a certificate for "localhost"
// (tls/cert.pem, self-signed), one connection at a time, on a thread of its own.
class TlsServer {
 public:
  TlsServer() : tls_(boost::asio::ssl::context::tls_server) {
    tls_.use_certificate_chain_file(HEATBLAST_TEST_TLS_DIR "/cert.pem");
    tls_.use_private_key_file(HEATBLAST_TEST_TLS_DIR "/key.pem", boost::asio::ssl::context::pem);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the accept() waiting
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_.load(); }
  int answered() const { return answered_.load(); }

 private:
  void serve() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream(std::move(socket), tls_);
      stream.handshake(boost::asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused the certificate
      ++connections_;
      std::string in;
      while (!ec) {
        const auto n =
            boost::asio::read_until(stream, boost::asio::dynamic_buffer(in), "\r\n\r\n", ec);
        if (ec) break;
        in.erase(0, n);
        boost::asio::write(
            stream,
            boost::asio::buffer(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
            ec);
        if (!ec) ++answered_;
      }
    }
  }

  boost::asio::io_context io_;
  boost::asio::ssl::context tls_;
  boost::asio::ip::tcp::acceptor acceptor_{
      io_, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  std::atomic<int> connections_{0};
  std::atomic<int> answered_{0};
  std::thread thread_;
};

// Points OpenSSL's default CA file at `path` while it lives.
struct CaFile {
  explicit CaFile(const char* path) { ::setenv("SSL_CERT_FILE", path, 1); }
  ~CaFile() { ::unsetenv("SSL_CERT_FILE"); }
};

}  // namespace

TEST_CASE("load-worker: https keeps one verified connection alive across queries") {
  TlsServer server;
  CaFile ca(HEATBLAST_TEST_TLS_DIR "/cert.pem");
  load::WorkerOptions o;
  o.target = fmt::format("https://localhost:{}", server.port());
  o.queries = 20;
  auto figures = load::run_worker(o);
  REQUIRE(figures);
  CHECK(figures->queries == 20);
  CHECK(figures->errors == 0);
  CHECK(server.answered() == 20);
  CHECK(server.connections() == 1);
}

TEST_CASE("load-worker: https fails the queries when the certificate is not trusted") {
  TlsServer server;
  load::WorkerOptions o;
  o.target = fmt::format("https://localhost:{}", server.port());
  o.queries = 3;
  SECTION("no CA trusts it") {
    CaFile ca("/nonexistent/ca.pem");  // the system store does not have it either
    auto figures = load::run_worker(o);
    REQUIRE(figures);
    CHECK(figures->errors == 3);
  }
  SECTION("trusted, but not issued to the host the URL names") {
    CaFile ca(HEATBLAST_TEST_TLS_DIR "/cert.pem");
    o.target = fmt::format("https://127.0.0.1:{}", server.port());
    auto figures = load::run_worker(o);
    REQUIRE(figures);
    CHECK(figures->errors == 3);
  }
  CHECK(server.answered() == 0);
}
