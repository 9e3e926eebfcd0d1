// etl-scheduler's command line: every flag in Go's four spellings, the Go tool's defaults, bad
// values, and the -h text in the layout of Go's flag.PrintDefaults.
#include "flags.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using heatblast::etl::FlagDefaults;
using heatblast::etl::Flags;
using heatblast::etl::OnStop;
using heatblast::etl::parse_flags;
using heatblast::etl::parse_listen;
using heatblast::etl::usage;

namespace {

const FlagDefaults kDefaults{"alice"};

Flags parse_ok(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, kDefaults);
  INFO("args: " << Catch::Detail::stringify(args));
  REQUIRE(flags.has_value());
  return *flags;
}

std::string parse_error(const std::vector<std::string>& args) {
  auto flags = parse_flags(args, kDefaults);
  INFO("args: " << Catch::Detail::stringify(args));
  REQUIRE_FALSE(flags.has_value());
  return flags.error().what();
}

// The four ways Go's flag package takes "-name value".
std::vector<std::vector<std::string>> spellings(const std::string& name, const std::string& value) {
  return {{"-" + name, value},
          {"-" + name + "=" + value},
          {"--" + name, value},
          {"--" + name + "=" + value}};
}

}  // namespace

TEST_CASE("defaults are the Go tool's, and the current user") {
  const Flags flags = parse_ok({});
  CHECK(flags.cmd == "echo 'Hello World'");
  CHECK(flags.cpu == 0.1);
  CHECK(flags.mem == 64);
  CHECK(flags.img.empty());
  CHECK(flags.master == "127.0.0.1:5050");
  CHECK(flags.masters == std::vector<std::string>{"127.0.0.1:5050"});
  CHECK(flags.maxtasks == 5);
  CHECK(flags.user == "alice");
  CHECK(flags.wait_seconds == 60);
  CHECK_FALSE(flags.debug);
  // Ours.
  CHECK(flags.name == "etl-scheduler");
  CHECK(flags.role.empty());
  CHECK(flags.principal.empty());
  CHECK(flags.secret_file.empty());
  CHECK(flags.failover_timeout_seconds == 7 * 24 * 3600);
  CHECK(flags.rounds == 0);
  CHECK(flags.timeout_seconds == 0);
  CHECK_FALSE(flags.json);
  CHECK(flags.on_stop == OnStop::wait);
  CHECK(flags.listen == ":8080");
  CHECK(flags.state_file == "etl-scheduler.db");
  CHECK_FALSE(flags.help);
}

TEST_CASE("every valued flag in the four spellings") {
  struct Case {
    std::string name;
    std::string value;
    std::function<bool(const Flags&)> holds;
  };
  const std::vector<Case> cases = {
      {"cmd", "sleep 1; echo done", [](const Flags& f) { return f.cmd == "sleep 1; echo done"; }},
      {"cpu", "0.5", [](const Flags& f) { return f.cpu == 0.5; }},
      {"mem", "128", [](const Flags& f) { return f.mem == 128; }},
      {"img", "busybox:1.36", [](const Flags& f) { return f.img == "busybox:1.36"; }},
      {"master", "a:5050,b:5051",
       [](const Flags& f) {
         return f.master == "a:5050,b:5051" &&
                f.masters == std::vector<std::string>{"a:5050", "b:5051"};
       }},
      {"maxtasks", "2", [](const Flags& f) { return f.maxtasks == 2; }},
      {"user", "etl", [](const Flags& f) { return f.user == "etl"; }},
      {"wait", "30", [](const Flags& f) { return f.wait_seconds == 30; }},
      {"name", "nightly", [](const Flags& f) { return f.name == "nightly"; }},
      {"role", "batch", [](const Flags& f) { return f.role == "batch"; }},
      {"principal", "etl", [](const Flags& f) { return f.principal == "etl"; }},
      {"failover-timeout", "3600",
       [](const Flags& f) { return f.failover_timeout_seconds == 3600; }},
      {"rounds", "3", [](const Flags& f) { return f.rounds == 3; }},
      {"timeout", "90", [](const Flags& f) { return f.timeout_seconds == 90; }},
      {"on-stop", "kill", [](const Flags& f) { return f.on_stop == OnStop::kill; }},
      {"listen", "127.0.0.1:9090", [](const Flags& f) { return f.listen == "127.0.0.1:9090"; }},
      {"state-file", "/var/lib/etl/state.db",
       [](const Flags& f) { return f.state_file == "/var/lib/etl/state.db"; }},
  };
  for (const auto& c : cases) {
    for (const auto& args : spellings(c.name, c.value)) {
      const Flags flags = parse_ok(args);
      INFO("args: " << Catch::Detail::stringify(args));
      CHECK(c.holds(flags));
    }
  }
  // -secret-file needs -principal.
  for (const auto& args : spellings("secret-file", "/etc/etl/secret")) {
    std::vector<std::string> with = args;
    with.insert(with.end(), {"-principal", "etl"});
    CHECK(parse_ok(with).secret_file == "/etc/etl/secret");
  }
}

