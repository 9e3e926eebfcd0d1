// samza-scheduler's command line: defaults, both value forms, and errors naming the argument.
#include "flags.hpp"

#include <catch2/catch.hpp>

using heatblast::samza::parse_flags;
using heatblast::samza::usage;

TEST_CASE("flags: Heatblast's defaults") {
  auto flags = parse_flags({}, "alice");
  REQUIRE(flags);
  CHECK(flags->listen_address == "0.0.0.0");
  CHECK(flags->listen_port == 8181);
  CHECK(flags->masters == std::vector<std::string>{"127.0.0.1:5050"});
  CHECK(flags->user == "alice");
  CHECK(flags->failover_timeout_seconds == 7 * 24 * 3600);
  CHECK(flags->api_token_file.empty());
}

TEST_CASE("flags: both value forms, lists and booleans") {
  auto flags = parse_flags({"--master=a:5050,b:5050", "--listen", "127.0.0.1:9000", "--advertise",
                            "sched.example.com:9000", "--state", "/tmp/x.db", "--failover-timeout",
                            "60", "--role", "samza", "--debug", "--api-token-file", "t"},
                           "alice");
  REQUIRE(flags);
  CHECK(flags->masters.size() == 2);
  CHECK(flags->listen_address == "127.0.0.1");
  CHECK(flags->listen_port == 9000);
  CHECK(flags->advertise == "sched.example.com:9000");
  CHECK(flags->state == "/tmp/x.db");
  CHECK(flags->failover_timeout_seconds == 60);
  CHECK(flags->role == "samza");
  CHECK(flags->debug);
  CHECK(flags->api_token_file == "t");
}

TEST_CASE("flags: errors name the argument") {
  auto error = [](std::vector<std::string> args) {
    auto flags = parse_flags(args, "alice");
    REQUIRE_FALSE(flags);
    return flags.error().what();
  };
  CHECK_THAT(error({"--nope"}), Catch::Contains("'--nope'"));
  CHECK_THAT(error({"--listen"}), Catch::Contains("needs a value"));
  CHECK_THAT(error({"--listen", "nowhere"}), Catch::Contains("--listen"));
  CHECK_THAT(error({"--listen", "1.2.3.4:70000"}), Catch::Contains("not a number from 0 to 65535"));
  CHECK_THAT(error({"--failover-timeout", "soon"}), Catch::Contains("--failover-timeout"));
  CHECK_THAT(error({"--advertise", "hostonly"}), Catch::Contains("--advertise"));
  CHECK_THAT(error({"--debug=yes"}), Catch::Contains("takes no value"));
  CHECK_THAT(error({"stray"}), Catch::Contains("'stray'"));
  CHECK_THAT(error({"--secret-file", "s"}), Catch::Contains("--principal"));
  auto no_user = parse_flags({}, "");
  REQUIRE_FALSE(no_user);
  CHECK_THAT(no_user.error().what(), Catch::Contains("--user"));
}

TEST_CASE("flags: the help lists every flag") {
  const std::string text = usage("samza-scheduler");
  for (const char* name :
       {"--master", "--listen", "--advertise", "--state", "--name", "--role", "--principal",
        "--secret-file", "--failover-timeout", "--api-token-file"}) {
    CHECK_THAT(text, Catch::Contains(name));
  }
}

TEST_CASE("flags: --zk takes a whole zk:// URL with a path, and a session timeout") {
  auto flags = parse_flags(
      {"--zk", "zk://u:p@z1:2181,z2:2181/heatblast/samza", "--zk-session-timeout", "4"}, "alice");
  REQUIRE(flags);
  CHECK(flags->zk == "zk://u:p@z1:2181,z2:2181/heatblast/samza");
  CHECK(flags->zk_session_timeout_seconds == 4);
  CHECK(parse_flags({}, "alice")->zk.empty());
  CHECK_FALSE(parse_flags({"--zk", "z1:2181/heatblast"}, "alice"));
  CHECK_FALSE(parse_flags({"--zk", "zk://z1:2181/"}, "alice"));
  CHECK_FALSE(parse_flags({"--zk-session-timeout", "0.5"}, "alice"));
}
