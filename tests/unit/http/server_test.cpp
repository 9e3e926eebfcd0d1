// http::Server seen from raw TCP clients (exact bytes) and from http::Client.
#include <memory>
#include <optional>
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
using heatblast::testing::RawClient;
using heatblast::testing::run_ready;
using heatblast::testing::run_until;
using namespace heatblast::http;

struct Fixture {
  explicit Fixture(ServerOptions options = {})
      : server(io.get_executor(), std::move(options),
               [this](const ServerRequest& request, Responder responder) {
                 requests.push_back(request);
                 if (handle) handle(request, std::move(responder));
               }) {
    REQUIRE(server.start());
  }

  boost::asio::io_context io;
  std::vector<ServerRequest> requests;
  std::function<void(const ServerRequest&, Responder)> handle;
  Server server;
};

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace

TEST_CASE("start(): ephemeral port, port taken, bad address, twice", "[http][server]") {
  boost::asio::io_context io;
  auto ignore = [](const ServerRequest&, Responder) {};
  Server first(io.get_executor(), {}, ignore);
  CHECK(first.port() == 0);
  REQUIRE(first.start());
  CHECK(first.port() != 0);

  auto again = first.start();
  REQUIRE_FALSE(again);
  CHECK(again.error().code == errc::invalid_argument);

  ServerOptions same;
  same.port = first.port();
  Server second(io.get_executor(), same, ignore);
  auto taken = second.start();
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == errc::address_in_use);
  CHECK_THAT(taken.error().message, Catch::Contains(std::to_string(first.port())));

  ServerOptions named;
  named.address = "localhost";
  Server third(io.get_executor(), named, ignore);
  auto bad = third.start();
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == errc::invalid_argument);

  first.stop();
  auto restarted = first.start();
  REQUIRE_FALSE(restarted);
}

TEST_CASE("the request as the handler sees it", "[http][server]") {
  Fixture f;
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200, {{"X-Answer", "42"}}, "ok"); };
  RawClient c(f.io, f.server.port());
  c.send(
      "POST /api/v1/scheduler?a=1&b=2 HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n1\r\n1\r\n1\r\n}\r\n0\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "\r\n\r\nok") == 1; }));
  REQUIRE(f.requests.size() == 1);
  const auto& r = f.requests[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/api/v1/scheduler?a=1&b=2");
  CHECK(r.path == "/api/v1/scheduler");
  CHECK(r.query == "a=1&b=2");
  CHECK(r.body == "{\"a\":1}");
  CHECK(r.header("CONTENT-TYPE") == "application/json");
  CHECK_FALSE(r.header("Content-Length"));
  CHECK_THAT(r.peer, Catch::StartsWith("127.0.0.1:"));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(c.received(), Catch::Contains("X-Answer: 42\r\n"));
  CHECK_THAT(c.received(), Catch::Contains("Content-Length: 2\r\n"));
}

TEST_CASE("keep-alive: several requests on one connection, answered in order", "[http][server]") {
  Fixture f;
  std::vector<Responder> held;
  f.handle = [&](const ServerRequest&, Responder r) { held.push_back(std::move(r)); };
  RawClient c(f.io, f.server.port());
  // Pipelined: both requests are sent before either is answered.
  c.send("GET /a HTTP/1.1\r\nHost: m\r\n\r\nGET /b HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return held.size() == 1; }));
  run_ready(f.io);
  CHECK(held.size() == 1);  // /b is not read before /a is answered
  // Answered later, from the executor.
  boost::asio::post(f.io, [&] { held[0].respond(200, {}, "answer-a"); });
  REQUIRE(run_until(f.io, [&] { return held.size() == 2; }));
  CHECK(f.requests[1].path == "/b");
  held[1].respond(200, {}, "answer-b");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "answer-") == 2; }));
  CHECK(c.received().find("answer-a") < c.received().find("answer-b"));
  CHECK_FALSE(c.eof());
  CHECK(f.server.accepted_connections() == 1);
  CHECK_FALSE(held[0].respond(200));  // once only
}

