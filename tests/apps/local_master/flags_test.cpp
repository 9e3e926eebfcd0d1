// local-master's command line: the flag table, and options_from() that turns flags into what
// the program runs (agents, paths, warnings).
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "attributes.hpp"
#include "flags.hpp"

namespace {

using namespace heatblast::local_master;

std::string error_of(const std::vector<std::string>& args) {
  auto flags = parse_flags(args);
  return flags ? std::string() : flags.error().message;
}

Flags flags_of(const std::vector<std::string>& args) {
  auto flags = parse_flags(args);
  INFO((flags ? std::string() : flags.error().message));
  REQUIRE(flags);
  return *flags;
}

// Fixed resources, so that options_from does not look at this machine's.
std::vector<std::string> with_resources(std::vector<std::string> args) {
  args.insert(args.begin(), {"--resources", "cpus:2;mem:1024"});
  return args;
}

}  // namespace

TEST_CASE("parse_flags: both value spellings, booleans, Mesos's underscores") {
  const Flags flags = flags_of({"--listen=127.0.0.1:6060", "--agents", "3", "--simulate",
                                "--heartbeat_interval=0.5", "--work_dir", "w", "--quiet=false"});
  CHECK(flags.listen == "127.0.0.1:6060");
  CHECK(flags.agents == 3);
  CHECK(flags.simulate);
  CHECK(flags.heartbeat_interval == 0.5);
  CHECK(flags.work_dir == "w");
  CHECK_FALSE(flags.quiet);
  CHECK_FALSE(flags.enable_fault_injection);
  CHECK_FALSE(flags_of({"--simulate", "--no-simulate"}).simulate);
  CHECK(flags_of({"--enable-fault-injection"}).enable_fault_injection);
  CHECK(flags_of({"--agent-attributes", "0=rack:r1", "--agent-attributes=1=rack:r2"})
            .agent_attributes == std::vector<std::string>{"0=rack:r1", "1=rack:r2"});
}

TEST_CASE("parse_flags: an unknown flag says so, before asking for a value") {
  CHECK(error_of({"--nope"}) == "unknown flag '--nope'");
  CHECK(error_of({"--nope=1"}) == "unknown flag '--nope'");
  CHECK(error_of({"--no-listen"}) == "unknown flag '--no-listen'");
  CHECK(error_of({"--agents"}) == "--agents needs a value");
  CHECK(error_of({"--agents", "x"}) == "--agents: 'x' is not a number");
  CHECK(error_of({"--agents=0"}) == "--agents: must be 1 to 100000");
  CHECK(error_of({"--quiet=yes"}) == "--quiet takes no value");
  CHECK(error_of({"--no-quiet=true"}) == "--no-quiet takes no value");
  CHECK(error_of({"stray"}) == "unexpected argument 'stray'");
  CHECK(error_of({"--heartbeat-interval=0"}) == "--heartbeat-interval: must be above 0");
  CHECK_THAT(error_of({"--listen=5050"}), Catch::StartsWith("--listen: '5050' is not ADDR:PORT"));
  CHECK_THAT(error_of({"--attributes=rack"}), Catch::StartsWith("--attributes: "));
  CHECK_THAT(error_of({"--agent-attributes=rack:r1"}),
             Catch::StartsWith("--agent-attributes: 'rack:r1' is not N=ATTRIBUTES"));
  CHECK_THAT(error_of({"--resources=cpus:x"}), Catch::StartsWith("--resources: "));
}

TEST_CASE("parse_flags: --help and --version end the parse") {
  CHECK(flags_of({"--help", "--nope"}).help);
  CHECK(flags_of({"--version"}).version);
  CHECK(version_text() == std::string("local-master ") + HEATBLAST_VERSION);
}

TEST_CASE("usage lists every flag of the table") {
  const std::string text = usage();
  for (const char* flag :
       {"--listen=IP:PORT", "--resources=", "--agents=N", "--attributes=", "--agent-attributes=",
        "--work-dir=DIR", "--simulate ", "--simulate-duration=SECONDS", "--replicas=N",
        "--heartbeat-interval=", "--allocation-interval=", "--offer-timeout=SECONDS",
        "--hostname=NAME", "--enable-fault-injection", "--quiet", "--version", "--help"}) {
    CHECK_THAT(text, Catch::Contains(flag));
  }
}

