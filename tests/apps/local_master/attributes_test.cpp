// Agent attributes in the Mesos agent's syntax.
#include <catch2/catch.hpp>

#include "attributes.hpp"

using heatblast::local_master::merge_attributes;
using heatblast::local_master::parse_attributes;
using mesos::v1::Value;

TEST_CASE("parse_attributes: text, scalars, ranges, separators") {
  auto parsed = parse_attributes("rack:r1;level:2; zone : eu-west-1a \n slots:[1-4,8-9];;");
  REQUIRE(parsed);
  REQUIRE(parsed->size() == 4);
  const auto& rack = (*parsed)[0];
  CHECK(rack.name() == "rack");
  CHECK(rack.type() == Value::TEXT);
  CHECK(rack.text().value() == "r1");
  const auto& level = (*parsed)[1];
  CHECK(level.type() == Value::SCALAR);
  CHECK(level.scalar().value() == 2);
  const auto& zone = (*parsed)[2];
  CHECK(zone.name() == "zone");
  CHECK(zone.text().value() == "eu-west-1a");
  const auto& slots = (*parsed)[3];
  REQUIRE(slots.type() == Value::RANGES);
  REQUIRE(slots.ranges().range_size() == 2);
  CHECK(slots.ranges().range(1).begin() == 8);
  CHECK(slots.ranges().range(1).end() == 9);
  CHECK(heatblast::local_master::to_string(*parsed) ==
        "rack:r1;level:2;zone:eu-west-1a;slots:[1-4,8-9]");

  // Split at the first ':' only, as Mesos does.
  auto url = parse_attributes("url:http://x:80");
  REQUIRE(url);
  CHECK(url->at(0).text().value() == "http://x:80");
  CHECK(parse_attributes("")->empty());
  CHECK(parse_attributes("weight:0.5")->at(0).scalar().value() == 0.5);
  CHECK(parse_attributes("rack:r1;rack:r2")->at(0).text().value() == "r2");
}

TEST_CASE("parse_attributes: what is refused") {
  for (const char* bad : {"rack", "rack:", ":r1", "slots:[4-1]", "slots:[a-b]", "s:{a,b}"}) {
    CAPTURE(bad);
    auto parsed = parse_attributes(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == heatblast::errc::invalid_argument);
  }
  CHECK_THAT(parse_attributes("s:{a,b}").error().message,
             Catch::Contains("sets are not supported"));
  CHECK_THAT(parse_attributes("ok:1;rack").error().message, Catch::Contains("'rack'"));
}

TEST_CASE("merge_attributes: overrides replace by name, new ones are appended") {
  auto merged =
      merge_attributes(*parse_attributes("rack:r1;zone:a"), *parse_attributes("rack:r2;gpu:1"));
  CHECK(heatblast::local_master::to_string(merged) == "rack:r2;zone:a;gpu:1");
}
