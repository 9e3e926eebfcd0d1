// FakeMaster: a scripted Mesos master endpoint on a loopback http::Server, for testing the
// scheduler client's protocol behaviour (redirects, refusals, broken streams) one rule at a time.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <mesos/v1/scheduler/scheduler.pb.h>

#include "heatblast/codec.hpp"
#include "heatblast/http_server.hpp"
#include "heatblast/recordio.hpp"

namespace heatblast::testing {

class FakeMaster {
 public:
  using Call = mesos::v1::scheduler::Call;
  using Event = mesos::v1::scheduler::Event;

  // What to do with the next SUBSCRIBE. Default: accept it (200, SUBSCRIBED, HEARTBEAT).
  struct SubscribeAnswer {
    int status = 200;
    std::string location;  // for 307
    std::string body;      // for refusals
  };

  struct ReceivedCall {
    Call call;
    http::Headers headers;
  };

  // `port` 0 picks a free one; a test that restarts "the same master" passes the old port.
  explicit FakeMaster(boost::asio::any_io_executor executor, std::uint16_t port = 0)
      : server_(executor, options_on(port),
                [this](const http::ServerRequest& r, http::Responder responder) {
                  on_request(r, std::move(responder));
                }) {}

  static http::ServerOptions options_on(std::uint16_t port) {
    http::ServerOptions options;
    options.port = port;
    return options;
  }

  Result<void> start() { return server_.start(); }
  void stop() { server_.stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_.port()); }
  std::uint16_t port() const { return server_.port(); }

  // Scripted answers, used in order; when empty, SUBSCRIBE is accepted and calls get 202.
  std::deque<SubscribeAnswer> subscribe_answers;
  std::deque<std::pair<int, std::string>> call_answers;
  // The Location sent with a scripted 307 call answer.
  std::string call_location;
  // When set, the next call gets no answer: its Responder waits in `held_call` for the test.
  bool hold_next_call = false;
  std::optional<http::Responder> held_call;
  // While set, every call gets no answer: the Responders wait in `held_calls`, in arrival order.
  bool hold_calls = false;
  std::vector<http::Responder> held_calls;
  double heartbeat_interval_seconds = 15;
  std::string framework_id = "fw-1";

  std::vector<ReceivedCall> subscribes;
  std::vector<ReceivedCall> calls;
  int streams_opened = 0;

  // The stream of the latest accepted SUBSCRIBE.
  http::StreamWriter stream;
  ContentType stream_type = ContentType::protobuf;

  bool send(const Event& event) {
    std::string record;
    MessageCodec(stream_type).encode(event, record);
    std::string framed;
    recordio_append(framed, record);
    return stream.write(framed);
  }
  bool send_raw(std::string_view bytes) { return stream.write(bytes); }

  std::vector<Call> calls_of_type(Call::Type type) const {
    std::vector<Call> out;
    for (const auto& c : calls) {
      if (c.call.type() == type) out.push_back(c.call);
    }
    return out;
  }

 private:
  void on_request(const http::ServerRequest& request, http::Responder responder) {
    auto type = parse_media_type(request.header("Content-Type").value_or(""));
    Call call;
    if (!type || !MessageCodec(*type).decode(request.body, call)) {
      responder.respond(400, {}, "Failed to parse body into Call protobuf");
      return;
    }
    ReceivedCall received{call, request.headers};
    if (call.type() == Call::SUBSCRIBE) {
      subscribes.push_back(received);
      SubscribeAnswer answer;
      if (!subscribe_answers.empty()) {
        answer = subscribe_answers.front();
        subscribe_answers.pop_front();
      }
      if (answer.status == 307) {
        responder.respond(307, {{"Location", answer.location}});
        return;
      }
      if (answer.status != 200) {
        responder.respond(answer.status, {}, answer.body);
        return;
      }
      stream_type = parse_media_type(request.header("Accept").value_or("")).value_or(*type);
      stream = responder.start_stream(
          200, {{"Content-Type", std::string(media_type(stream_type))},
                {"Mesos-Stream-Id", "stream-" + std::to_string(++streams_opened)}});
      Event subscribed;
      subscribed.set_type(Event::SUBSCRIBED);
      subscribed.mutable_subscribed()->mutable_framework_id()->set_value(framework_id);
      subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(heartbeat_interval_seconds);
      send(subscribed);
      Event heartbeat;
      heartbeat.set_type(Event::HEARTBEAT);
      send(heartbeat);
      return;
    }
    calls.push_back(received);
    if (hold_calls) {
      held_calls.push_back(std::move(responder));
      return;
    }
    if (hold_next_call) {
      hold_next_call = false;
      held_call = std::move(responder);
      return;
    }
    if (!call_answers.empty()) {
      auto [status, body] = call_answers.front();
      call_answers.pop_front();
      http::Headers headers;
      if (status == 307 && !call_location.empty()) headers.emplace_back("Location", call_location);
      responder.respond(status, std::move(headers), body);
      return;
    }
    responder.respond(202);
  }

  http::Server server_;
};

}  // namespace heatblast::testing