TEST_CASE("booleans: bare, =true/=false in Go's spellings, never the next argument") {
  for (const std::string name : {"debug", "json"}) {
    auto get = [&](const Flags& f) { return name == "debug" ? f.debug : f.json; };
    CHECK(get(parse_ok({"-" + name})));
    CHECK(get(parse_ok({"--" + name})));
    for (const std::string yes : {"1", "t", "T", "true", "TRUE", "True"}) {
      CHECK(get(parse_ok({"-" + name + "=" + yes})));
      CHECK(get(parse_ok({"--" + name + "=" + yes})));
    }
    for (const std::string no : {"0", "f", "F", "false", "FALSE", "False"}) {
      CHECK_FALSE(get(parse_ok({"-" + name, "-" + name + "=" + no})));
    }
    CHECK(parse_error({"-" + name + "=yes"}) ==
          "invalid boolean value \"yes\" for -" + name + ": parse error");
    // As in Go, "-debug false" is the flag and then a positional argument.
    CHECK(parse_error({"-" + name, "false"}).starts_with("unexpected argument \"false\""));
  }
}

TEST_CASE("the master flag takes a zk:// URL whole: its commas separate ZooKeeper servers") {
  const auto flags = parse_ok({"-master", "zk://z1:2181,z2:2181/mesos"});
  CHECK(flags.masters == std::vector<std::string>{"zk://z1:2181,z2:2181/mesos"});
  CHECK(parse_error({"-master", "zk://z1/mesos"})
            .starts_with("invalid value \"zk://z1/mesos\" for flag -master: "));
}

TEST_CASE("numbers are read as Go reads them") {
  CHECK(parse_ok({"-maxtasks", "0x10"}).maxtasks == 16);
  CHECK(parse_ok({"-maxtasks", "010"}).maxtasks == 8);  // Go: a leading 0 is octal
  CHECK(parse_ok({"-maxtasks", "0b11"}).maxtasks == 3);
  CHECK(parse_ok({"-maxtasks", "0o7"}).maxtasks == 7);
  CHECK(parse_ok({"-maxtasks", "+4"}).maxtasks == 4);
  CHECK(parse_ok({"-mem", "0x1_00"}).mem == 256);  // underscores only after a base prefix
}

