// etl-scheduler's logger: Go's log layout in text mode, one valid JSON object per line with -json.
#include "logger.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using heatblast::etl::json_quote;
using heatblast::etl::Logger;

namespace {

// 2016-11-14T21:51:17.302Z
std::chrono::system_clock::time_point fixed_time() {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(1479160277302));
}

struct Capture {
  std::vector<std::string> lines;
  Logger make(bool json, bool debug) {
    return Logger(
        {.json = json, .debug = debug}, [this](std::string_view line) { lines.emplace_back(line); },
        fixed_time);
  }
};

}  // namespace

TEST_CASE("text lines: Go's date layout, the message, a level unless info") {
  Capture out;
  Logger log = out.make(false, false);
  log.info("Subscribed: FrameworkID: abc-0001", {{"framework_id", "abc-0001"}});
  log.warning("Task with ID t in state FAILED");
  log.debug("HEARTBEAT");  // off without -debug
  REQUIRE(out.lines.size() == 2);
  // The local date and time, "YYYY/MM/DD HH:MM:SS ", as Go's log writes it.
  const std::string& first = out.lines[0];
  REQUIRE(first.size() > 20);
  CHECK(first[4] == '/');
  CHECK(first[7] == '/');
  CHECK(first[10] == ' ');
  CHECK(first[13] == ':');
  CHECK(first.substr(19) == " Subscribed: FrameworkID: abc-0001");
  CHECK(out.lines[1].substr(19) == " warning: Task with ID t in state FAILED");
}

TEST_CASE("debug lines only with -debug") {
  Capture out;
  Logger log = out.make(false, true);
  CHECK(log.debug_enabled());
  log.debug("HEARTBEAT");
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0].substr(19) == " debug: HEARTBEAT");
}

TEST_CASE("json: time, level, msg and the fields, one object per line") {
  Capture out;
  Logger log = out.make(true, false);
  log.info("Finished task: t.1", {{"task_id", "t.1"},
                                  {"round", std::int64_t{2}},
                                  {"cpu", 0.5},
                                  {"ok", true},
                                  {"message", "line\nbreak \"quoted\""}});
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0] ==
        "{\"time\":\"2016-11-14T21:51:17.302Z\",\"level\":\"info\",\"msg\":\"Finished task: "
        "t.1\",\"task_id\":\"t.1\",\"round\":2,\"cpu\":0.5,\"ok\":true,\"message\":\"line\\nbreak "
        "\\\"quoted\\\"\"}");
  log.error("x");
  CHECK(out.lines[1] ==
        "{\"time\":\"2016-11-14T21:51:17.302Z\",\"level\":\"error\",\"msg\":\"x\"}");
}

TEST_CASE("json_quote keeps every line valid JSON") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("tab\there") == "\"tab\\there\"");
  CHECK(json_quote(std::string("nul\0x", 5)) == "\"nul\\u0000x\"");
  CHECK(json_quote("back\\slash") == "\"back\\\\slash\"");
  CHECK(json_quote("caf\xc3\xa9") == "\"caf\xc3\xa9\"");                  // valid UTF-8 kept
  CHECK(json_quote("bad\xff") == "\"bad\xef\xbf\xbd\"");                  // invalid byte: U+FFFD
  CHECK(json_quote("cut\xe2\x82") == "\"cut\xef\xbf\xbd\xef\xbf\xbd\"");  // truncated sequence
  CHECK(json_quote("\xed\xa0\x80") == "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // surrogate
}
