// http::Client against a real loopback http::Server (and raw TCP peers for broken servers).
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>

#include "fakes/run_until.hpp"
#include "heatblast/http_client.hpp"
#include "heatblast/http_server.hpp"
#include "unit/http/raw_peer.hpp"

namespace {

using namespace std::chrono_literals;
using heatblast::errc;
using heatblast::Result;
using heatblast::testing::RawServer;
using heatblast::testing::run_until;
using namespace heatblast::http;

// A server whose handler the test sets, a client, and one io_context for both.
struct Loopback {
  explicit Loopback(ClientOptions client_options = {}, ServerOptions server_options = {})
      : server(io.get_executor(), server_options,
               [this](const ServerRequest& request, Responder responder) {
                 requests.push_back(request);
                 if (handle) handle(request, std::move(responder));
               }),
        client(std::make_unique<Client>(io.get_executor(), std::move(client_options))) {
    auto started = server.start();
    REQUIRE(started);
  }

  std::string url(std::string_view path) const {
    return fmt::format("http://127.0.0.1:{}{}", server.port(), path);
  }

  Request post(std::string_view path, std::string body = "{}") const {
    Request request;
    request.url = url(path);
    request.headers = {{"Content-Type", "application/json"}};
    request.body = std::move(body);
    return request;
  }

  // Sends and waits for the answer.
  Result<Response> send(Request request) {
    std::optional<Result<Response>> result;
    client->async_send(std::move(request), [&](Result<Response> r) { result = std::move(r); });
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    return std::move(*result);
  }

  boost::asio::io_context io;
  std::vector<ServerRequest> requests;
  std::function<void(const ServerRequest&, Responder)> handle;
  Server server;
  std::unique_ptr<Client> client;
};

// Everything a stream's callbacks saw, in order.
struct StreamLog {
  std::optional<Response> head;
  std::vector<std::string> pieces;
  std::string body;
  std::optional<Result<void>> end;
  int calls = 0;

  StreamHandlers handlers() {
    return {[this](const Response& h) {
              ++calls;
              head = h;
            },
            [this](std::string_view bytes) {
              ++calls;
              pieces.emplace_back(bytes);
              body.append(bytes);
            },
            [this](Result<void> e) {
              ++calls;
              end = std::move(e);
            }};
  }
};

std::set<std::string> header_names(const Headers& headers) {
  std::set<std::string> names;
  for (const auto& [name, value] : headers)
    names.insert(name);
  return names;
}

}  // namespace

TEST_CASE("POST sends the body and exactly the caller's headers", "[http][client]") {
  Loopback lo;
  lo.handle = [](const ServerRequest&, Responder r) { r.respond(202); };
  auto request = lo.post("/api/v1/scheduler", std::string(4096, 'j'));  // > 1 KiB: no Expect
  request.headers = {{"Content-Type", "application/json"},
                     {"Accept", "application/json"},
                     {"Mesos-Stream-Id", "0b2c-stream"},
                     {"Authorization", "Basic cHJpbmNpcGFsOnNlY3JldA=="}};
  auto result = lo.send(request);

  REQUIRE(result);
  CHECK(result->status == 202);
  CHECK(result->body.empty());
  REQUIRE(lo.requests.size() == 1);
  const auto& got = lo.requests[0];
  CHECK(got.method == "POST");
  CHECK(got.path == "/api/v1/scheduler");
  CHECK(got.body == request.body);
  CHECK(got.header("content-type") == "application/json");  // no "; charset=..."
  CHECK(got.header("Accept") == "application/json");
  CHECK(got.header("Mesos-Stream-Id") == "0b2c-stream");
  CHECK(got.header("Authorization") == "Basic cHJpbmNpcGFsOnNlY3JldA==");
  CHECK(got.header("Content-Length") == "4096");
  CHECK_FALSE(got.header("Expect"));
  CHECK_FALSE(got.header("Accept-Encoding"));
  CHECK_FALSE(got.header("Transfer-Encoding"));
  CHECK(header_names(got.headers) == std::set<std::string>{"Host", "Content-Type", "Accept",
                                                           "Mesos-Stream-Id", "Authorization",
                                                           "Content-Length"});
}