TEST_CASE("bad values: Go's one-line errors") {
  CHECK(parse_error({"-cpu", "abc"}) == "invalid value \"abc\" for flag -cpu: parse error");
  CHECK(parse_error({"-cpu=0"}) == "invalid value \"0\" for flag -cpu: must be greater than 0");
  CHECK(parse_error({"-cpu", "inf"}) == "invalid value \"inf\" for flag -cpu: value out of range");
  CHECK(parse_error({"-maxtasks", "-1"}) ==
        "invalid value \"-1\" for flag -maxtasks: must be at least 1");
  CHECK(parse_error({"-maxtasks", "0"}) ==
        "invalid value \"0\" for flag -maxtasks: must be at least 1");
  CHECK(parse_error({"-maxtasks", "1.5"}) ==
        "invalid value \"1.5\" for flag -maxtasks: parse error");
  CHECK(parse_error({"-maxtasks", "99999999999"}) ==
        "invalid value \"99999999999\" for flag -maxtasks: value out of range");
  CHECK(parse_error({"-mem", "64MB"}) == "invalid value \"64MB\" for flag -mem: parse error");
  CHECK(parse_error({"-mem", "1_024"}) == "invalid value \"1_024\" for flag -mem: parse error");
  CHECK(parse_error({"-wait", "0"}) ==
        "invalid value \"0\" for flag -wait: must be greater than 0");
  CHECK(parse_error({"-wait", "-5"}) ==
        "invalid value \"-5\" for flag -wait: must be greater than 0");
  CHECK(parse_error({"-wait", "soon"}) == "invalid value \"soon\" for flag -wait: parse error");
  CHECK(parse_error({"-rounds", "-1"}) ==
        "invalid value \"-1\" for flag -rounds: must be at least 0");
  CHECK(parse_error({"-timeout", "-1"}) ==
        "invalid value \"-1\" for flag -timeout: must be at least 0");
  CHECK(parse_error({"-on-stop", "later"}) ==
        "invalid value \"later\" for flag -on-stop: must be \"wait\" or \"kill\"");
  CHECK(parse_error({"-name", ""}) == "invalid value \"\" for flag -name: must not be empty");
  CHECK(parse_error({"-master", ""}).starts_with("invalid value \"\" for flag -master: "));
  CHECK(parse_error({"-listen", "8080"}).starts_with("invalid value \"8080\" for flag -listen: "));
  CHECK(
      parse_error({"-listen", ":99999"}).starts_with("invalid value \":99999\" for flag -listen"));
  CHECK(parse_error({"-nope"}) == "flag provided but not defined: -nope");
  CHECK(parse_error({"--nope=1"}) == "flag provided but not defined: -nope");
  CHECK(parse_error({"-cmd"}) == "flag needs an argument: -cmd");
  CHECK(parse_error({"---cmd", "x"}) == "bad flag syntax: ---cmd");
  CHECK(parse_error({"-=x"}) == "bad flag syntax: -=x");
  CHECK(parse_error({"-secret-file", "/s"}) == "-secret-file needs -principal");
  // Every error is one line.
  for (const auto& args : std::vector<std::vector<std::string>>{{"-cpu", "abc"}, {"-nope"}}) {
    CHECK(parse_error(args).find('\n') == std::string::npos);
  }
}

TEST_CASE("constraint: NAME=VALUE, repeatable, into the task constraints") {
  CHECK(parse_ok({}).constraints.empty());
  const Flags flags = parse_ok({"-constraint", "rack=r1", "--constraint=zone=a=b", "-constraint",
                                "hostname=", "-constraint", "rack=r1"});
  CHECK(flags.constraints ==
        std::map<std::string, std::string>{{"rack", "r1"}, {"zone", "a=b"}, {"hostname", ""}});
  CHECK(parse_error({"-constraint", "rack"}) ==
        "invalid value \"rack\" for flag -constraint: must be NAME=VALUE");
  CHECK(parse_error({"-constraint", "=r1"}) ==
        "invalid value \"=r1\" for flag -constraint: must be NAME=VALUE");
  CHECK(parse_error({"-constraint", "rack=r1", "-constraint", "rack=r2"}) ==
        "invalid value \"rack=r2\" for flag -constraint: 'rack' is constrained to \"r1\" already");
  CHECK(usage("etl-scheduler", kDefaults).find("  -constraint string\n") != std::string::npos);
}

TEST_CASE("a value may look like a flag, '--' ends the flags, positional arguments are refused") {
  CHECK(parse_ok({"-cmd", "-x"}).cmd == "-x");
  CHECK(parse_ok({"-cmd", "--", "-wait", "5"}).wait_seconds == 5);
  CHECK(parse_ok({"-maxtasks", "2", "--"}).maxtasks == 2);
  // Go would silently ignore "hi" and everything after it; we refuse.
  CHECK(parse_error({"-cmd", "echo", "hi"}).starts_with("unexpected argument \"hi\""));
  CHECK(parse_error({"--", "-wait", "5"}).starts_with("unexpected argument \"-wait\""));
  // The last of repeated flags wins, as in Go.
  CHECK(parse_ok({"-maxtasks", "2", "-maxtasks=3"}).maxtasks == 3);
  // -user '' means the current user (Go's behaviour).
  CHECK(parse_ok({"-user", ""}).user == "alice");
}

