#include "scheduler/masters.hpp"

#include <catch2/catch.hpp>

#include "heatblast/scheduler.hpp"

using heatblast::scheduler::MasterEndpoint;
using heatblast::scheduler::parse_master;
using heatblast::scheduler::parse_master_list;
using heatblast::scheduler::parse_redirect;

TEST_CASE("masters: the forms a master may be given in", "[masters]") {
  auto plain = parse_master("10.0.0.1:5050");
  REQUIRE(plain.has_value());
  CHECK(plain->scheduler_url() == "http://10.0.0.1:5050/api/v1/scheduler");

  auto no_port = parse_master(" master.example ");
  REQUIRE(no_port.has_value());
  CHECK(no_port->authority() == "master.example:5050");

  auto tls = parse_master("https://m1:8443/mesos/");
  REQUIRE(tls.has_value());
  CHECK(tls->scheduler_url() == "https://m1:8443/mesos/api/v1/scheduler");

  auto endpoint = parse_master("http://m1:5050/api/v1/scheduler");
  REQUIRE(endpoint.has_value());
  CHECK(endpoint->prefix.empty());

  auto v6 = parse_master("[::1]:5051");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");
  CHECK(v6->scheduler_url() == "http://[::1]:5051/api/v1/scheduler");
}

TEST_CASE("masters: malformed entries are errors that name them", "[masters]") {
  for (const char* bad : {"", "host:", "host:0", "host:65536", "host:50x", "ftp://m:1", "::1:5050",
                          "[::1", "user:pw@host:5050", "zk://zk1:2181/mesos"}) {
    CAPTURE(bad);
    auto r = parse_master(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == heatblast::errc::invalid_argument);
  }
  auto list = parse_master_list("a:1,,b:2");
  REQUIRE_FALSE(list.has_value());
  CHECK_THAT(list.error().message, Catch::Contains("empty"));
}

TEST_CASE("masters: a comma-separated list keeps its order", "[masters]") {
  auto list = parse_master_list("a:5050, b:5051 ,https://c");
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 3);
  CHECK((*list)[0].authority() == "a:5050");
  CHECK((*list)[1].authority() == "b:5051");
  CHECK((*list)[2].scheme == "https");

  auto as_strings = heatblast::scheduler::parse_masters("a:5050,http://b:1/x");
  REQUIRE(as_strings.has_value());
  CHECK(*as_strings == std::vector<std::string>{"a:5050", "http://b:1/x"});
}

TEST_CASE("masters: a protocol-relative redirect keeps our scheme", "[masters]") {
  MasterEndpoint current;
  current.scheme = "https";
  current.host = "m1";
  current.port = 5050;
  auto leader = parse_redirect("//m2.example:5051/master/api/v1/scheduler", current);
  REQUIRE(leader.has_value());
  CHECK(leader->scheme == "https");
  CHECK(leader->authority() == "m2.example:5051");
  CHECK(leader->prefix.empty());

  auto absolute = parse_redirect("https://m3:5052/api/v1/scheduler", current);
  REQUIRE(absolute.has_value());
  CHECK(absolute->scheduler_url() == "https://m3:5052/api/v1/scheduler");
  auto upper = parse_redirect("HTTPS://m3:5052/api/v1/scheduler", current);
  REQUIRE(upper.has_value());
  CHECK(upper->scheme == "https");

  CHECK_FALSE(parse_redirect("/api/v1/scheduler", current).has_value());
  CHECK_FALSE(parse_redirect("", current).has_value());
}

TEST_CASE("masters: a redirect that changes the scheme is refused", "[masters]") {
  MasterEndpoint secure;
  secure.scheme = "https";
  secure.host = "m1";
  auto downgrade = parse_redirect("http://m2:5050/api/v1/scheduler", secure);
  REQUIRE_FALSE(downgrade.has_value());
  CHECK(downgrade.error().code == heatblast::errc::protocol_error);
  CHECK_THAT(downgrade.error().message, Catch::Contains("changes the scheme") &&
                                            Catch::Contains("https://m1:5050") &&
                                            Catch::Contains("http://m2:5050"));

  MasterEndpoint plain;
  plain.host = "m1";
  CHECK_FALSE(parse_redirect("https://m2:5050/api/v1/scheduler", plain).has_value());
  CHECK_FALSE(parse_redirect("ftp://m2:5050/api/v1/scheduler", plain).has_value());
  CHECK_FALSE(parse_redirect("file:///etc/passwd", plain).has_value());
  auto same = parse_redirect("http://m2:5051/api/v1/scheduler", plain);
  REQUIRE(same.has_value());
  CHECK(same->scheduler_url() == "http://m2:5051/api/v1/scheduler");
}