TEST_CASE("the client adds no Accept, Content-Type or User-Agent of its own", "[http][client]") {
  SECTION("none configured") {
    Loopback lo;
    lo.handle = [](const ServerRequest&, Responder r) { r.respond(200, {}, "ok"); };
    Request request;
    request.url = lo.url("/x");
    request.body = "abc";
    REQUIRE(lo.send(request));
    REQUIRE(lo.requests.size() == 1);
    CHECK(header_names(lo.requests[0].headers) == std::set<std::string>{"Host", "Content-Length"});
  }
  SECTION("a configured User-Agent, unless the request has one") {
    ClientOptions options;
    options.user_agent = "heatblast-test/1";
    Loopback lo(options);
    lo.handle = [](const ServerRequest&, Responder r) { r.respond(200); };
    Request request;
    request.method = "GET";
    request.url = lo.url("/x");
    REQUIRE(lo.send(request));
    request.headers = {{"User-Agent", "mine"}, {"X-Empty", ""}};
    REQUIRE(lo.send(request));
    REQUIRE(lo.requests.size() == 2);
    CHECK(lo.requests[0].header("User-Agent") == "heatblast-test/1");
    CHECK(lo.requests[1].header("User-Agent") == "mine");
    CHECK(lo.requests[1].header("X-Empty") == "");
  }
}

TEST_CASE("methods other than POST", "[http][client]") {
  Loopback lo;
  lo.handle = [](const ServerRequest& req, Responder r) {
    r.respond(200, {{"X-Method", req.method}}, req.method + ":" + req.body);
  };
  for (std::string method : {"GET", "DELETE", "PUT", "PATCH"}) {
    Request request;
    request.method = method;
    request.url = lo.url("/m");
    if (method == "PUT") request.body = "b";
    auto result = lo.send(request);
    REQUIRE(result);
    CHECK(result->body == method + ":" + (method == "PUT" ? "b" : ""));
  }
  Request head;
  head.method = "HEAD";
  head.url = lo.url("/m");
  auto result = lo.send(head);
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(result->body.empty());
  CHECK(result->header("Content-Length") == "5");  // "HEAD:" was not sent
}

TEST_CASE("4xx and 5xx are responses, not errors", "[http][client]") {
  Loopback lo;
  lo.handle = [](const ServerRequest& req, Responder r) {
    if (req.path == "/400") r.respond(400, {{"Content-Type", "text/plain"}}, "Failed to parse");
    if (req.path == "/503") r.respond(503, {}, "No leader elected");
    if (req.path == "/404") r.respond(404);
  };
  auto bad = lo.send(lo.post("/400"));
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body == "Failed to parse");
  CHECK(bad->header("CONTENT-TYPE") == "text/plain");
  auto unavailable = lo.send(lo.post("/503"));
  REQUIRE(unavailable);
  CHECK(unavailable->status == 503);
  CHECK(unavailable->body == "No leader elected");
  auto missing = lo.send(lo.post("/404"));
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("a 307 is returned to the caller, not followed", "[http][client]") {
  Loopback lo;
  lo.handle = [](const ServerRequest&, Responder r) {
    r.respond(307, {{"Location", "//leader.example:5050/api/v1/scheduler"}});
  };
  auto result = lo.send(lo.post("/api/v1/scheduler"));
  REQUIRE(result);
  CHECK(result->status == 307);
  CHECK(result->header("location") == "//leader.example:5050/api/v1/scheduler");
  CHECK(lo.requests.size() == 1);
}

TEST_CASE("a stream is delivered piece by piece as the server writes it", "[http][client]") {
  Loopback lo;
  StreamWriter writer;
  lo.handle = [&](const ServerRequest&, Responder r) {
    writer = r.start_stream(
        200, {{"Content-Type", "application/json"}, {"Mesos-Stream-Id", "stream-1"}});
  };
  StreamLog log;
  auto handlers = log.handlers();
  // Each server write happens only once the client has seen the previous piece: if pieces
  // were held back until the end, this test would time out.
  handlers.on_head = [&](const Response& head) {
    log.head = head;
    writer.write("20\n{\"type\":\"SUBSCRIBED\"}");
  };
  handlers.on_data = [&](std::string_view bytes) {
    log.pieces.emplace_back(bytes);
    log.body.append(bytes);
    if (log.pieces.size() == 1) writer.write("21\n{\"type\":\"HEARTBEAT\"}");
    if (log.pieces.size() == 2) writer.close();
  };
  bool server_saw_close = false;
  lo.client->async_stream(lo.post("/api/v1/scheduler"), handlers);
  REQUIRE(run_until(lo.io, [&] { return writer.open(); }));
  writer.on_close([&](Result<void> end) {
    CHECK(end);
    server_saw_close = true;
  });
  REQUIRE(run_until(lo.io, [&] { return log.end.has_value() && server_saw_close; }));

  REQUIRE(log.head);
  CHECK(log.head->status == 200);
  CHECK(log.head->header("Mesos-Stream-Id") == "stream-1");
  CHECK(log.head->header("Transfer-Encoding") == "chunked");
  CHECK(log.pieces ==
        std::vector<std::string>{"20\n{\"type\":\"SUBSCRIBED\"}", "21\n{\"type\":\"HEARTBEAT\"}"});
  CHECK(*log.end);  // the final chunk: a clean end
}

