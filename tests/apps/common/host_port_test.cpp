// The listen-address parser every program uses, and the loopback test behind local-master's
// warning.
#include <catch2/catch.hpp>

#include "host_port.hpp"
#include "machine.hpp"

using heatblast::apps::is_loopback;
using heatblast::apps::parse_listen;

TEST_CASE("parse_listen: ADDR:PORT, :PORT, [IPv6]:PORT, localhost") {
  auto v4 = parse_listen("10.1.2.3:5050");
  REQUIRE(v4);
  CHECK(v4->address == "10.1.2.3");
  CHECK(v4->port == 5050);
  CHECK(parse_listen(":8080")->address == "0.0.0.0");
  CHECK(parse_listen("[::1]:9000")->address == "::1");
  CHECK(parse_listen("localhost:0")->address == "127.0.0.1");
  CHECK(parse_listen("localhost:65535")->port == 65535);
}

TEST_CASE("parse_listen: what is refused, and why") {
  for (const char* bad : {"5050", "host:", "host:http", "host:65536", "host:-1", "host:50x", ""}) {
    CAPTURE(bad);
    auto parsed = parse_listen(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == heatblast::errc::invalid_argument);
    CHECK_THAT(parsed.error().message, Catch::Contains("is not ADDR:PORT"));
  }
  CHECK_THAT(parse_listen("5050").error().message, Catch::EndsWith("no port"));
}

TEST_CASE("is_loopback: 127.0.0.0/8 and ::1 only") {
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.1.2.3"));
  CHECK(is_loopback("::1"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("::"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
  CHECK_FALSE(is_loopback("128.0.0.1"));
  CHECK_FALSE(is_loopback("example.org"));
}

TEST_CASE("machine_hostname: the name gethostname gives") {
  const auto name = heatblast::apps::machine_hostname();
  REQUIRE(name);  // every test machine has one
  CHECK_FALSE(name->empty());
  CHECK(name->find('\0') == std::string::npos);
}