TEST_CASE("Connection: close and HTTP/1.0 end the connection after the answer", "[http][server]") {
  Fixture f;
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200, {}, "bye"); };
  RawClient c(f.io, f.server.port());
  c.send("GET / HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return c.eof(); }));
  CHECK_THAT(c.received(), Catch::Contains("Connection: close"));
  CHECK_THAT(c.received(), Catch::EndsWith("bye"));

  RawClient old(f.io, f.server.port());
  old.send("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return old.eof(); }));
  CHECK_THAT(old.received(), Catch::StartsWith("HTTP/1.0 200 OK\r\n"));
  CHECK_THAT(old.received(), Catch::EndsWith("bye"));
}

TEST_CASE("a handler's Connection: close ends a kept-alive connection", "[http][server]") {
  Fixture f;
  f.handle = [](const ServerRequest& request, Responder r) {
    if (request.path == "/last") return (void)r.respond(200, {{"Connection", "close"}}, "last");
    r.respond(200, {}, "more");
  };
  RawClient c(f.io, f.server.port());
  c.send("GET /first HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "more") == 1; }));
  CHECK_FALSE(c.eof());
  c.send("GET /last HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return c.eof(); }));
  CHECK(count(c.received(), "Connection: close") == 1);
  CHECK_THAT(c.received(), Catch::EndsWith("last"));
}

TEST_CASE("malformed requests get 400 and the connection closes", "[http][server]") {
  Fixture f;
  RawClient c(f.io, f.server.port());
  c.send("GET /\x01 HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return c.eof(); }));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(f.requests.empty());

  RawClient d(f.io, f.server.port());
  d.send("POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 12x\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return d.eof(); }));
  CHECK_THAT(d.received(), Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  CHECK(f.requests.empty());
}

TEST_CASE("body and header limits: 413 and 431", "[http][server]") {
  ServerOptions options;
  options.max_body_size = 1024;
  options.max_header_size = 512;
  Fixture f(options);
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200); };

  SECTION("413 through the Client, which still reads the answer") {
    Client client(f.io.get_executor());
    Request request;
    request.url = fmt::format("http://127.0.0.1:{}/", f.server.port());
    request.headers = {{"Content-Type", "application/json"}};
    request.body = std::string(64 * 1024, 'x');
    std::optional<Result<Response>> result;
    client.async_send(request, [&](Result<Response> r) { result = std::move(r); });
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    REQUIRE(*result);
    CHECK((*result)->status == 413);
    CHECK_THAT((*result)->body, Catch::Contains("1024"));
    CHECK(f.requests.empty());
  }
  SECTION("413 for a chunked body that grows past the limit") {
    RawClient c(f.io, f.server.port());
    c.send("POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
           std::string(1024, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n");
    REQUIRE(run_until(f.io, [&] { return c.eof(); }));
    CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
    CHECK(f.requests.empty());
  }
  SECTION("431") {
    RawClient c(f.io, f.server.port());
    c.send("GET / HTTP/1.1\r\nHost: m\r\nX-Big: " + std::string(1024, 'h') + "\r\n\r\n");
    REQUIRE(run_until(f.io, [&] { return c.eof(); }));
    CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 431 "));
  }
}

TEST_CASE("Expect: 100-continue gets an interim 100", "[http][server]") {
  Fixture f;
  f.handle = [](const ServerRequest& req, Responder r) { r.respond(200, {}, "got " + req.body); };
  RawClient c(f.io, f.server.port());
  c.send("POST / HTTP/1.1\r\nHost: m\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "100 Continue") == 1; }));
  CHECK(f.requests.empty());
  c.send("body");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "got body") == 1; }));
  CHECK_THAT(c.received(), Catch::StartsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"));
}

TEST_CASE("a handler that drops, throws or answers badly yields 500", "[http][server]") {
  Fixture f;
  f.handle = [](const ServerRequest& req, Responder r) {
    if (req.path == "/drop") return;
    if (req.path == "/throw") throw std::runtime_error("handler bug");
    if (req.path == "/status") r.respond(42);
    if (req.path == "/header") r.respond(200, {{"Bad\r\nName", "v"}});
  };
  Client client(f.io.get_executor());
  for (std::string path : {"/drop", "/throw", "/status", "/header"}) {
    Request request;
    request.method = "GET";
    request.url = fmt::format("http://127.0.0.1:{}{}", f.server.port(), path);
    std::optional<Result<Response>> result;
    client.async_send(request, [&](Result<Response> r) { result = std::move(r); });
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    INFO(path);
    REQUIRE(*result);
    CHECK((*result)->status == 500);
  }
  CHECK(f.server.accepted_connections() == 1);  // kept alive throughout
}

TEST_CASE("stream on_close: after close(), after the peer leaves, set late", "[http][server]") {
  Fixture f;
  StreamWriter writer;
  f.handle = [&](const ServerRequest&, Responder r) {
    writer = r.start_stream(200, {{"Content-Type", "application/json"}, {"Content-Length", "9"}});
  };
  RawClient c(f.io, f.server.port());
  c.send("POST /api/v1/scheduler HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return writer.open(); }));
  CHECK(writer.write("abc"));
  CHECK(writer.write(""));

  SECTION("close(): success, chunks on the wire, connection closed") {
    std::optional<Result<void>> end;
    writer.on_close([&](Result<void> e) { end = std::move(e); });
    writer.close();
    CHECK_FALSE(writer.write("after close"));
    REQUIRE(run_until(f.io, [&] { return end.has_value() && c.eof(); }));
    CHECK(*end);
    CHECK_FALSE(writer.open());
    const auto& got = c.received();
    CHECK_THAT(got, Catch::Contains("Transfer-Encoding: chunked\r\n"));
    CHECK_THAT(got, !Catch::Contains("Connection"));  // as a Mesos master sends it
    CHECK_THAT(got, !Catch::Contains("Content-Length"));
    CHECK_THAT(got, Catch::EndsWith("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
    // Set after the end: still called, once.
    int late = 0;
    writer.on_close([&](Result<void> e) {
      CHECK(e);
      ++late;
    });
    REQUIRE(run_until(f.io, [&] { return late == 1; }));
  }
  SECTION("the peer leaves: transport_error") {
    std::optional<Result<void>> end;
    writer.on_close([&](Result<void> e) { end = std::move(e); });
    c.close();
    REQUIRE(run_until(f.io, [&] { return end.has_value(); }));
    REQUIRE_FALSE(*end);
    CHECK(end->error().code == errc::transport_error);
    CHECK_FALSE(writer.open());
    CHECK_FALSE(writer.write("x"));
    CHECK(f.server.open_connections() == 0);
  }
}

TEST_CASE("a reader too slow for a stream is dropped, not buffered", "[http][server]") {
  ServerOptions options;
  options.max_stream_buffer = 64 * 1024;
  Fixture f(options);
  StreamWriter writer;
  f.handle = [&](const ServerRequest&, Responder r) { writer = r.start_stream(200); };
  RawClient slow(f.io, f.server.port(), /*read=*/false, /*receive_buffer=*/4096);
  slow.send("POST / HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return writer.open(); }));
  std::optional<Result<void>> end;
  writer.on_close([&](Result<void> e) { end = std::move(e); });

  const std::string piece(16 * 1024, 'p');
  std::size_t written = 0;
  for (int i = 0; i < 100000 && writer.write(piece); ++i) {
    written += piece.size();
    CHECK(writer.buffered() <= options.max_stream_buffer);
    run_ready(f.io);  // lets the writes that can go out, go out
  }
  CHECK_FALSE(writer.open());
  REQUIRE(run_until(f.io, [&] { return end.has_value(); }));
  REQUIRE_FALSE(*end);
  CHECK(end->error().code == errc::write_buffer_full);
  INFO("written before the drop: " << written);
  CHECK(written < 64u * 1024 * 1024);
}

TEST_CASE("header_timeout: a request that does not arrive in time closes the connection",
          "[http][server]") {
  ServerOptions options;
  options.header_timeout = 200ms;
  options.idle_timeout = 60s;
  Fixture f(options);
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200, {}, "ok"); };

  RawClient trickle(f.io, f.server.port());
  trickle.send("GET / HT");  // never finished
  RawClient silent(f.io, f.server.port());
  REQUIRE(run_until(f.io, [&] { return trickle.eof() && silent.eof(); }));
  CHECK(trickle.received().empty());
  CHECK(silent.received().empty());
  CHECK(f.requests.empty());

  // A kept-alive connection may wait idle_timeout, not header_timeout, for its next request:
  // it outlives a newer connection that never sends.
  RawClient kept(f.io, f.server.port());
  kept.send("GET /a HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return count(kept.received(), "\r\n\r\nok") == 1; }));
  RawClient later(f.io, f.server.port());
  REQUIRE(run_until(f.io, [&] { return later.eof(); }));
  CHECK_FALSE(kept.eof());
  // Once its next request has begun, that request must arrive within header_timeout.
  kept.send("GET /b HT");
  REQUIRE(run_until(f.io, [&] { return kept.eof(); }));
  CHECK(f.requests.size() == 1);
}

TEST_CASE("idle_timeout closes a kept-alive connection, a stream is exempt", "[http][server]") {
  ServerOptions options;
  options.header_timeout = 200ms;
  options.idle_timeout = 200ms;
  Fixture f(options);
  StreamWriter writer;
  f.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream")
      writer = r.start_stream(200);
    else
      r.respond(200, {}, "ok");
  };
  RawClient stream(f.io, f.server.port());
  stream.send("POST /stream HTTP/1.1\r\nHost: m\r\n\r\n");
  RawClient kept(f.io, f.server.port());
  kept.send("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return writer.open() && kept.eof(); }));
  CHECK(count(kept.received(), "\r\n\r\nok") == 1);
  // Well past both timeouts (a new silent connection is closed after header_timeout, twice).
  for (int i = 0; i < 2; ++i) {
    RawClient silent(f.io, f.server.port());
    REQUIRE(run_until(f.io, [&] { return silent.eof(); }));
  }
  CHECK(writer.open());
  CHECK(writer.write("still here"));
  REQUIRE(run_until(f.io, [&] { return count(stream.received(), "still here") == 1; }));
  CHECK_FALSE(stream.eof());
}

TEST_CASE("max_connections: idle connections make room, then 429, streams are never dropped",
          "[http][server]") {
  ServerOptions options;
  options.max_connections = 4;
  std::vector<std::string> logged;
  options.log = [&](std::string_view line) { logged.emplace_back(line); };
  Fixture f(options);
  std::vector<StreamWriter> writers;
  std::vector<Responder> held;
  f.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream")
      writers.push_back(r.start_stream(200));
    else if (req.path == "/held")
      held.push_back(std::move(r));
    else
      r.respond(200, {}, "ok");
  };
  // Two streams, one request waiting for its answer, one kept-alive idle connection.
  std::vector<std::unique_ptr<RawClient>> clients;
  for (const char* path : {"/stream", "/stream", "/held", "/"}) {
    clients.push_back(std::make_unique<RawClient>(f.io, f.server.port()));
    clients.back()->send(fmt::format("GET {} HTTP/1.1\r\nHost: m\r\n\r\n", path));
  }
  auto& idle = *clients[3];
  REQUIRE(run_until(f.io, [&] {
    return writers.size() == 2 && held.size() == 1 && count(idle.received(), "ok") == 1;
  }));
  run_ready(f.io);  // the server's own completion of the answer to `idle`, if not run yet
  CHECK(f.server.open_connections() == 4);

  // The fifth takes the idle connection's place.
  RawClient fifth(f.io, f.server.port());
  fifth.send("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return count(fifth.received(), "ok") == 1 && idle.eof(); }));
  run_ready(f.io);
  CHECK(f.server.refused_connections() == 0);

  // Now the fifth is the idle one; a sixth takes its place and holds it with a request that
  // has begun (never closed to make room).
  RawClient sixth(f.io, f.server.port());
  sixth.send("GET /sl");
  REQUIRE(run_until(f.io, [&] { return fifth.eof(); }));
  // Nothing idle remains: the next ones are refused with 429, and logged once.
  std::vector<std::unique_ptr<RawClient>> refused;
  for (int i = 0; i < 5; ++i) {
    refused.push_back(std::make_unique<RawClient>(f.io, f.server.port()));
    refused.back()->send("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
  }
  REQUIRE(run_until(f.io, [&] {
    for (const auto& c : refused)
      if (!c->eof()) return false;
    return true;
  }));
  for (const auto& c : refused) {
    CHECK_THAT(c->received(), Catch::StartsWith("HTTP/1.1 429 Too Many Requests\r\n"));
    CHECK_THAT(c->received(), Catch::Contains("Connection: close\r\n"));
    CHECK_THAT(c->received(), Catch::Contains("Retry-After: 1\r\n"));
  }
  CHECK(f.server.refused_connections() == 5);
  REQUIRE(logged.size() == 1);
  CHECK_THAT(logged[0], Catch::Contains("refused") && Catch::Contains("max_connections"));
  CHECK(f.server.open_connections() == 4);

  // The streams and the held request were untouched throughout.
  for (auto& w : writers)
    CHECK(w.write("alive"));
  CHECK(held[0].respond(200, {}, "late"));
  REQUIRE(run_until(f.io, [&] {
    return count(clients[0]->received(), "alive") == 1 &&
           count(clients[1]->received(), "alive") == 1 &&
           count(clients[2]->received(), "late") == 1;
  }));
  CHECK(f.requests.size() == 5);  // the refused ones never reached the handler
}

TEST_CASE("max_connections: connections that send nothing give way after a while",
          "[http][server]") {
  ServerOptions options;
  options.max_connections = 3;
  Fixture f(options);
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200, {}, "ok"); };
  // Taken before the connections exist: the server times their silence from its accept, which
  // comes later, so the oldest cannot give way less than half a second after this.
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<RawClient>> silent;
  for (int i = 0; i < 3; ++i)
    silent.push_back(std::make_unique<RawClient>(f.io, f.server.port()));
  REQUIRE(run_until(f.io, [&] { return f.server.open_connections() == 3; }));
  // A client with a request is refused while the silent ones are new, and served once the
  // oldest has been silent long enough (half a second), which is closed for it.
  int attempts = 0;
  std::unique_ptr<RawClient> client;
  REQUIRE(run_until(
      f.io,
      [&] {
        if (client && count(client->received(), "\r\n\r\nok") == 1) return true;
        if (!client || client->eof()) {
          ++attempts;
          client = std::make_unique<RawClient>(f.io, f.server.port());
          client->send("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
        }
        return false;
      },
      5s));
  CHECK(std::chrono::steady_clock::now() - start >= 500ms);
  CHECK(attempts >= 2);
  CHECK(f.server.refused_connections() == static_cast<std::uint64_t>(attempts - 1));
  CHECK(silent[0]->eof());
  CHECK_FALSE(silent[2]->eof());
}

namespace {

// Sends `bytes` on a new connection and returns everything received until the server closes.
std::string send_and_read(Fixture& f, const std::string& bytes) {
  RawClient c(f.io, f.server.port());
  c.send(bytes);
  REQUIRE(run_until(f.io, [&] { return c.eof(); }));
  return c.received();
}

}  // namespace

TEST_CASE("RFC 9112 framing: ambiguous requests get 400 (or 501) and the connection closes",
          "[http][server][framing]") {
  Fixture f;
  f.handle = [](const ServerRequest& req, Responder r) { r.respond(200, {}, "got:" + req.body); };
  struct Case {
    const char* what;
    std::string request;
    const char* status_line;
  };
  const std::string body = "\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  const std::vector<Case> cases = {
      {"TE not ending in chunked", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: gzip" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"chunked, gzip", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked, gzip" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"chunked then gzip in two fields",
       "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"an empty TE", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: " + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"chunked twice", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked, chunked" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"a coding before chunked",
       "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: gzip, chunked" + body,
       "HTTP/1.1 501 Not Implemented\r\n"},
      {"TE then Content-Length",
       "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\nContent-Length: 5" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"Content-Length then TE",
       "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nTransfer-Encoding: chunked" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"TE gzip and Content-Length",
       "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"two differing Content-Length",
       "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"a Content-Length list that differs",
       "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5, 6\r\n\r\nhello!",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: m\r\nX-Long: a\r\n b\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
      {"obs-fold with a tab hiding TE",
       "POST / HTTP/1.1\r\nHost: m\r\nX-Note: x\r\n\tTransfer-Encoding: chunked" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"a folded TE value", "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding:\r\n chunked" + body,
       "HTTP/1.1 400 Bad Request\r\n"},
      {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: m\r\n\r\n",
       "HTTP/1.1 400 Bad Request\r\n"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto got = send_and_read(f, c.request);
    CHECK_THAT(got, Catch::StartsWith(c.status_line));
    CHECK(count(got, "HTTP/1.1 ") == 1);
    CHECK_THAT(got, Catch::Contains("Connection: close\r\n"));
  }
  CHECK(f.requests.empty());
}

TEST_CASE("RFC 9112 framing: what is unambiguous is served", "[http][server][framing]") {
  Fixture f;
  f.handle = [](const ServerRequest& req, Responder r) { r.respond(200, {}, "got:" + req.body); };
  // Identical Content-Length values are one value (RFC 9110 section 8.6 lets a recipient take
  // them so); the connection stays open and the next request is read.
  RawClient c(f.io, f.server.port());
  c.send(
      "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
      "POST / HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 3, 3\r\n\r\nabc");
  REQUIRE(run_until(f.io, [&] { return count(c.received(), "got:") == 3; }));
  CHECK_THAT(c.received(), Catch::Contains("got:hello"));
  CHECK_THAT(c.received(), Catch::Contains("got:hi"));
  CHECK_THAT(c.received(), Catch::EndsWith("got:abc"));
  CHECK_FALSE(c.eof());
  REQUIRE(f.requests.size() == 3);
  // A body that holds "\r\n " is a body, not a folded header.
  RawClient d(f.io, f.server.port());
  d.send("POST / HTTP/1.1\r\nHost: m\r\nContent-Length: 4\r\n\r\n\r\n x");
  REQUIRE(run_until(f.io, [&] { return count(d.received(), "got:\r\n x") == 1; }));
}

TEST_CASE("request smuggling: a hidden second request in a TE body is never answered",
          "[http][server][framing]") {
  Fixture f;
  f.handle = [](const ServerRequest&, Responder r) { r.respond(200, {}, "ok"); };
  const std::string hidden =
      "POST /admin/fault HTTP/1.1\r\nHost: m\r\nContent-Length: 7\r\n\r\ndelay=1";
  for (const char* te : {"gzip", "chunked, gzip", "identity"}) {
    INFO(te);
    const auto got = send_and_read(f, fmt::format("POST /health HTTP/1.1\r\nHost: m\r\nTransfer-"
                                                  "Encoding: {}\r\n\r\n{}",
                                                  te, hidden));
    CHECK_THAT(got, Catch::StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    CHECK(count(got, "HTTP/1.1 ") == 1);
  }
  CHECK(f.requests.empty());
}

TEST_CASE("after a stream, the connection carries nothing else", "[http][server]") {
  Fixture f;
  StreamWriter writer;
  f.handle = [&](const ServerRequest& req, Responder r) {
    if (req.path == "/stream")
      writer = r.start_stream(200);
    else
      r.respond(200, {}, "second answer");
  };
  RawClient c(f.io, f.server.port());
  c.send("POST /stream HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return writer.open(); }));
  c.send("GET /next HTTP/1.1\r\nHost: m\r\n\r\n");  // pipelined behind the stream
  CHECK(writer.write("abc"));
  writer.close();
  REQUIRE(run_until(f.io, [&] { return c.eof(); }));
  CHECK_THAT(c.received(), Catch::EndsWith("3\r\nabc\r\n0\r\n\r\n"));
  CHECK_THAT(c.received(), !Catch::Contains("second answer"));
  CHECK(f.requests.size() == 1);
}

TEST_CASE("stop() closes everything and calls nothing afterwards", "[http][server]") {
  Fixture f;
  std::vector<Responder> held;
  StreamWriter writer;
  int calls = 0;
  f.handle = [&](const ServerRequest& req, Responder r) {
    ++calls;
    if (req.path == "/stream") {
      writer = r.start_stream(200);
      writer.on_close([&](Result<void>) { ++calls; });
    } else {
      held.push_back(std::move(r));
    }
  };
  RawClient streaming(f.io, f.server.port());
  streaming.send("POST /stream HTTP/1.1\r\nHost: m\r\n\r\n");
  RawClient waiting(f.io, f.server.port());
  waiting.send("GET /held HTTP/1.1\r\nHost: m\r\n\r\n");
  RawClient idle(f.io, f.server.port());
  REQUIRE(run_until(f.io, [&] { return writer.open() && held.size() == 1 && idle.connected(); }));
  REQUIRE(run_until(f.io, [&] { return f.server.open_connections() == 3; }));
  CHECK(calls == 2);

  f.server.stop();
  CHECK(f.server.open_connections() == 0);
  CHECK_FALSE(writer.open());
  CHECK_FALSE(held[0].pending());
  CHECK_FALSE(held[0].respond(200));
  idle.send("GET / HTTP/1.1\r\nHost: m\r\n\r\n");
  REQUIRE(run_until(f.io, [&] { return streaming.eof() && waiting.eof() && idle.eof(); }));
  CHECK(calls == 2);
  f.server.stop();
}

TEST_CASE("a StreamWriter and a Responder outlive their Server", "[http][server]") {
  boost::asio::io_context io;
  StreamWriter writer;
  std::optional<Responder> held;
  {
    Server server(io.get_executor(), {}, [&](const ServerRequest& req, Responder r) {
      if (req.path == "/stream")
        writer = r.start_stream(200);
      else
        held.emplace(std::move(r));
    });
    REQUIRE(server.start());
    RawClient a(io, server.port());
    a.send("GET /stream HTTP/1.1\r\nHost: m\r\n\r\n");
    RawClient b(io, server.port());
    b.send("GET /held HTTP/1.1\r\nHost: m\r\n\r\n");
    REQUIRE(run_until(io, [&] { return writer.open() && held.has_value(); }));
  }
  CHECK_FALSE(writer.open());
  CHECK_FALSE(writer.write("x"));
  writer.close();
  writer.abort();
  CHECK_FALSE(held->respond(200));
  CHECK_FALSE(held->start_stream(200).open());
  held.reset();
  run_ready(io);
}
