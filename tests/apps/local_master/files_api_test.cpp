// The sandbox file API: Mesos's shapes, and no way out of the sandboxes for a hostile client.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "files_api.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace heatblast::local_master;
namespace fs = std::filesystem;
using heatblast::testing::TempDir;

struct Sandboxes {
  TempDir dir{"local-master-files"};
  std::string root = dir.str();
  std::string sandbox;
  std::string outside;

  Sandboxes() {
    sandbox = root + "/slaves/S0/frameworks/F/executors/t/runs/c1";
    outside = root + "/secret";
    fs::create_directories(sandbox + "/sub");
    fs::create_directories(outside);
    write(sandbox + "/stdout", "hello\n");
    write(outside + "/passwd", "root:x:0:0\n");
    fs::create_directory_symlink(outside, sandbox + "/escape");
    REQUIRE(::mkfifo((sandbox + "/pipe").c_str(), 0600) == 0);
  }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  std::vector<std::string> list() const { return {sandbox}; }
};

rapidjson::Document parse(const FilesAnswer& answer) {
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  REQUIRE(answer.json);
  rapidjson::Document document;
  document.Parse(answer.body.c_str(), answer.body.size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

}  // namespace

TEST_CASE("files_browse lists a sandbox directory as Mesos's file infos") {
  Sandboxes s;
  auto listing = parse(files_browse(s.list(), {{"path", s.sandbox}}));
  REQUIRE(listing.IsArray());
  std::vector<std::string> paths;
  for (const auto& entry : listing.GetArray()) {
    paths.emplace_back(entry["path"].GetString());
    CHECK(entry.HasMember("uid"));
    CHECK(entry.HasMember("gid"));
    CHECK(entry.HasMember("mtime"));
    CHECK(entry.HasMember("nlink"));
    if (paths.back() == s.sandbox + "/stdout") {
      CHECK(entry["size"].GetInt() == 6);
      CHECK_THAT(entry["mode"].GetString(), Catch::StartsWith("-rw"));
    }
    if (paths.back() == s.sandbox + "/sub") CHECK(entry["mode"].GetString()[0] == 'd');
  }
  CHECK(paths == std::vector<std::string>{s.sandbox + "/escape", s.sandbox + "/pipe",
                                          s.sandbox + "/stdout", s.sandbox + "/sub"});
  // A trailing slash names the same directory.
  CHECK(parse(files_browse(s.list(), {{"path", s.sandbox + "/"}})).Size() == 4);
  CHECK(parse(files_browse(s.list(), {{"path", s.sandbox + "/sub"}})).Size() == 0);
}

TEST_CASE("files_browse and files_read refuse every path outside the sandboxes") {
  Sandboxes s;
  for (auto* serve : {&files_browse, &files_read}) {
    CHECK((*serve)(s.list(), {}).status == 400);
    CHECK((*serve)(s.list(), {{"path", ""}}).status == 400);
    CHECK((*serve)(s.list(), {{"path", "relative/stdout"}}).status == 400);
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "/../../../../../../../secret"}}).status == 400);
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "/sub/.."}}).status == 400);
    CHECK((*serve)(s.list(), {{"path", s.outside}}).status == 404);
    CHECK((*serve)(s.list(), {{"path", "/etc"}}).status == 404);
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "/escape"}}).status == 404);
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "/escape/passwd"}}).status == 404);
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "/missing"}}).status == 404);
    // A sibling whose name starts like the sandbox's is not inside it.
    CHECK((*serve)(s.list(), {{"path", s.sandbox + "x"}}).status == 404);
    CHECK((*serve)({}, {{"path", s.sandbox}}).status == 404);
  }
}

TEST_CASE("files_read reads at an offset, bounded, and never blocks") {
  Sandboxes s;
  const std::string out = s.sandbox + "/stdout";
  SECTION("no offset: the size") {
    auto read = parse(files_read(s.list(), {{"path", out}}));
    CHECK(read["data"].GetString() == std::string());
    CHECK(read["offset"].GetInt() == 6);
  }
  SECTION("offset and length") {
    auto all = parse(files_read(s.list(), {{"path", out}, {"offset", "0"}}));
    CHECK(all["data"].GetString() == std::string("hello\n"));
    CHECK(all["offset"].GetInt() == 0);
    auto part = parse(files_read(s.list(), {{"path", out}, {"offset", "2"}, {"length", "2"}}));
    CHECK(part["data"].GetString() == std::string("ll"));
    CHECK(part["offset"].GetInt() == 2);
    auto past = parse(files_read(s.list(), {{"path", out}, {"offset", "100"}}));
    CHECK(past["data"].GetString() == std::string());
  }
  SECTION("bad numbers") {
    CHECK(files_read(s.list(), {{"path", out}, {"offset", "-1"}}).status == 400);
    CHECK(files_read(s.list(), {{"path", out}, {"offset", "1x"}}).status == 400);
    CHECK(files_read(s.list(), {{"path", out}, {"offset", "0"}, {"length", "-5"}}).status == 400);
    CHECK(files_read(s.list(), {{"path", out}, {"offset", "99999999999999999999999"}}).status ==
          400);
  }
  SECTION("a huge length is capped") {
    Sandboxes::write(out, std::string(3 * kMaxFileRead, 'x'));
    auto read =
        parse(files_read(s.list(), {{"path", out}, {"offset", "0"}, {"length", "100000000000"}}));
    CHECK(std::string(read["data"].GetString()).size() == kMaxFileRead);
  }
  SECTION("directories, FIFOs and bytes that are not UTF-8") {
    CHECK(files_read(s.list(), {{"path", s.sandbox}, {"offset", "0"}}).status == 400);
    CHECK(files_read(s.list(), {{"path", s.sandbox + "/pipe"}, {"offset", "0"}}).status == 400);
    Sandboxes::write(out, "a\xff\xc3\xa9z");
    auto read = parse(files_read(s.list(), {{"path", out}, {"offset", "0"}}));
    CHECK(read["data"].GetString() == std::string("a\xc3\xbf\xc3\xa9z"));  // \u00ff, then é
  }
}
