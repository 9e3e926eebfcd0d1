// local-master as clients written against a real Mesos master see it, byte by byte: one event
// per HTTP chunk, Mesos's headers and status codes, the read-only endpoints, the sandbox file
// API, and a third-party-style client that subscribes, reads offer.url and launches a task.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "support/local_master_fixture.hpp"
#include "support/test_framework.hpp"
#include "unit/http/raw_peer.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::testing::LocalMaster;
using heatblast::testing::LocalMasterConfig;
using heatblast::testing::RawClient;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;

namespace {

// One HTTP/1.1 response read from raw bytes, its chunked body kept chunk by chunk as framed.
struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> chunks;  // chunked body: each chunk's payload, in order
  std::string body;                 // Content-Length body
  bool head_complete = false;
  bool body_complete = false;  // Content-Length body all there, or the final chunk seen
  std::size_t consumed = 0;    // bytes of the input this response took (when complete)

  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return value;
      }
    }
    return std::nullopt;
  }
};

// Parses as much of one response as `bytes` holds. Malformed framing fails the test.
RawResponse parse_response(std::string_view bytes) {
  RawResponse response;
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return response;
  response.head_complete = true;
  std::string_view head = bytes.substr(0, head_end);
  const auto line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  REQUIRE(status_line.starts_with("HTTP/1.1 "));
  response.status = std::stoi(std::string(status_line.substr(9, 3)));
  head = line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 2);
  while (!head.empty()) {
    const auto end = head.find("\r\n");
    const std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 2);
    const auto colon = line.find(':');
    REQUIRE(colon != std::string_view::npos);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
    response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  std::size_t at = head_end + 4;
  if (auto length = response.header("Content-Length")) {
    const std::size_t size = std::stoul(*length);
    if (bytes.size() - at >= size) {
      response.body = std::string(bytes.substr(at, size));
      response.body_complete = true;
      response.consumed = at + size;
    }
    return response;
  }
  REQUIRE(response.header("Transfer-Encoding") == "chunked");
  while (true) {
    const auto size_end = bytes.find("\r\n", at);
    if (size_end == std::string_view::npos) return response;
    const std::size_t size = std::stoul(std::string(bytes.substr(at, size_end - at)), nullptr, 16);
    if (bytes.size() < size_end + 2 + size + 2) return response;
    REQUIRE(bytes.substr(size_end + 2 + size, 2) == "\r\n");
    at = size_end + 2 + size + 2;
    if (size == 0) {
      response.body_complete = true;
      response.consumed = at;
      return response;
    }
    response.chunks.emplace_back(bytes.substr(size_end + 2, size));
  }
}

// The one RecordIO record a chunk must hold: "<length>\n<length bytes>", nothing more.
std::string single_record(const std::string& chunk) {
  const auto newline = chunk.find('\n');
  INFO("chunk: " << chunk);
  REQUIRE(newline != std::string::npos);
  REQUIRE(newline > 0);
  REQUIRE(chunk.find_first_not_of("0123456789") == newline);
  const std::size_t length = std::stoul(chunk.substr(0, newline));
  REQUIRE(chunk.size() - newline - 1 == length);
  return chunk.substr(newline + 1);
}

rapidjson::Document parse_json(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  INFO("JSON: " << text);
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

std::string post(std::string_view body, std::string_view content_type = "application/json",
                 std::string_view extra_headers = "") {
  return fmt::format(
      "POST /api/v1/scheduler HTTP/1.1\r\nHost: master\r\nContent-Type: {}\r\n"
      "Content-Length: {}\r\n{}\r\n{}",
      content_type, body.size(), extra_headers, body);
}

std::string subscribe_request(std::string_view accept) {
  return post(
      R"({"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"compat","name":"compat"}}})",
      "application/json", fmt::format("Accept: {}\r\n", accept));
}

std::string get(std::string_view target) {
  return fmt::format("GET {} HTTP/1.1\r\nHost: master\r\n\r\n", target);
}

// A raw connection to the leader, and the responses on it so far.
struct Connection {
  boost::asio::io_context& io;
  RawClient client;

  Connection(boost::asio::io_context& io, LocalMaster& master)
      : io(io), client(io, master.server().ports().at(0)) {}

  // The `index`-th response on this connection (0-based), waiting until it is complete.
  RawResponse response(std::size_t index, std::chrono::milliseconds limit = 5s) {
    RawResponse found;
    wait_for(
        io, fmt::format("response #{}", index),
        [&] {
          std::string_view rest = client.received();
          for (std::size_t i = 0;; ++i) {
            RawResponse next = parse_response(rest);
            if (i == index) {
              found = next;
              return next.body_complete;
            }
            if (!next.body_complete) return false;
            rest.remove_prefix(next.consumed);
          }
        },
        limit, [&] { return "received: " + client.received(); });
    return found;
  }

