#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <mesos/v1/scheduler/scheduler.pb.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <catch2/catch.hpp>

#include "events_tool.hpp"
#include "heatblast/codec.hpp"
#include "heatblast/recordio.hpp"

using heatblast::ContentType;
using heatblast::apps::EventsToolOptions;
using mesos::v1::scheduler::Event;

namespace {

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

File temp_file() {
  return File(std::tmpfile(), &std::fclose);
}

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  return out;
}

struct Run {
  int status;
  std::string out;
  std::string err;
};

// Runs the tool on `input` written to a file whose path is given as the input.
Run run_tool(const std::string& input, EventsToolOptions options) {
  char path[] = "/tmp/mesos-events-test-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
  close(fd);
  options.input = path;
  auto out = temp_file();
  auto err = temp_file();
  const int status = heatblast::apps::run_events_tool(options, out.get(), err.get());
  std::remove(path);
  return {status, read_all(out.get()), read_all(err.get())};
}

std::string stream_of(ContentType type, int heartbeats_then_update) {
  heatblast::MessageCodec codec(type);
  std::string stream;
  Event e;
  e.set_type(Event::SUBSCRIBED);
  e.mutable_subscribed()->mutable_framework_id()->set_value("fw");
  heatblast::recordio_append(stream, codec.encode(e));
  for (int i = 0; i < heartbeats_then_update; ++i) {
    Event hb;
    hb.set_type(Event::HEARTBEAT);
    heatblast::recordio_append(stream, codec.encode(hb));
  }
  Event u;
  u.set_type(Event::UPDATE);
  u.mutable_update()->mutable_status()->mutable_task_id()->set_value("t");
  u.mutable_update()->mutable_status()->set_state(mesos::v1::TASK_FINISHED);
  heatblast::recordio_append(stream, codec.encode(u));
  return stream;
}

heatblast::Result<EventsToolOptions> parse(std::vector<std::string> args) {
  bool help = false;
  return heatblast::apps::parse_events_tool_args(args, help);
}

}  // namespace

TEST_CASE("mesos-events: flags", "[mesos-events]") {
  auto ok = parse({"--format", "protobuf", "--summary", "in.rec"});
  REQUIRE(ok.has_value());
  CHECK(ok->format == ContentType::protobuf);
  CHECK(ok->summary);
  CHECK(ok->input == "in.rec");

  auto eq = parse({"--to=json", "--max-record-size=1024"});
  REQUIRE(eq.has_value());
  CHECK(eq->reencode_to == ContentType::json);
  CHECK(eq->max_record_size == 1024);
  CHECK(eq->input == "-");

  CHECK_FALSE(parse({"--format", "xml"}).has_value());
  CHECK_FALSE(parse({"--format"}).has_value());
  CHECK_FALSE(parse({"--bogus"}).has_value());
  CHECK_FALSE(parse({"a", "b"}).has_value());
  CHECK_FALSE(parse({"--max-record-size", "-5"}).has_value());
  CHECK_FALSE(parse({"--summary", "--to", "json"}).has_value());
  bool help = false;
  heatblast::apps::parse_events_tool_args({"-h"}, help);
  CHECK(help);
}

TEST_CASE("mesos-events: detects the content type and prints JSON lines", "[mesos-events]") {
  for (auto type : {ContentType::json, ContentType::protobuf}) {
    CAPTURE(heatblast::to_string(type));
    auto r = run_tool(stream_of(type, 2), {});
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    CHECK(r.out ==
          "{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"framework_id\":{\"value\":\"fw\"}}}\n"
          "{\"type\":\"HEARTBEAT\"}\n"
          "{\"type\":\"HEARTBEAT\"}\n"
          "{\"type\":\"UPDATE\",\"update\":{\"status\":{\"task_id\":{\"value\":\"t\"},"
          "\"state\":\"TASK_FINISHED\"}}}\n");
  }
}

TEST_CASE("mesos-events: summary counts", "[mesos-events]") {
  EventsToolOptions options;
  options.summary = true;
  auto r = run_tool(stream_of(ContentType::protobuf, 3), options);
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("format                protobuf"));
  CHECK_THAT(r.out, Catch::Contains("events                5\n"));
  CHECK_THAT(r.out, Catch::Contains("  HEARTBEAT           3\n"));
  CHECK_THAT(r.out, Catch::Contains("  TASK_FINISHED       1\n"));
}

TEST_CASE("mesos-events: --to re-encodes the stream", "[mesos-events]") {
  const std::string pb = stream_of(ContentType::protobuf, 1);
  EventsToolOptions to_json;
  to_json.reencode_to = ContentType::json;
  auto j = run_tool(pb, to_json);
  REQUIRE(j.status == 0);
  CHECK(j.out == stream_of(ContentType::json, 1));

  EventsToolOptions back;
  back.reencode_to = ContentType::protobuf;
  auto p = run_tool(j.out, back);
  REQUIRE(p.status == 0);
  CHECK(p.out == pb);
}