TEST_CASE("fractions of seconds for -wait and -timeout") {
  CHECK(parse_ok({"-wait", "0.3"}).wait_seconds == 0.3);
  CHECK(parse_ok({"-timeout=1.5"}).timeout_seconds == 1.5);
  CHECK(parse_ok({"-failover-timeout", "0"}).failover_timeout_seconds == 0);
}

TEST_CASE("help: -h, -help and their spellings ask for the usage") {
  for (const std::string arg : {"-h", "-help", "--h", "--help"}) {
    CHECK(parse_ok({arg}).help);
    CHECK(parse_ok({"-maxtasks", "2", arg, "-nope"}).help);  // Go stops at the help flag
  }
}

TEST_CASE("no current user and no -user is an error") {
  auto flags = parse_flags({}, FlagDefaults{""});
  REQUIRE_FALSE(flags.has_value());
  CHECK(flags.error().what() == "cannot tell the current user: give -user");
  CHECK(parse_flags({"-user", "bob"}, FlagDefaults{""})->user == "bob");
}

TEST_CASE("usage: Go's flag.PrintDefaults layout") {
  const std::string text = usage("etl-scheduler", kDefaults);
  CHECK(text.starts_with("Usage of etl-scheduler:\n"));
  // The Go tool's lines, byte for byte (Go writes two spaces, the flag, its type, then a newline,
  // four spaces and a tab before the description).
  for (const char* line : {
           "  -cmd string\n    \tCommand to execute (default \"echo 'Hello World'\")\n",
           "  -cpu float\n    \tCpu Resources for one task (default 0.1)\n",
           "  -debug\n    \tPrint debug logs\n",
           "  -maxtasks int\n    \tMaximal concurrent tasks (default 5)\n",
           "  -mem int\n    \tMemory for one task in MB (default 64)\n",
           "  -wait int\n    \tWait in seconds before launching new tasks (default 60)\n",
           "  -user string\n    \tFramework user (default \"alice\")\n",
       }) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  CHECK(text.find("  -master string\n    \tMaster address <ip:port>") != std::string::npos);
  CHECK(text.find("(default \"127.0.0.1:5050\")\n") != std::string::npos);
  // Zero defaults are left out, as Go does.
  CHECK(text.find("  -rounds int\n") != std::string::npos);
  CHECK(text.find("  -img string\n    \tDocker image to run the command in (empty: no "
                  "container)\n") != std::string::npos);
  CHECK(text.find("(default 0)") == std::string::npos);
  CHECK(text.find("(default \"\")") == std::string::npos);
  CHECK(text.find("(default 604800)") != std::string::npos);
  CHECK(text.find("(default \":8080\")") != std::string::npos);
  CHECK(text.find("(default \"wait\")") != std::string::npos);
  // In name order.
  std::vector<std::size_t> at;
  for (const char* name : {"-cmd ",        "-cpu ",     "-debug\n", "-failover-timeout ",
                           "-img ",        "-json\n",   "-listen ", "-master ",
                           "-maxtasks ",   "-mem ",     "-name ",   "-on-stop ",
                           "-principal ",  "-role ",    "-rounds ", "-secret-file ",
                           "-state-file ", "-timeout ", "-user ",   "-wait "}) {
    at.push_back(text.find(std::string("\n  ") + name));
    INFO(name);
    CHECK(at.back() != std::string::npos);
  }
  CHECK(std::is_sorted(at.begin(), at.end()));
}

TEST_CASE("listen: the addresses -listen takes") {
  auto all = parse_listen(":8080");
  REQUIRE(all.has_value());
  CHECK(all->address == "0.0.0.0");
  CHECK(all->port == 8080);
  CHECK(parse_listen("127.0.0.1:0")->address == "127.0.0.1");
  CHECK(parse_listen("[::1]:9000")->address == "::1");
  CHECK(parse_listen("localhost:9000")->address == "127.0.0.1");
  CHECK_FALSE(parse_listen("9000").has_value());
  CHECK_FALSE(parse_listen("host:").has_value());
  CHECK_FALSE(parse_listen("host:http").has_value());
}