TEST_CASE("a stream the server drops fails on_end", "[http][client]") {
  boost::asio::io_context io;
  Client client(io.get_executor());
  Request request;
  request.url = "http://127.0.0.1:1/";  // replaced below

  SECTION("in the middle of a chunk") {
    RawServer raw(io, [](const std::string&) {
      return std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
    });
    request.url = fmt::format("http://127.0.0.1:{}/api/v1/scheduler", raw.port());
    StreamLog log;
    client.async_stream(request, log.handlers());
    REQUIRE(run_until(io, [&] { return log.end.has_value(); }));
    REQUIRE(log.head);
    CHECK(log.head->status == 200);
    CHECK(log.body == "hel");
    REQUIRE_FALSE(*log.end);
    CHECK(log.end->error().code == errc::transport_error);
    CHECK_THAT(log.end->error().message, Catch::Contains("curl error"));
  }
  SECTION("between chunks (StreamWriter::abort)") {
    StreamWriter writer;
    Server server(io.get_executor(), {}, [&](const ServerRequest&, Responder r) {
      writer = r.start_stream(200);
      writer.write("first");
    });
    REQUIRE(server.start());
    request.url = fmt::format("http://127.0.0.1:{}/", server.port());
    StreamLog log;
    auto handlers = log.handlers();
    handlers.on_data = [&](std::string_view bytes) {
      log.body.append(bytes);
      writer.abort();
    };
    std::optional<Result<void>> server_end;
    client.async_stream(request, handlers);
    REQUIRE(run_until(io, [&] { return writer.open(); }));
    writer.on_close([&](Result<void> end) { server_end = std::move(end); });
    REQUIRE(run_until(io, [&] { return log.end.has_value() && server_end.has_value(); }));
    CHECK(log.body == "first");
    REQUIRE_FALSE(*log.end);
    CHECK(log.end->error().code == errc::transport_error);
    REQUIRE_FALSE(*server_end);
    CHECK(server_end->error().code == errc::cancelled);
  }
}

TEST_CASE("transport errors map to errc", "[http][client]") {
  boost::asio::io_context io;
  Client client(io.get_executor());
  auto send = [&](Request request) {
    std::optional<Result<Response>> result;
    client.async_send(std::move(request), [&](Result<Response> r) { result = std::move(r); });
    REQUIRE(run_until(io, [&] { return result.has_value(); }));
    return std::move(*result);
  };

  SECTION("nothing listening: connection_refused") {
    std::uint16_t port = 0;
    {
      Server probe(io.get_executor(), {}, [](const ServerRequest&, Responder) {});
      REQUIRE(probe.start());
      port = probe.port();
    }  // the port is free again and nothing listens on it
    Request request;
    request.url = fmt::format("http://127.0.0.1:{}/", port);
    auto result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::connection_refused);
    CHECK_THAT(result.error().message, Catch::Contains("127.0.0.1"));
  }
  SECTION("no answer in time: timeout") {
    std::vector<Responder> held;
    Server server(io.get_executor(), {}, [&](const ServerRequest&, Responder r) {
      held.push_back(std::move(r));  // never answered
    });
    REQUIRE(server.start());
    Request request;
    request.url = fmt::format("http://127.0.0.1:{}/", server.port());
    request.timeout = 200ms;
    auto result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::timeout);
    CHECK(held.size() == 1);
  }
  SECTION("TLS to a plain HTTP server: tls_error") {
    Server server(io.get_executor(), {}, [](const ServerRequest&, Responder r) { r.respond(200); });
    REQUIRE(server.start());
    Request request;
    request.url = fmt::format("https://127.0.0.1:{}/", server.port());
    auto result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::tls_error);
  }
  SECTION("bad requests: invalid_argument, reported through the callback") {
    Request request;
    request.url = "ftp://127.0.0.1/";
    auto result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::invalid_argument);

    request.url = "http://127.0.0.1:1/";
    request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
    result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::invalid_argument);

    request.headers = {};
    request.method = "PO ST";
    result = send(request);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == errc::invalid_argument);

    Request stream_request;
    stream_request.url = "http://127.0.0.1:1/";
    stream_request.timeout = 1s;
    StreamLog log;
    client.async_stream(stream_request, log.handlers());
    REQUIRE(run_until(io, [&] { return log.end.has_value(); }));
    CHECK_FALSE(log.head);
    REQUIRE_FALSE(*log.end);
    CHECK(log.end->error().code == errc::invalid_argument);
  }
}

