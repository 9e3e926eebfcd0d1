// zk:// URLs, the leading master among a path's children, and the address in a MasterInfo:
// the pure parts of ZooKeeper master detection (no server needed).
#include <catch2/catch.hpp>

#include <mesos/v1/mesos.pb.h>

#include "heatblast/zookeeper.hpp"

using namespace heatblast;
using namespace heatblast::zookeeper;

TEST_CASE("zk url: hosts, path and digest credentials") {
  auto url = parse_url("zk://alice:s3cret@zk1:2181,zk2:2182, zk3:2183/mesos/");
  REQUIRE(url);
  CHECK(url->servers == "zk1:2181,zk2:2182,zk3:2183");
  CHECK(url->path == "/mesos");
  CHECK(url->user == "alice");
  CHECK(url->password == "s3cret");
  CHECK(url->redacted() == "zk://alice:***@zk1:2181,zk2:2182,zk3:2183/mesos");
  CHECK(url->redacted().find("s3cret") == std::string::npos);

  auto plain = parse_url("  zk://127.0.0.1:2181/a/b ");
  REQUIRE(plain);
  CHECK(plain->user.empty());
  CHECK(plain->path == "/a/b");
  CHECK(is_url(" zk://h:1/p"));
  CHECK_FALSE(is_url("http://h:1/p"));
}

TEST_CASE("zk url: malformed ones are refused with a reason and no password") {
  for (const char* text : {"zk://", "zk://h:2181", "zk:///mesos", "zk://h/mesos", "zk://h:0/mesos",
                           "zk://h:99999/m", "zk://h:2181,/mesos", "zk://:2181/mesos",
                           "zk://h:2181//mesos", "http://h:2181/mesos", "zk://user@h:2181/mesos"}) {
    auto url = parse_url(text);
    INFO(text);
    REQUIRE_FALSE(url);
    CHECK(url.error().code == make_error_code(errc::invalid_argument));
  }
  auto bad = parse_url("zk://bob:hunter2@h:notaport/mesos");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("hunter2") == std::string::npos);
  CHECK(bad.error().message.find("bob:***") != std::string::npos);
}

TEST_CASE("zk leader: smallest json.info_ sequence, children unsorted, others ignored") {
  CHECK(leading_master_node({"json.info_0000000012", "log_replicas", "json.info_0000000009",
                             "info_0000000001", "json.info_0000000010"}) == "json.info_0000000009");
  // Only when no json.info_ is there does an info_ node count.
  CHECK(leading_master_node({"log_replicas", "info_0000000007", "info_0000000003"}) ==
        "info_0000000003");
  CHECK_FALSE(leading_master_node({"log_replicas", "json.info_", "info_x12"}));
  CHECK_FALSE(leading_master_node({}));
  // Compared as numbers, not strings.
  CHECK(leading_master_node({"json.info_100", "json.info_99"}) == "json.info_99");
  CHECK(sequence_of("json.info_0000000042", "json.info_") == 42);
  CHECK_FALSE(sequence_of("json.info_42a", "json.info_"));
  CHECK_FALSE(sequence_of("json.info_-1", "json.info_"));
}

TEST_CASE("zk master info json: address.ip first, then hostname, ip integer, pid") {
  // As a Mesos master writes it (JSON of MasterInfo): every form present, address wins.
  auto full = master_address_from_json(
      R"({"address":{"hostname":"m1.example","ip":"10.0.0.1","port":5050},)"
      R"("hostname":"m1.example","id":"abc","ip":16777226,"pid":"master@10.0.0.1:5050",)"
      R"("port":5050,"version":"1.11.0","capabilities":[{"type":"AGENT_UPDATE"}]})");
  REQUIRE(full);
  CHECK(*full == MasterAddress{"10.0.0.1", 5050});

  auto hostname = master_address_from_json(
      R"({"address":{"hostname":"m2.example","port":5051},"ip":16777226,"port":5050})");
  REQUIRE(hostname);
  CHECK(*hostname == MasterAddress{"m2.example", 5051});

  // 16777226 = 0x0100000A: the bytes 0A 00 00 01 of a network-order 10.0.0.1.
  auto integer = master_address_from_json(R"({"id":"x","ip":16777226,"port":5052})");
  REQUIRE(integer);
  CHECK(*integer == MasterAddress{"10.0.0.1", 5052});

  auto pid = master_address_from_json(R"({"id":"x","pid":"master@192.168.1.7:5053"})");
  REQUIRE(pid);
  CHECK(*pid == MasterAddress{"192.168.1.7", 5053});

  auto none = master_address_from_json(R"({"id":"x"})");
  REQUIRE_FALSE(none);
  CHECK(none.error().code == make_error_code(errc::invalid_argument));
  auto broken = master_address_from_json("{not json");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == make_error_code(errc::json_syntax));
}

TEST_CASE("zk master info protobuf: an older master's info_ node") {
  mesos::v1::MasterInfo info;
  info.set_id("old");
  info.set_ip(16777226);
  info.set_port(5050);
  auto ip_port = master_address_from_protobuf(info.SerializeAsString());
  REQUIRE(ip_port);
  CHECK(*ip_port == MasterAddress{"10.0.0.1", 5050});

  info.mutable_address()->set_hostname("m3.example");
  info.mutable_address()->set_port(5055);
  auto address = master_address_from_protobuf(info.SerializeAsString());
  REQUIRE(address);
  CHECK(*address == MasterAddress{"m3.example", 5055});

  CHECK_FALSE(master_address_from_protobuf("\xff\xff\xff"));
}
