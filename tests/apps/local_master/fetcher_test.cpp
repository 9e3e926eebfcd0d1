// The fetcher's decisions (file name, source, what is extracted) as pure functions, then
// fetch_uris with local files and the real tar, unzip and gzip programs. Downloads over HTTP
// are covered against a served file in tests/integration/local_master_fetcher_test.cpp.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "fetcher.hpp"

namespace {

using namespace heatblast::local_master;
namespace fs = std::filesystem;

mesos::v1::CommandInfo::URI uri(const std::string& value) {
  mesos::v1::CommandInfo::URI out;
  out.set_value(value);
  return out;
}

struct Scratch {
  Scratch() {
    std::string pattern = (fs::temp_directory_path() / "local-master-fetcher-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
    fs::create_directories(path + "/sandbox");
    fs::create_directories(path + "/src");
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string sandbox() const { return path + "/sandbox"; }
  std::string src(const std::string& name) const { return path + "/src/" + name; }
  std::string path;
};

void write_file(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void shell(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

heatblast::Result<void> fetch(const mesos::v1::CommandInfo& command, const std::string& sandbox,
                              FetcherOptions options = {}) {
  std::atomic<bool> cancelled{false};
  return fetch_uris(command, sandbox, options, cancelled, {});
}

}  // namespace

TEST_CASE("fetcher: archive suffixes as Mesos knows them") {
  for (const char* name :
       {"a.tar", "a.tgz", "a.tar.gz", "a.tbz2", "a.tar.bz2", "a.txz", "a.tar.xz"}) {
    INFO(name);
    CHECK(archive_kind(name) == Archive::tar);
  }
  CHECK(archive_kind("a.zip") == Archive::zip);
  CHECK(archive_kind("a.gz") == Archive::gzip);
  CHECK(archive_kind("a.json") == Archive::none);
  CHECK(archive_kind("tar") == Archive::none);
  CHECK(archive_kind("a.tar.gz.sig") == Archive::none);
}

TEST_CASE("fetcher: the file name is the URI's last path part") {
  CHECK(*uri_basename("http://host:8080/dir/app.tar.gz") == "app.tar.gz");
  // Like Mesos, the query string stays in the name.
  CHECK(*uri_basename("http://host/get?file=x") == "get?file=x");
  CHECK(*uri_basename("file:///opt/bin/tool") == "tool");
  CHECK(*uri_basename("/opt/bin/tool") == "tool");
  CHECK(*uri_basename("relative/tool") == "tool");
  CHECK_FALSE(uri_basename("http://host").has_value());
  CHECK_FALSE(uri_basename("http://host/").has_value());
  CHECK_FALSE(uri_basename("http://host/it's").has_value());
  CHECK_FALSE(uri_basename("C:\\tool").has_value());
}

TEST_CASE("fetcher: plan_fetch decides source, name and extraction") {
  const FetcherOptions options;

  auto plain = plan_fetch(uri("http://h/x/app.tar.gz"), options);
  REQUIRE(plain);
  CHECK(plain->source == FetchPlan::Source::http);
  CHECK(plain->location == "http://h/x/app.tar.gz");
  CHECK(plain->output == "app.tar.gz");
  CHECK(plain->extract == Archive::tar);  // extract defaults to true
  CHECK_FALSE(plain->executable);

  auto no_extract = uri("https://h/app.zip");
  no_extract.set_extract(false);
  CHECK(plan_fetch(no_extract, options)->extract == Archive::none);

  auto executable = uri("http://h/tool.tar");
  executable.set_executable(true);
  auto exec_plan = plan_fetch(executable, options);
  REQUIRE(exec_plan);
  CHECK(exec_plan->executable);
  CHECK(exec_plan->extract == Archive::none);  // executables are never extracted

  // output_file names the file, and decides extraction (as in Mesos).
  auto renamed = uri("http://h/download?id=7");
  renamed.set_output_file("pkg/app.zip");
  auto renamed_plan = plan_fetch(renamed, options);
  REQUIRE(renamed_plan);
  CHECK(renamed_plan->output == "pkg/app.zip");
  CHECK(renamed_plan->extract == Archive::zip);

  auto file = plan_fetch(uri("file:///opt/a.txt"), options);
  REQUIRE(file);
  CHECK(file->source == FetchPlan::Source::local);
  CHECK(file->location == "/opt/a.txt");
  CHECK(plan_fetch(uri("file://localhost/opt/a.txt"), options)->location == "/opt/a.txt");
  CHECK(plan_fetch(uri("  /opt/a.txt"), options)->location == "/opt/a.txt");

  SECTION("relative paths need a frameworks home") {
    CHECK_FALSE(plan_fetch(uri("bin/a.txt"), options).has_value());
    FetcherOptions with_home;
    with_home.frameworks_home = "/srv/frameworks";
    CHECK(plan_fetch(uri("bin/a.txt"), with_home)->location == "/srv/frameworks/bin/a.txt");
  }
  SECTION("refused") {
    CHECK(plan_fetch(uri("file://opt/a.txt"), options).error().what() ==
          "File URI only supports absolute paths");
    CHECK(plan_fetch(uri("hdfs://nn/a.jar"), options).error().what().find("'hdfs' scheme") !=
          std::string::npos);
    CHECK_FALSE(plan_fetch(uri(""), options).has_value());
    auto escape = uri("http://h/a");
    escape.set_output_file("../a");
    CHECK_FALSE(plan_fetch(escape, options).has_value());
    escape.set_output_file("/etc/a");
    CHECK_FALSE(plan_fetch(escape, options).has_value());
  }
}

TEST_CASE("fetcher: local files are copied, made executable, extracted") {
  Scratch dir;
  mesos::v1::CommandInfo command;

  write_file(dir.src("tool.sh"), "#!/bin/sh\necho tool\n");
  auto* tool = command.add_uris();
  tool->set_value("file://" + dir.src("tool.sh"));
  tool->set_executable(true);

  write_file(dir.src("tree/data/a.txt"), "alpha");
  shell(fmt::format("tar -C '{}' -czf '{}' data", dir.src("tree"), dir.src("tree.tar.gz")));
  command.add_uris()->set_value(dir.src("tree.tar.gz"));

  write_file(dir.src("zipped/b.txt"), "beta");
  shell(fmt::format("cd '{}' && zip -q '{}' b.txt", dir.src("zipped"), dir.src("b.zip")));
  command.add_uris()->set_value("file://" + dir.src("b.zip"));

  write_file(dir.src("c.txt"), "gamma");
  shell(fmt::format("gzip -k '{}'", dir.src("c.txt")));
  command.add_uris()->set_value(dir.src("c.txt.gz"));

  write_file(dir.src("settings"), "delta");
  auto* renamed = command.add_uris();
  renamed->set_value(dir.src("settings"));
  renamed->set_output_file("conf/app.conf");

  auto kept = command.add_uris();
  kept->set_value(dir.src("tree.tar.gz"));
  kept->set_output_file("raw.tar.gz");
  kept->set_extract(false);

  auto fetched = fetch(command, dir.sandbox());
  INFO((fetched ? std::string() : fetched.error().what()));
  REQUIRE(fetched);
  const std::string sandbox = dir.sandbox();
  struct stat info {};
  REQUIRE(::stat((sandbox + "/tool.sh").c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0755);
  CHECK(read_file(sandbox + "/data/a.txt") == "alpha");
  CHECK(fs::exists(sandbox + "/tree.tar.gz"));  // the archive stays, as in Mesos
  CHECK(read_file(sandbox + "/b.txt") == "beta");
  CHECK(read_file(sandbox + "/c.txt") == "gamma");
  CHECK(read_file(sandbox + "/conf/app.conf") == "delta");
  CHECK(fs::exists(sandbox + "/raw.tar.gz"));
}

TEST_CASE("fetcher: a process started during a copy does not inherit the file being written") {
  // Such a process would make every exec of the fetched file fail with ETXTBSY while it lives
  // (a task's supervisor lives as long as its task). Processes are started while a 64 MiB
  // (sparse) file is copied; each lists the descriptors it was born with.
  Scratch dir;
  const std::string big = dir.src("big.bin");
  {
    std::ofstream out(big, std::ios::binary);
    out.seekp(64 * 1024 * 1024 - 1);
    out.put('x');
  }
  mesos::v1::CommandInfo command;
  command.add_uris()->set_value(big);
  std::atomic<bool> done{false};
  heatblast::Result<void> fetched;
  std::thread copier([&] {
    fetched = fetch(command, dir.sandbox());
    done = true;
  });
  const std::string copy = dir.sandbox() + "/big.bin";
  int probes = 0;
  std::string seen;
  while (!done) {
    std::FILE* ls = ::popen("ls -l /proc/self/fd/ 2>/dev/null", "r");
    REQUIRE(ls != nullptr);
    char line[512];
    while (std::fgets(line, sizeof line, ls) != nullptr) {
      if (std::string_view(line).find(copy) != std::string_view::npos) seen = line;
    }
    ::pclose(ls);
    ++probes;
  }
  copier.join();
  REQUIRE(fetched);
  INFO(probes << " processes started during the copy");
  CHECK(seen.empty());
  CHECK(fs::file_size(copy) == 64u * 1024 * 1024);
}

TEST_CASE("fetcher: failures name the URI and the cause") {
  Scratch dir;
  mesos::v1::CommandInfo command;

  SECTION("a missing file") {
    command.add_uris()->set_value(dir.src("absent.bin"));
    auto fetched = fetch(command, dir.sandbox());
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().what().rfind(fmt::format("'{}': cannot read", dir.src("absent.bin")),
                                       0) == 0);
  }
  SECTION("a file over the size limit") {
    write_file(dir.src("big.bin"), std::string(4096, 'x'));
    command.add_uris()->set_value(dir.src("big.bin"));
    FetcherOptions small;
    small.max_bytes = 1024;
    auto fetched = fetch(command, dir.sandbox(), small);
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().what().find("more than the fetcher's limit") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.sandbox() + "/big.bin"));
  }
  SECTION("an archive that is not one") {
    write_file(dir.src("broken.tar.gz"), "not gzip at all");
    command.add_uris()->set_value(dir.src("broken.tar.gz"));
    auto fetched = fetch(command, dir.sandbox());
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().what().find("Failed to extract") != std::string::npos);
    CHECK(fetched.error().what().find("'tar' exited with status") != std::string::npos);
  }
  SECTION("a cancelled fetch does nothing") {
    write_file(dir.src("a.txt"), "a");
    command.add_uris()->set_value(dir.src("a.txt"));
    std::atomic<bool> cancelled{true};
    auto fetched = fetch_uris(command, dir.sandbox(), {}, cancelled, {});
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().code == heatblast::errc::cancelled);
    CHECK_FALSE(fs::exists(dir.sandbox() + "/a.txt"));
  }
}
