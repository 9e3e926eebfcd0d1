// local-master's fetcher end to end: a framework launches tasks whose CommandInfo.uris point at
// files this test serves over loopback HTTP (or at local files); the tasks' commands prove what
// arrived in their sandboxes. Everything runs on the test's io_context; the downloads run on
// the runner's fetch threads.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "heatblast/http_server.hpp"
#include "support/local_master_fixture.hpp"
#include "support/test_framework.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::testing::LocalMaster;
using heatblast::testing::TempDir;
using heatblast::testing::TestFramework;
using heatblast::testing::wait_for;
namespace http = heatblast::http;
using mesos::v1::TaskStatus;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

// Serves `files` (path -> body) with 200 and anything else with 404; requests for /hang are
// never answered (the responders are kept until the server goes).
class FileServer {
 public:
  explicit FileServer(boost::asio::io_context& io)
      : server_(io.get_executor(), http::ServerOptions{},
                [this](const http::ServerRequest& request, http::Responder responder) {
                  ++requests_[request.path];
                  if (request.path == "/hang") {
                    hanging_.push_back(std::move(responder));
                    return;
                  }
                  auto it = files_.find(request.path);
                  if (it == files_.end()) return (void)responder.respond(404, {}, "no\n");
                  responder.respond(200, {}, it->second);
                }) {
    REQUIRE(server_.start());
  }
  ~FileServer() { server_.stop(); }

  void add(const std::string& path, std::string body) { files_[path] = std::move(body); }
  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", server_.port(), path);
  }
  int requests(const std::string& path) const {
    auto it = requests_.find(path);
    return it == requests_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, std::string> files_;
  std::map<std::string, int> requests_;
  std::vector<http::Responder> hanging_;
  http::Server server_;
};

void shell(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

mesos::v1::CommandInfo::URI* add_uri(mesos::v1::TaskInfo& task, const std::string& value) {
  auto* uri = task.mutable_command()->add_uris();
  uri->set_value(value);
  return uri;
}

std::vector<mesos::v1::TaskState> states(const std::vector<TaskStatus>& updates) {
  std::vector<mesos::v1::TaskState> out;
  for (const auto& status : updates)
    out.push_back(status.state());
  return out;
}

}  // namespace

TEST_CASE("fetcher: an executable URI is downloaded into the sandbox and run",
          "[integration][fetcher]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  FileServer files(io);
  files.add("/bin/hello.sh", "#!/bin/sh\necho fetched-and-ran > proof.txt\n");
  TestFramework fw(io, {master.address(0)}, ContentType::json);
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  auto task = fw.command_task("hello", "./hello.sh && test -x hello.sh", offer);
  add_uri(task, files.url("/bin/hello.sh"))->set_executable(true);
  fw.launch(offer, {task});
  fw.wait_task_state("hello", mesos::v1::TASK_FINISHED, 10s);
  CHECK(files.requests("/bin/hello.sh") == 1);
  // STARTING comes from the command executor, which only runs once the fetch is done.
  CHECK(states(fw.updates("hello")) == std::vector<mesos::v1::TaskState>{mesos::v1::TASK_STARTING,
                                                                         mesos::v1::TASK_RUNNING,
                                                                         mesos::v1::TASK_FINISHED});

  auto snapshot = master.task(fw.framework_ids().back(), "hello");
  REQUIRE(snapshot);
  const std::string sandbox = snapshot->sandbox;
  CHECK(read_file(sandbox + "/proof.txt") == "fetched-and-ran\n");
  // The fetcher's log goes to the sandbox's stderr, as Mesos's does.
  CHECK(read_file(sandbox + "/stderr").find("Fetching URI '" + files.url("/bin/hello.sh")) !=
        std::string::npos);

  // /state and /master/tasks show where each task's sandbox is; the agent's state too.
  auto tasks = parse_json(master.get("/master/tasks").body);
  REQUIRE(tasks["tasks"].Size() == 1);
  CHECK(tasks["tasks"][0]["sandbox"].GetString() == sandbox);
  auto state = parse_json(master.get("/state").body);
  const auto& framework = state["frameworks"][0];
  const auto& listed =
      framework["tasks"].Size() == 1 ? framework["tasks"][0] : framework["completed_tasks"][0];
  CHECK(listed["sandbox"].GetString() == sandbox);
  auto agent = parse_json(master.get(offer.url().path() + "/state").body);
  const auto& executors =
      agent["frameworks"].Size() == 1 ? agent["frameworks"][0] : agent["completed_frameworks"][0];
  const auto& executor = executors["executors"].Size() == 1 ? executors["executors"][0]
                                                            : executors["completed_executors"][0];
  CHECK(executor["directory"].GetString() == sandbox);
}