TEST_CASE("a response body over max_body_size is an error", "[http][client]") {
  ClientOptions options;
  options.max_body_size = 1000;
  Loopback lo(options);
  lo.handle = [](const ServerRequest& req, Responder r) {
    if (req.path == "/length") return void(r.respond(200, {}, std::string(2000, 'x')));
    if (req.path == "/fits") return void(r.respond(200, {}, std::string(1000, 'x')));
    auto writer = r.start_stream(200);  // chunked: no length known in advance
    writer.write(std::string(600, 'y'));
    writer.write(std::string(600, 'y'));
    writer.close();
  };
  auto by_length = lo.send(lo.post("/length"));
  REQUIRE_FALSE(by_length);
  CHECK(by_length.error().code == errc::body_too_large);
  auto chunked = lo.send(lo.post("/chunked"));
  REQUIRE_FALSE(chunked);
  CHECK(chunked.error().code == errc::body_too_large);
  CHECK_THAT(chunked.error().message, Catch::Contains("1000"));
  auto fits = lo.send(lo.post("/fits"));
  REQUIRE(fits);
  CHECK(fits->body.size() == 1000);
}

TEST_CASE("sequential requests reuse one connection", "[http][client]") {
  Loopback lo;
  lo.handle = [](const ServerRequest& req, Responder r) { r.respond(202, {}, req.body); };
  for (int i = 0; i < 5; ++i) {
    auto result = lo.send(lo.post("/api/v1/scheduler", fmt::format("{{\"n\":{}}}", i)));
    REQUIRE(result);
    CHECK(result->status == 202);
  }
  REQUIRE(lo.requests.size() == 5);
  CHECK(lo.server.accepted_connections() == 1);
  for (const auto& request : lo.requests)
    CHECK(request.peer == lo.requests[0].peer);
}

TEST_CASE("a stream and calls use separate connections", "[http][client]") {
  Loopback lo;
  StreamWriter writer;
  lo.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream") {
      writer = r.start_stream(200);
      writer.write("hello");
    } else {
      r.respond(202);
    }
  };
  StreamLog log;
  lo.client->async_stream(lo.post("/stream"), log.handlers());
  REQUIRE(run_until(lo.io, [&] { return log.body == "hello"; }));
  REQUIRE(lo.send(lo.post("/call")));
  REQUIRE(lo.send(lo.post("/call")));
  CHECK(lo.server.accepted_connections() == 2);
  CHECK(lo.requests[1].peer == lo.requests[2].peer);
  CHECK(lo.requests[0].peer != lo.requests[1].peer);
  CHECK_FALSE(log.end);
}

