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
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_server.hpp"

namespace load = heatblast::load;
namespace http = heatblast::http;

namespace {

// An HTTP target and a report endpoint on one loopback server, served by a thread of its own.
class TestServer {
 public:
  explicit TestServer(bool fail_every_other = false) : fail_every_other_(fail_every_other) {
    server_ = std::make_unique<http::Server>(
        io_.get_executor(), http::ServerOptions{},
        [this](const http::ServerRequest& r, http::Responder w) {
          if (r.path == "/figures") {
            std::lock_guard lock(mutex_);
            reports_.push_back(r.query + "\n" + r.body);
            w.respond(200);
            return;
          }
          const auto n = ++received_;
          std::lock_guard lock(mutex_);
          last_method_ = r.method;
          last_path_ = r.path;
          last_body_ = r.body;
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
  std::vector<std::string> reports() {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::mutex mutex_;
  std::string last_method_, last_path_, last_body_;

 private:
  std::uint16_t port_() const {
    return port_value_ ? port_value_ : (port_value_ = server_->port());
  }
  bool fail_every_other_;
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
  }
  const auto reports = server.reports();
  REQUIRE_FALSE(reports.empty());
  const auto& final_report = reports.back();
  CHECK(final_report.rfind("task=chunk-1&final=1\n", 0) == 0);
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