TEST_CASE("options_from: address, host name, intervals, fault switch") {
  auto options = options_from(flags_of(with_resources(
      {"--listen", "localhost:6060", "--hostname", "box", "--allocation-interval", "0.25",
       "--offer_timeout", "30", "--replicas", "2", "--enable-fault-injection", "--simulate"})));
  REQUIRE(options);
  CHECK(options->server.address == "127.0.0.1");
  CHECK(options->server.port == 6060);
  CHECK(options->server.replicas == 2);
  CHECK(options->server.enable_fault_injection);
  CHECK(options->server.master.hostname == "box");
  CHECK(options->server.master.ip == "127.0.0.1");
  CHECK(options->server.master.allocation_interval == std::chrono::milliseconds(250));
  CHECK(options->server.master.offer_timeout == std::chrono::seconds(30));
  // Without the flag offers are never rescinded for their age, as in Mesos.
  CHECK_FALSE(options_from(flags_of(with_resources({})))->server.master.offer_timeout);
  CHECK_FALSE(parse_flags({"--offer-timeout", "0"}));
  CHECK(options->simulate);
  CHECK(options->warnings.empty());  // loopback: nothing to warn about
  REQUIRE(options->server.master.agents.size() == 1);
  CHECK(options->server.master.agents[0].hostname == "box");
  CHECK(options->server.master.agents[0].resources.scalar("cpus") == 2);
}

TEST_CASE("options_from: --zk elects the leader in ZooKeeper, a bad URL is a one-line error") {
  auto options = options_from(
      flags_of(with_resources({"--replicas", "3", "--zk", "zk://127.0.0.1:2181/mesos"})));
  REQUIRE(options);
  CHECK(options->server.zk == "zk://127.0.0.1:2181/mesos");
  CHECK(options->server.replicas == 3);

  auto bad = parse_flags({"--zk", "zk://127.0.0.1/mesos"});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::StartsWith("--zk: "));
  CHECK(bad.error().message.find('\n') == std::string::npos);
  CHECK_THAT(usage(), Catch::Contains("--zk=zk://HOST:PORT/PATH"));
}

TEST_CASE("options_from: every path is absolute, whatever the flag said") {
  auto options = options_from(flags_of(with_resources({"--work-dir", "run/../run/lm"})));
  REQUIRE(options);
  const auto expected = (std::filesystem::current_path() / "run/lm").string();
  CHECK(options->server.master.work_dir == expected);
  CHECK(options->sandbox_root == expected);
  CHECK(options->server.master.sandbox_root == expected);
  CHECK(options->processes.meta_dir == expected + "/meta");

  auto without = options_from(flags_of(with_resources({})));
  REQUIRE(without);
  CHECK(without->server.master.work_dir.empty());
  CHECK(std::filesystem::path(without->sandbox_root).is_absolute());
  CHECK(std::filesystem::path(without->processes.meta_dir).is_absolute());
}

TEST_CASE("options_from: this machine's resources with a --work-dir that does not exist yet") {
  // The quick start passes a fresh --work-dir; the disk is measured before it is made.
  const auto missing = std::filesystem::temp_directory_path() / "heatblast-no-such-dir" / "lm";
  REQUIRE_FALSE(std::filesystem::exists(missing));
  auto options = options_from(flags_of({"--work-dir", missing.string()}));
  INFO((options ? std::string() : options.error().message));
  REQUIRE(options);
  REQUIRE(options->server.master.agents.size() == 1);
  CHECK(options->server.master.agents[0].resources.scalar("disk") > 0);
}

TEST_CASE("options_from: agents with shared and per-agent attributes") {
  auto options = options_from(flags_of(
      with_resources({"--agents", "3", "--attributes", "rack:r1;zone:a", "--agent-attributes",
                      "1=rack:r2", "--agent-attributes", "2=gpu:1"})));
  REQUIRE(options);
  const auto& agents = options->server.master.agents;
  REQUIRE(agents.size() == 3);
  CHECK(to_string(agents[0].attributes) == "rack:r1;zone:a");
  CHECK(to_string(agents[1].attributes) == "rack:r2;zone:a");
  CHECK(to_string(agents[2].attributes) == "rack:r1;zone:a;gpu:1");
  CHECK(agents[1].resources.scalar("mem") == 1024);

  auto missing = options_from(flags_of(with_resources({"--agent-attributes", "1=rack:r2"})));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "--agent-attributes: there is no agent 1 (--agents=1)");
}

TEST_CASE("options_from: beyond loopback, a warning that there is no authentication") {
  for (const char* listen : {"0.0.0.0:5050", ":5050", "[::]:5050", "10.1.2.3:5050"}) {
    CAPTURE(listen);
    auto options = options_from(flags_of(with_resources({"--listen", listen})));
    REQUIRE(options);
    REQUIRE(options->warnings.size() == 1);
    CHECK_THAT(options->warnings[0], Catch::Contains("no authentication") &&
                                         Catch::Contains("can run commands as this user"));
  }
  for (const char* listen : {"127.0.0.1:5050", "[::1]:5050", "localhost:5050"}) {
    CAPTURE(listen);
    auto options = options_from(flags_of(with_resources({"--listen", listen})));
    REQUIRE(options);
    CHECK(options->warnings.empty());
  }
}