TEST_CASE("cancel() silences a request for good", "[http][client]") {
  Loopback lo;
  SECTION("a stream, after its head") {
    StreamWriter writer;
    lo.handle = [&](const ServerRequest&, Responder r) { writer = r.start_stream(200); };
    StreamLog log;
    RequestId id = 0;
    auto handlers = log.handlers();
    handlers.on_head = [&](const Response& head) {
      log.head = head;
      lo.client->cancel(id);
      writer.write("after cancel");  // may be in flight; must not reach the callbacks
    };
    id = lo.client->async_stream(lo.post("/s"), handlers);
    std::optional<Result<void>> server_end;
    REQUIRE(run_until(lo.io, [&] { return writer.open(); }));
    writer.on_close([&](Result<void> end) { server_end = std::move(end); });
    // The cancelled stream's connection is closed: the server notices.
    REQUIRE(run_until(lo.io, [&] { return server_end.has_value(); }));
    REQUIRE_FALSE(*server_end);
    CHECK(server_end->error().code == errc::transport_error);
    CHECK(log.head);
    CHECK(log.pieces.empty());
    CHECK_FALSE(log.end);
    CHECK(lo.client->in_flight() == 0);
  }
  SECTION("a call, while the server holds it, and one never started") {
    std::vector<Responder> held;
    lo.handle = [&](const ServerRequest&, Responder r) { held.push_back(std::move(r)); };
    int calls = 0;
    auto id = lo.client->async_send(lo.post("/held"), [&](Result<Response>) { ++calls; });
    auto never = lo.client->async_send(lo.post("/never"), [&](Result<Response>) { ++calls; });
    lo.client->cancel(never);
    REQUIRE(run_until(lo.io, [&] { return held.size() == 1; }));
    lo.client->cancel(id);
    lo.client->cancel(id);      // twice: ignored
    lo.client->cancel(123456);  // unknown: ignored
    held[0].respond(200, {}, "too late");
    // The server writes the answer, finds the peer gone, and closes.
    REQUIRE(run_until(lo.io, [&] { return lo.server.open_connections() == 0; }));
    CHECK(calls == 0);
    CHECK(lo.requests.size() == 1);
    lo.handle = [](const ServerRequest&, Responder r) { r.respond(200); };
    REQUIRE(lo.send(lo.post("/after")));
    CHECK(calls == 0);
  }
}