TEST_CASE("mesos-events: bad input fails with the byte offset and keeps what came before",
          "[mesos-events]") {
  std::string stream = stream_of(ContentType::json, 0);
  const auto good = stream.size();
  stream += "12\n{\"type\":\"HE";  // truncated: cut inside the record

  auto truncated = run_tool(stream, {});
  CHECK(truncated.status == 1);
  CHECK_THAT(truncated.err, Catch::Contains("byte " + std::to_string(good)));
  CHECK_THAT(truncated.out, Catch::Contains("TASK_FINISHED"));  // events before are printed

  auto garbage = run_tool(stream_of(ContentType::json, 0) + "abc\n", {});
  CHECK(garbage.status == 1);
  CHECK_THAT(garbage.err, Catch::Contains("bad length prefix at byte " + std::to_string(good)));

  EventsToolOptions as_pb;
  as_pb.format = ContentType::protobuf;
  auto wrong = run_tool(stream_of(ContentType::json, 0), as_pb);
  CHECK(wrong.status == 1);
  CHECK_THAT(wrong.err, Catch::Contains("record #1 at byte 0"));

  auto missing = run_tool("", {});
  CHECK(missing.status == 0);

  EventsToolOptions nofile;
  nofile.input = "/nonexistent/x";
  auto out = temp_file();
  auto err = temp_file();
  CHECK(heatblast::apps::run_events_tool(nofile, out.get(), err.get()) == 1);
  CHECK_THAT(read_all(err.get()), Catch::Contains("cannot open '/nonexistent/x'"));
}

namespace {

// An UPDATE whose strings hold bytes that are not UTF-8 (a master passes them through): a lone
// 0xFF, a lone continuation byte, an overlong '/', a surrogate, a code point above U+10FFFF and
// a sequence cut at the end; between them, valid multi-byte characters that must survive.
Event invalid_utf8_update() {
  Event u;
  u.set_type(Event::UPDATE);
  auto* status = u.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value("t\xff");  // 1 bad byte
  status->set_message("caf\xc3\xa9 \x80 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");  // 12
  status->set_state(mesos::v1::TASK_FAILED);
  status->mutable_labels()->add_labels()->set_key("\xf0\x9d\x84\x9e ok");  // valid: G clef
  return u;
}
constexpr int kInvalidBytes = 13;

// Parses each line as JSON with UTF-8 validation (RapidJSON, independent of the tool's code).
std::vector<rapidjson::Document> parse_lines(const std::string& text) {
  std::vector<rapidjson::Document> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    rapidjson::Document doc;
    const std::string line = text.substr(start, end - start);
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.c_str(), line.size());
    INFO(line);
    CHECK_FALSE(doc.HasParseError());
    if (doc.HasParseError()) INFO(rapidjson::GetParseError_En(doc.GetParseError()));
    out.push_back(std::move(doc));
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("mesos-events: invalid UTF-8 in strings is replaced, so every line is JSON",
          "[mesos-events]") {
  const std::string fffd = "\xef\xbf\xbd";
  for (auto type : {ContentType::protobuf, ContentType::json}) {
    CAPTURE(heatblast::to_string(type));
    std::string stream = stream_of(type, 1);
    heatblast::recordio_append(stream, heatblast::MessageCodec(type).encode(invalid_utf8_update()));

    auto lines = run_tool(stream, {});
    REQUIRE(lines.status == 0);
    auto docs = parse_lines(lines.out);
    REQUIRE(docs.size() == 4);
    const auto& status = docs[3]["update"]["status"];
    CHECK(std::string(status["task_id"]["value"].GetString()) == "t" + fffd);
    CHECK(std::string(status["message"].GetString()) == "caf\xc3\xa9 " + fffd + " " + fffd + fffd +
                                                            " " + fffd + fffd + fffd + " " + fffd +
                                                            fffd + fffd + fffd + " " + fffd + fffd);
    CHECK(std::string(status["labels"]["labels"][0]["key"].GetString()) == "\xf0\x9d\x84\x9e ok");
    CHECK_THAT(lines.err, Catch::Contains(std::to_string(kInvalidBytes) + " byte(s) of invalid "
                                                                          "UTF-8"));

    EventsToolOptions summary;
    summary.summary = true;
    auto counted = run_tool(stream, summary);
    REQUIRE(counted.status == 0);
    CHECK_THAT(counted.out,
               Catch::Contains("invalid utf-8 bytes   " + std::to_string(kInvalidBytes) + "\n"));

    EventsToolOptions to_json;
    to_json.reencode_to = ContentType::json;
    auto reencoded = run_tool(stream, to_json);
    REQUIRE(reencoded.status == 0);
    auto again = run_tool(reencoded.out, {});  // its records are valid UTF-8 now
    REQUIRE(again.status == 0);
    CHECK(again.out == lines.out);
    CHECK(again.err.empty());
  }
  // Valid input: nothing replaced, nothing said.
  EventsToolOptions summary;
  summary.summary = true;
  auto clean = run_tool(stream_of(ContentType::protobuf, 1), summary);
  CHECK_THAT(clean.out, Catch::Contains("invalid utf-8 bytes   0\n"));
  CHECK(clean.err.empty());
}