  // The stream response (the first on this connection) once it holds `chunks` chunks.
  RawResponse stream(std::size_t chunks, std::chrono::milliseconds limit = 5s) {
    RawResponse found;
    wait_for(
        io, fmt::format("{} chunks of the stream", chunks),
        [&] {
          found = parse_response(client.received());
          return found.chunks.size() >= chunks;
        },
        limit, [&] { return "received: " + client.received(); });
    return found;
  }
};

}  // namespace

TEST_CASE("the event stream: every event is its own HTTP chunk, the first ones too",
          "[integration][stream]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  const bool json = GENERATE(true, false);
  INFO((json ? "JSON" : "protobuf"));
  Connection stream(io, master);
  stream.client.send(subscribe_request(json ? "application/json" : "application/x-protobuf"));
  // SUBSCRIBED and the first HEARTBEAT are queued before the stream exists; OFFERS and the next
  // HEARTBEATs come later.
  const RawResponse response = stream.stream(5);
  CHECK(response.status == 200);
  std::vector<std::string> types;
  for (const auto& chunk : response.chunks) {
    const std::string record = single_record(chunk);
    if (json) {
      types.emplace_back(parse_json(record)["type"].GetString());
    } else {
      mesos::v1::scheduler::Event event;
      REQUIRE(event.ParseFromString(record));
      types.push_back(mesos::v1::scheduler::Event::Type_Name(event.type()));
    }
  }
  REQUIRE(types.size() >= 3);
  CHECK(types[0] == "SUBSCRIBED");
  CHECK(types[1] == "HEARTBEAT");
  CHECK(std::find(types.begin(), types.end(), "OFFERS") != types.end());
}