TEST_CASE("cancel() drops callbacks that are already due", "[http][client]") {
  boost::asio::io_context io;
  Client client(io.get_executor());
  // One write: head, whole body and end reach the client in one read, so on_data and on_end
  // are already queued when on_head runs and cancels.
  RawServer raw(io, [](const std::string&) {
    return std::string("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  });
  Request request;
  request.url = fmt::format("http://127.0.0.1:{}/", raw.port());
  StreamLog log;
  RequestId id = 0;
  auto handlers = log.handlers();
  handlers.on_head = [&](const Response& head) {
    log.head = head;
    client.cancel(id);
  };
  id = client.async_stream(request, handlers);
  REQUIRE(run_until(io, [&] { return log.head.has_value(); }));
  // A second request, started now, ends after whatever was queued for the first.
  std::optional<Result<Response>> second;
  client.async_send(request, [&](Result<Response> r) { second = std::move(r); });
  REQUIRE(run_until(io, [&] { return second.has_value(); }));
  REQUIRE(*second);
  CHECK((*second)->body == "hello");
  CHECK(log.head);
  CHECK(log.pieces.empty());
  CHECK_FALSE(log.end);
}

TEST_CASE("cancel_all() and destroying the Client with requests in flight", "[http][client]") {
  Loopback lo;
  StreamWriter writer;
  std::vector<Responder> held;
  lo.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream") {
      writer = r.start_stream(200);
      writer.write("x");
    } else {
      held.push_back(std::move(r));
    }
  };
  int calls = 0;
  StreamHandlers counting{[&](const Response&) { ++calls; }, [&](std::string_view) { ++calls; },
                          [&](Result<void>) { ++calls; }};
  bool head_seen = false;
  StreamHandlers watching = counting;
  watching.on_head = [&](const Response&) { head_seen = true; };

  SECTION("destroyed") {
    lo.client->async_stream(lo.post("/stream"), watching);
    lo.client->async_send(lo.post("/held"), [&](Result<Response>) { ++calls; });
    REQUIRE(run_until(lo.io, [&] { return head_seen && held.size() == 1; }));
    lo.client.reset();
    writer.write("more");
    held[0].respond(200);
    REQUIRE(run_until(lo.io, [&] { return lo.server.open_connections() == 0; }));
    CHECK(calls == 0);
  }
  SECTION("destroyed from inside its own callback") {
    auto handlers = watching;
    handlers.on_data = [&](std::string_view) { lo.client.reset(); };
    lo.client->async_stream(lo.post("/stream"), handlers);
    lo.client->async_send(lo.post("/held"), [&](Result<Response>) { ++calls; });
    REQUIRE(run_until(lo.io, [&] { return !lo.client && held.size() == 1; }));
    writer.write("more");
    held[0].respond(200);
    REQUIRE(run_until(lo.io, [&] { return lo.server.open_connections() == 0; }));
    CHECK(calls == 0);
  }
  SECTION("cancel_all, then the Client carries on") {
    lo.client->async_stream(lo.post("/stream"), watching);
    lo.client->async_send(lo.post("/held"), [&](Result<Response>) { ++calls; });
    REQUIRE(run_until(lo.io, [&] { return head_seen && held.size() == 1; }));
    lo.client->cancel_all();
    CHECK(lo.client->in_flight() == 0);
    held[0].respond(200);
    REQUIRE(run_until(lo.io, [&] { return lo.server.open_connections() == 0; }));
    CHECK(calls == 0);
    lo.handle = [](const ServerRequest&, Responder r) { r.respond(204); };
    auto result = lo.send(lo.post("/after"));
    REQUIRE(result);
    CHECK(result->status == 204);
  }
}

TEST_CASE("several streams and calls at once", "[http][client]") {
  Loopback lo;
  std::vector<StreamWriter> writers;
  lo.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream") {
      writers.push_back(r.start_stream(200));
      return;
    }
    // Answer later, from the executor.
    boost::asio::post(lo.io, [r = std::make_shared<Responder>(std::move(r)), body = req.body] {
      r->respond(200, {}, "echo " + body);
    });
  };
  constexpr int kStreams = 3;
  constexpr int kCalls = 10;
  std::vector<StreamLog> logs(kStreams);
  for (auto& log : logs)
    lo.client->async_stream(lo.post("/stream"), log.handlers());
  std::vector<std::optional<Result<Response>>> results(kCalls);
  for (int i = 0; i < kCalls; ++i)
    lo.client->async_send(lo.post("/call", std::to_string(i)),
                          [&, i](Result<Response> r) { results[i] = std::move(r); });
  CHECK(lo.client->in_flight() == kStreams + kCalls);

  REQUIRE(run_until(lo.io, [&] { return writers.size() == kStreams; }));
  for (int round = 0; round < 3; ++round)
    for (std::size_t s = 0; s < writers.size(); ++s)
      writers[s].write(fmt::format("[{}:{}]", s, round));
  for (auto& w : writers)
    w.close();
  REQUIRE(run_until(lo.io, [&] { return lo.client->in_flight() == 0; }));

  for (int i = 0; i < kCalls; ++i) {
    REQUIRE(results[i]);
    REQUIRE(*results[i]);
    CHECK((*results[i])->body == fmt::format("echo {}", i));
  }
  // Which log belongs to which writer depends on arrival order: compare as a set.
  std::set<std::string> bodies, expected;
  for (auto& log : logs) {
    REQUIRE(log.end);
    CHECK(*log.end);
    bodies.insert(log.body);
  }
  for (int s = 0; s < kStreams; ++s)
    expected.insert(fmt::format("[{0}:0][{0}:1][{0}:2]", s));
  CHECK(bodies == expected);
}

TEST_CASE("Server::stop() with open streams ends them on the client", "[http][client]") {
  Loopback lo;
  std::vector<StreamWriter> writers;
  lo.handle = [&](const ServerRequest&, Responder r) {
    writers.push_back(r.start_stream(200));
    writers.back().write("hi");
  };
  std::vector<StreamLog> logs(2);
  for (auto& log : logs)
    lo.client->async_stream(lo.post("/stream"), log.handlers());
  REQUIRE(run_until(lo.io, [&] { return logs[0].body == "hi" && logs[1].body == "hi"; }));
  int after_stop = 0;
  for (auto& w : writers)
    w.on_close([&](Result<void>) { ++after_stop; });
  lo.handle = [&](const ServerRequest&, Responder) { ++after_stop; };

  lo.server.stop();
  lo.server.stop();  // idempotent
  for (auto& w : writers) {
    CHECK_FALSE(w.open());
    CHECK_FALSE(w.write("late"));
  }
  REQUIRE(run_until(lo.io, [&] { return logs[0].end && logs[1].end; }));
  for (auto& log : logs) {
    REQUIRE_FALSE(*log.end);
    CHECK(log.end->error().code == errc::transport_error);
  }
  // Nothing listens any more.
  auto refused = lo.send(lo.post("/again"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == errc::connection_refused);
  CHECK(after_stop == 0);
}
