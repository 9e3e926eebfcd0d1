#include "heatblast/event_stream.hpp"

#include <string>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <catch2/catch.hpp>

using heatblast::ContentType;
using heatblast::errc;
using heatblast::EventStreamDecoder;
using heatblast::MessageCodec;
using mesos::v1::scheduler::Event;

namespace {

std::vector<Event> sample_events() {
  std::vector<Event> events;
  Event subscribed;
  subscribed.set_type(Event::SUBSCRIBED);
  subscribed.mutable_subscribed()->mutable_framework_id()->set_value("fw-1");
  subscribed.mutable_subscribed()->set_heartbeat_interval_seconds(15);
  events.push_back(subscribed);

  Event offers;
  offers.set_type(Event::OFFERS);
  auto* offer = offers.mutable_offers()->add_offers();
  offer->mutable_id()->set_value("o-1");
  offer->mutable_framework_id()->set_value("fw-1");
  offer->mutable_agent_id()->set_value("a-1");
  offer->set_hostname("h\xc3\xb6st");  // non-ASCII: lengths count bytes
  auto* cpus = offer->add_resources();
  cpus->set_name("cpus");
  cpus->set_type(mesos::v1::Value::SCALAR);
  cpus->mutable_scalar()->set_value(2.5);
  events.push_back(offers);

  Event update;
  update.set_type(Event::UPDATE);
  auto* status = update.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value("t-1");
  status->set_state(mesos::v1::TASK_RUNNING);
  status->set_uuid(
      std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff", 16));
  events.push_back(update);

  Event heartbeat;
  heartbeat.set_type(Event::HEARTBEAT);
  events.push_back(heartbeat);
  return events;
}

std::string encode_stream(const std::vector<Event>& events, ContentType type) {
  std::string stream;
  MessageCodec codec(type);
  for (const auto& e : events)
    heatblast::recordio_append(stream, codec.encode(e));
  return stream;
}

}  // namespace

TEST_CASE("event stream: both content types decode the same events at every split",
          "[event_stream]") {
  const auto events = sample_events();
  for (auto type : {ContentType::protobuf, ContentType::json}) {
    const std::string stream = encode_stream(events, type);
    for (std::size_t cut = 0; cut <= stream.size(); cut += 7) {
      CAPTURE(heatblast::to_string(type), cut);
      EventStreamDecoder decoder(type);
      std::vector<Event> got;
      auto sink = [&](const Event& e) {
        got.push_back(e);
        return true;
      };
      REQUIRE(decoder.feed(std::string_view(stream).substr(0, cut), sink).has_value());
      REQUIRE(decoder.feed(std::string_view(stream).substr(cut), sink).has_value());
      REQUIRE(decoder.finish().has_value());
      REQUIRE(got.size() == events.size());
      for (std::size_t i = 0; i < events.size(); ++i) {
        INFO("event " << i << ": " << got[i].ShortDebugString());
        CHECK(google::protobuf::util::MessageDifferencer::Equals(got[i], events[i]));
      }
      CHECK(decoder.events() == events.size());
    }
  }
}

TEST_CASE("event stream: a bad record is an error naming its offset, the stream stays failed",
          "[event_stream]") {
  auto events = sample_events();
  for (auto type : {ContentType::protobuf, ContentType::json}) {
    CAPTURE(heatblast::to_string(type));
    std::string stream = encode_stream({events[0]}, type);
    const auto bad_at = stream.size();
    heatblast::recordio_append(stream, type == ContentType::json ? "{\"type\":" : "\xff\xff\xff");
    stream += encode_stream({events[3]}, type);

    EventStreamDecoder decoder(type);
    int seen = 0;
    auto r = decoder.feed(stream, [&](const Event&) {
      ++seen;
      return true;
    });
    REQUIRE_FALSE(r.has_value());
    CHECK(seen == 1);
    CHECK_THAT(r.error().message, Catch::Contains("record #2 at byte " + std::to_string(bad_at)));
    CHECK(decoder.failed());
    auto again = decoder.feed(encode_stream({events[3]}, type), [&](const Event&) { return true; });
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().code == errc::recordio_failed);
  }
}

TEST_CASE("event stream: a record missing a required field is rejected", "[event_stream]") {
  // An UPDATE whose TaskStatus lacks the required task_id.
  EventStreamDecoder decoder(ContentType::json);
  std::string stream;
  heatblast::recordio_append(stream,
                             R"({"type":"UPDATE","update":{"status":{"state":"TASK_RUNNING"}}})");
  auto r = decoder.feed(stream, [](const Event&) { return true; });
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::missing_required);
}

TEST_CASE("event stream: unknown event types and fields from a newer master are tolerated",
          "[event_stream]") {
  std::string stream;
  heatblast::recordio_append(stream, R"({"type":"SOMETHING_NEW","something_new":{"x":1}})");
  heatblast::recordio_append(stream, R"({"type":"HEARTBEAT","extra":[1,2,{"a":null}]})");
  EventStreamDecoder decoder(ContentType::json);
  std::vector<Event::Type> types;
  auto r = decoder.feed(stream, [&](const Event& e) {
    types.push_back(e.type());
    return true;
  });
  REQUIRE(r.has_value());
  CHECK(types == std::vector<Event::Type>{Event::UNKNOWN, Event::HEARTBEAT});

  // Protobuf: an unknown field number and an unknown enum value.
  std::string pb;
  pb += '\x08';  // field 1 (type), varint
  pb += '\x63';  // 99: not a known Event.Type
  pb += '\xa2';  // field 100, length-delimited
  pb += '\x06';
  pb += '\x01';
  pb += "x";
  std::string pb_stream;
  heatblast::recordio_append(pb_stream, pb);
  EventStreamDecoder pb_decoder(ContentType::protobuf);
  types.clear();
  REQUIRE(pb_decoder
              .feed(pb_stream,
                    [&](const Event& e) {
                      types.push_back(e.type());
                      return true;
                    })
              .has_value());
  CHECK(types == std::vector<Event::Type>{Event::UNKNOWN});
}

TEST_CASE("content types: exact media types out, lenient parsing in", "[codec]") {
  CHECK(heatblast::media_type(ContentType::json) == "application/json");
  CHECK(heatblast::media_type(ContentType::protobuf) == "application/x-protobuf");
  CHECK(heatblast::parse_media_type("application/json; charset=utf-8") == ContentType::json);
  CHECK(heatblast::parse_media_type(" Application/X-Protobuf ") == ContentType::protobuf);
  CHECK_FALSE(heatblast::parse_media_type("application/recordio").has_value());
  CHECK_FALSE(heatblast::parse_media_type("").has_value());
}