TEST_CASE("headers and status codes as a Mesos master sends them", "[integration][headers]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  Connection stream(io, master);
  stream.client.send(subscribe_request("application/json"));
  const RawResponse subscribed = stream.stream(1);
  CHECK(subscribed.status == 200);
  CHECK(subscribed.header("Content-Type") == "application/json");
  REQUIRE(subscribed.header("Mesos-Stream-Id"));
  CHECK(subscribed.header("Mesos-Stream-Id")->size() == 36);
  CHECK(subscribed.header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(subscribed.header("Content-Length"));
  const auto subscribed_event = parse_json(single_record(subscribed.chunks.at(0)));
  const std::string framework_id =
      subscribed_event["subscribed"]["framework_id"]["value"].GetString();

  // Calls on one kept-alive connection.
  Connection calls(io, master);
  const std::string revive =
      fmt::format(R"({{"type":"REVIVE","framework_id":{{"value":"{}"}}}})", framework_id);
  calls.client.send(
      post(revive, "application/json",
           fmt::format("Mesos-Stream-Id: {}\r\n", *subscribed.header("Mesos-Stream-Id"))));
  calls.client.send(post(revive, "application/json", "Mesos-Stream-Id: not-the-stream\r\n"));
  calls.client.send(post(revive, "text/plain"));
  calls.client.send(get("/api/v1/scheduler"));
  calls.client.send(get("/no/such/endpoint"));
  calls.client.send(get("/master/state"));
  calls.client.send(get("/master/health"));

  const RawResponse accepted = calls.response(0);
  CHECK(accepted.status == 202);
  CHECK_FALSE(accepted.header("Content-Type"));
  CHECK(accepted.header("Content-Length") == "0");

  const RawResponse wrong_stream = calls.response(1);
  INFO("received: " << calls.client.received());
  CHECK(wrong_stream.status == 400);
  CHECK(wrong_stream.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK_THAT(wrong_stream.body, Catch::Contains("didn't match the stream ID"));

  const RawResponse unsupported = calls.response(2);
  CHECK(unsupported.status == 415);
  CHECK(unsupported.header("Content-Type") == "text/plain; charset=utf-8");

  const RawResponse not_allowed = calls.response(3);
  CHECK(not_allowed.status == 405);
  CHECK(not_allowed.header("Allow") == "POST");
  CHECK(not_allowed.body == "Expecting one of { 'POST' }, but received 'GET'");

  const RawResponse not_found = calls.response(4);
  CHECK(not_found.status == 404);
  CHECK(not_found.body.empty());
  CHECK_FALSE(not_found.header("Content-Type"));

  const RawResponse state = calls.response(5);
  CHECK(state.status == 200);
  CHECK(state.header("Content-Type") == "application/json");
  CHECK(parse_json(state.body)["frameworks"].Size() == 1);

  const RawResponse health = calls.response(6);
  CHECK(health.status == 200);
  CHECK(health.body.empty());
  CHECK_FALSE(calls.client.eof());

  // Every refusal left a trace, with its status and reason.
  INFO(master.log_tail(30));
  CHECK(master.logged("POST /api/v1/scheduler ('REVIVE' call) from 127.0.0.1:"));
  CHECK(master.logged(": 400: The stream ID 'not-the-stream' included in this request"));
  CHECK(master.logged(": 415: Expecting 'Content-Type' of application/json"));
  CHECK(master.logged("GET /no/such/endpoint from 127.0.0.1:"));
}

TEST_CASE("tools' endpoints and the sandbox file API over HTTP", "[integration][endpoints]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  TestFramework fw(io, {master.address(0)}, ContentType::json);
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  // The agent's address is where local-master serves its endpoints.
  CHECK(offer.url().address().ip() == "127.0.0.1");
  CHECK(offer.url().address().port() == master.server().ports().at(0));
  CHECK(offer.url().path() == "/slave(1)");
  fw.launch(offer, {fw.command_task("echo", "echo hello-sandbox", offer)});
  fw.wait_task_state("echo", mesos::v1::TASK_FINISHED);
  // Acknowledged, the task moves to the completed ones.
  wait_for(
      io, "the task to complete",
      [&] {
        const auto snapshot = master.master().snapshot();
        return !snapshot.frameworks.empty() && !snapshot.frameworks[0].completed_tasks.empty();
      },
      5s, [&] { return master.log_tail(); });
  const std::string sandbox = master.master().snapshot().frameworks[0].completed_tasks[0].sandbox;

  auto tasks = parse_json(master.get("/master/tasks").body);
  REQUIRE(tasks["tasks"].Size() == 1);
  CHECK(tasks["tasks"][0]["state"].GetString() == std::string("TASK_FINISHED"));
  auto frameworks = parse_json(master.get("/master/frameworks").body);
  CHECK(frameworks["frameworks"][0]["completed_tasks"].Size() == 1);
  auto slaves = parse_json(master.get("/master/slaves").body);
  CHECK(slaves["slaves"][0]["pid"].GetString() ==
        fmt::format("slave(1)@127.0.0.1:{}", master.server().ports().at(0)));
  auto state = parse_json(master.get("/master/state.json").body);
  CHECK(state["version"].GetString() == std::string("1.12.0"));
  auto version = master.get("/version");
  CHECK(version.status == 200);
  CHECK(parse_json(version.body)["version"].GetString() == std::string("1.12.0"));
  auto metrics = parse_json(master.get("/metrics/snapshot").body);
  CHECK(metrics["master/tasks_finished"].GetDouble() == 1.0);
  CHECK(metrics["master/frameworks_active"].GetDouble() == 1.0);
  CHECK(metrics["master/messages_launch_tasks"].GetDouble() == 1.0);

  // The agent's own endpoints, at offer.url: its state leads to the task's sandbox.
  CHECK(master.get(offer.url().path() + "/health").status == 200);
  auto agent = parse_json(master.get(offer.url().path() + "/state").body);
  CHECK(agent["id"].GetString() == offer.agent_id().value());
  REQUIRE(agent["frameworks"].Size() == 1);
  const auto& executor = agent["frameworks"][0]["completed_executors"][0];
  CHECK(executor["id"].GetString() == std::string("echo"));
  CHECK(executor["directory"].GetString() == sandbox);

  auto listing = master.get("/files/browse?path=" + sandbox);
  CHECK(listing.status == 200);
  CHECK_THAT(listing.body, Catch::Contains(fmt::format("\"path\":\"{}/stdout\"", sandbox)));
  auto read = master.get(fmt::format("/files/read?path={}%2Fstdout&offset=0", sandbox));
  CHECK(read.status == 200);
  CHECK(parse_json(read.body)["data"].GetString() == std::string("hello-sandbox\n"));
  CHECK(master.get("/files/read?path=/etc/passwd&offset=0").status == 404);
  CHECK(master.get("/files/browse?path=" + sandbox + "/../../../../../../..").status == 400);
  CHECK(master.get("/files/read?path=" + sandbox + "%2F..%2F..%2Fx&offset=0").status == 400);
  CHECK(master.get("/files/read?path=%zz").status == 400);
}

namespace {

// A client as people write them against Mesos: it reads the stream chunk by chunk, parses each
// chunk as one JSON event, takes the agent's address from offer.url, and sends its calls on one
// kept-alive connection.
struct ThirdPartyClient {
  boost::asio::io_context& io;
  LocalMaster& master;
  Connection stream{io, master};
  std::optional<Connection> calls;
  std::string stream_id;
  std::string framework_id;
  std::size_t events_read = 0;
  std::size_t calls_sent = 0;

  ThirdPartyClient(boost::asio::io_context& io, LocalMaster& master) : io(io), master(master) {}

  void subscribe() {
    stream.client.send(subscribe_request("application/json"));
    const RawResponse response = stream.stream(1);
    REQUIRE(response.status == 200);
    stream_id = response.header("Mesos-Stream-Id").value_or("");
    auto subscribed = next_event("SUBSCRIBED");
    framework_id = subscribed["subscribed"]["framework_id"]["value"].GetString();
  }

  // The next event of `type`, each chunk parsed on its own as one JSON document.
  rapidjson::Document next_event(std::string_view type) {
    while (true) {
      const RawResponse response = stream.stream(events_read + 1);
      const std::string& chunk = response.chunks.at(events_read++);
      auto event = parse_json(single_record(chunk));
      if (event["type"].GetString() == type) return event;
    }
  }

  // POSTs `call` on the calls connection and returns the answer.
  RawResponse call(const std::string& json) {
    if (!calls) calls.emplace(io, master);
    calls->client.send(
        post(json, "application/json", fmt::format("Mesos-Stream-Id: {}\r\n", stream_id)));
    return calls->response(calls_sent++);
  }
};

}  // namespace

TEST_CASE("a third-party client: one JSON record per chunk, offer.url, keep-alive calls",
          "[integration][compat]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  ThirdPartyClient client(io, master);
  client.subscribe();

  auto offers = client.next_event("OFFERS");
  const auto& offer = offers["offers"]["offers"][0];
  REQUIRE(offer.HasMember("url"));
  const std::string ip = offer["url"]["address"]["ip"].GetString();
  const int port = offer["url"]["address"]["port"].GetInt();
  CHECK(ip == "127.0.0.1");
  CHECK(port == master.server().ports().at(0));
  CHECK(offer["url"]["scheme"].GetString() == std::string("http"));
  CHECK(offer["url"]["path"].GetString() == std::string("/slave(1)"));

  const std::string offer_id = offer["id"]["value"].GetString();
  const std::string agent_id = offer["agent_id"]["value"].GetString();
  const std::string accept = fmt::format(
      R"({{"type":"ACCEPT","framework_id":{{"value":"{}"}},"accept":{{"offer_ids":[{{"value":"{}"}}],)"
      R"("operations":[{{"type":"LAUNCH","launch":{{"task_infos":[{{"name":"compat","task_id":{{"value":"compat-1"}},)"
      R"("agent_id":{{"value":"{}"}},"resources":[{{"name":"cpus","type":"SCALAR","scalar":{{"value":0.1}}}},)"
      R"({{"name":"mem","type":"SCALAR","scalar":{{"value":32}}}}],"command":{{"value":"true"}}}}]}}}}],)"
      R"("filters":{{"refuse_seconds":0}}}}}})",
      client.framework_id, offer_id, agent_id);
  CHECK(client.call(accept).status == 202);

  // Updates arrive one per chunk; each is acknowledged on the same kept-alive connection.
  std::vector<std::string> states;
  while (states.empty() || states.back() != "TASK_FINISHED") {
    auto update = client.next_event("UPDATE");
    const auto& status = update["update"]["status"];
    states.emplace_back(status["state"].GetString());
    REQUIRE(status.HasMember("uuid"));
    const std::string ack = fmt::format(
        R"({{"type":"ACKNOWLEDGE","framework_id":{{"value":"{}"}},"acknowledge":{{)"
        R"("agent_id":{{"value":"{}"}},"task_id":{{"value":"compat-1"}},"uuid":"{}"}}}})",
        client.framework_id, agent_id, status["uuid"].GetString());
    const RawResponse answer = client.call(ack);
    CHECK(answer.status == 202);
    CHECK(answer.header("Connection") != "close");
  }
  CHECK(states == std::vector<std::string>{"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"});
  CHECK_FALSE(client.calls->client.eof());
  CHECK(client.calls_sent == 4);  // the ACCEPT and three acknowledgements, on one connection
}

// Mesos sends the SUBSCRIBE response with no Connection header; some client libraries detach
// a streaming response whose connection says "close". The header comes from the HTTP server's
// streaming response, which is being changed separately: this case passes once that lands.
TEST_CASE("a third-party client: the SUBSCRIBE response has no 'Connection: close'",
          "[integration][compat][connection-header]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  ThirdPartyClient client(io, master);
  client.subscribe();
  const RawResponse response = client.stream.stream(1);
  CHECK(response.header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(response.header("Connection").has_value());
}