TEST_CASE("fetcher: tar.gz and zip archives are extracted, output_file names a file",
          "[integration][fetcher]") {
  TempDir scratch("heatblast-fetcher");
  const std::string src = scratch.str();
  std::filesystem::create_directories(src + "/tree/data");
  std::ofstream(src + "/tree/data/a.txt") << "alpha";
  std::ofstream(src + "/b.txt") << "beta";
  shell(fmt::format("tar -C '{}/tree' -czf '{}/app.tar.gz' data", src, src));
  shell(fmt::format("cd '{}' && zip -q b.zip b.txt", src));

  boost::asio::io_context io;
  LocalMaster master(io);
  FileServer files(io);
  files.add("/pkg/app.tar.gz", read_file(src + "/app.tar.gz"));
  files.add("/download", "gamma");
  TestFramework fw(io, {master.address(0)}, ContentType::protobuf);
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  auto task =
      fw.command_task("unpack",
                      "test \"$(cat data/a.txt)\" = alpha && test \"$(cat b.txt)\" = beta && "
                      "test \"$(cat conf/settings)\" = gamma",
                      offer);
  add_uri(task, files.url("/pkg/app.tar.gz"));  // over HTTP, extracted
  add_uri(task, "file://" + src + "/b.zip");    // a file URI, extracted
  add_uri(task, files.url("/download"))->set_output_file("conf/settings");
  fw.launch(offer, {task});
  fw.wait_task_state("unpack", mesos::v1::TASK_FINISHED, 10s);
  auto snapshot = master.task(fw.framework_ids().back(), "unpack");
  REQUIRE(snapshot);
  CHECK(std::filesystem::exists(snapshot->sandbox + "/app.tar.gz"));
  CHECK(std::filesystem::exists(snapshot->sandbox + "/b.zip"));
}

TEST_CASE("fetcher: a URI that 404s fails the task with the URI and the cause",
          "[integration][fetcher]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  FileServer files(io);
  TestFramework fw(io, {master.address(0)}, ContentType::json);
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  auto task = fw.command_task("missing", "touch ran.txt", offer);
  const std::string url = files.url("/nothing/here.tar.gz");
  add_uri(task, url);
  fw.launch(offer, {task});
  fw.wait_task_state("missing", mesos::v1::TASK_FAILED, 10s);
  const auto updates = fw.updates("missing");
  REQUIRE(updates.size() == 1);  // straight from STAGING: the executor never ran
  const auto& failed = updates.front();
  CHECK(failed.source() == TaskStatus::SOURCE_AGENT);
  CHECK(failed.reason() == TaskStatus::REASON_CONTAINER_LAUNCH_FAILED);
  INFO(failed.message());
  CHECK(failed.message().rfind("Failed to launch container: Failed to fetch all URIs", 0) == 0);
  CHECK(failed.message().find("'" + url + "'") != std::string::npos);
  CHECK(failed.message().find("HTTP return code 404") != std::string::npos);
  auto snapshot = master.task(fw.framework_ids().back(), "missing");
  REQUIRE(snapshot);
  CHECK_FALSE(std::filesystem::exists(snapshot->sandbox + "/ran.txt"));
  CHECK_FALSE(std::filesystem::exists(snapshot->sandbox + "/here.tar.gz"));
}

TEST_CASE("fetcher: a task killed while its URI downloads ends TASK_KILLED",
          "[integration][fetcher]") {
  boost::asio::io_context io;
  LocalMaster master(io);
  FileServer files(io);
  TestFramework fw(io, {master.address(0)}, ContentType::json);
  fw.start();
  fw.wait_subscribed();
  const auto offer = fw.take_offer();
  auto task = fw.command_task("slow", "touch ran.txt", offer);
  add_uri(task, files.url("/hang"));
  fw.launch(offer, {task});
  wait_for(
      io, "the download to start", [&] { return files.requests("/hang") == 1; }, 5s);
  mesos::v1::TaskID id;
  id.set_value("slow");
  fw.client().kill(id, offer.agent_id());
  fw.wait_task_state("slow", mesos::v1::TASK_KILLED, 10s);
  auto snapshot = master.task(fw.framework_ids().back(), "slow");
  REQUIRE(snapshot);
  CHECK_FALSE(std::filesystem::exists(snapshot->sandbox + "/ran.txt"));
}
