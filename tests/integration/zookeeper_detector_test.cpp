// MasterDetector against a real ZooKeeper server, with master nodes made by hand.
#include <catch2/catch.hpp>

#include <iostream>

#include <mesos/v1/mesos.pb.h>
#include <boost/asio/io_context.hpp>

#include "fakes/run_until.hpp"
#include "heatblast/zookeeper.hpp"
#include "support/tcp_proxy.hpp"
#include "support/zookeeper_fixture.hpp"

using namespace heatblast;
using namespace heatblast::zookeeper;
using heatblast::testing::run_until;
using heatblast::testing::TcpProxy;
using heatblast::testing::ZooKeeperServer;
using namespace std::chrono_literals;

namespace {

std::string master_json(const std::string& ip, int port) {
  return R"({"address":{"ip":")" + ip + R"(","port":)" + std::to_string(port) +
         R"(},"id":"m","ip":0,"port":)" + std::to_string(port) + "}";
}

// A session the test uses to make and remove nodes, each call waited for.
class Admin {
 public:
  explicit Admin(boost::asio::io_context& io, SessionOptions options = {})
      : io_(io), session_(io.get_executor(), with_url(std::move(options)), {}) {
    REQUIRE(session_.start());
    REQUIRE(run_until(
        io_, [&] { return session_.state() == SessionState::connected; }, 15s));
  }

  void create(const std::string& path, const std::string& data = {}) {
    std::optional<Code> code;
    session_.create_parents(parent_of(path), [&](Code c) { code = c; });
    REQUIRE(run_until(
        io_, [&] { return code.has_value(); }, 10s));
    REQUIRE(*code == Code::ok);
    code.reset();
    session_.create(path, data, false, false, [&](Code c, std::string) { code = c; });
    REQUIRE(run_until(
        io_, [&] { return code.has_value(); }, 10s));
    REQUIRE(*code == Code::ok);
  }

  void remove(const std::string& path) {
    std::optional<Code> code;
    session_.remove(path, [&](Code c) { code = c; });
    REQUIRE(run_until(
        io_, [&] { return code.has_value(); }, 10s));
    REQUIRE(*code == Code::ok);
  }

  Session& session() { return session_; }

 private:
  static SessionOptions with_url(SessionOptions options) {
    if (options.url.servers.empty())
      options.url.servers = ZooKeeperServer::shared().connect_string();
    return options;
  }
  static std::string parent_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

  boost::asio::io_context& io_;
  Session session_;
};

struct Watcher {
  std::vector<std::optional<Leader>> seen;
  std::vector<Error> fatal;

  MasterDetector::Handlers handlers() {
    return {[this](const std::optional<Leader>& l) { seen.push_back(l); },
            [this](const Error& e) { fatal.push_back(e); },
            {}};
  }
  bool leads(const std::string& node) const {
    return !seen.empty() && seen.back() && seen.back()->node == node;
  }
  bool none() const { return !seen.empty() && !seen.back(); }
};

DetectorOptions detector_options(const std::string& path) {
  DetectorOptions options;
  options.url = *parse_url(ZooKeeperServer::shared().url(path));
  options.session_timeout = 4s;
  options.reopen_backoff = {50ms, 500ms, 2.0, 0.5};
  return options;
}

}  // namespace

TEST_CASE("zk fixture: a real server starts and serves") {
  auto& server = ZooKeeperServer::shared();
  std::cout << "ZooKeeper server started in " << server.startup_time().count() << " ms\n";
  boost::asio::io_context io;
  Admin admin(io);
  admin.create("/fixture/hello", "world");
  std::optional<std::string> data;
  admin.session().get("/fixture/hello", false, [&](Code, std::string d) { data = d; });
  REQUIRE(run_until(
      io, [&] { return data.has_value(); }, 10s));
  CHECK(*data == "world");
}

TEST_CASE("zk detector: unsorted children, log_replicas, info_ beside json.info_, leader gone") {
  boost::asio::io_context io;
  Admin admin(io);
  Watcher watcher;
  // Started before the path exists: no leader, and the path is watched until it appears.
  MasterDetector detector(io.get_executor(), detector_options("/d1/mesos"), watcher.handlers());
  REQUIRE(detector.start());

  mesos::v1::MasterInfo old_master;
  old_master.set_id("old");
  old_master.set_ip(16777343);  // 127.0.0.1 read as a host integer
  old_master.set_port(5040);
  admin.create("/d1/mesos/log_replicas");
  admin.create("/d1/mesos/info_0000000001", old_master.SerializeAsString());
  REQUIRE(run_until(
      io, [&] { return watcher.leads("info_0000000001"); }, 10s));
  CHECK(detector.leader()->address == MasterAddress{"127.0.0.1", 5040});

  // Made out of order: the leader is the smallest number, and json.info_ beats info_.
  admin.create("/d1/mesos/json.info_0000000007", master_json("10.0.0.7", 5057));
  admin.create("/d1/mesos/json.info_0000000003", master_json("10.0.0.3", 5053));
  admin.create("/d1/mesos/json.info_0000000012", master_json("10.0.0.12", 5062));
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000003"); }, 10s));
  CHECK(detector.leader()->address == MasterAddress{"10.0.0.3", 5053});

  admin.remove("/d1/mesos/json.info_0000000003");
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000007"); }, 10s));
  CHECK(detector.leader()->address == MasterAddress{"10.0.0.7", 5057});

  admin.remove("/d1/mesos/json.info_0000000007");
  admin.remove("/d1/mesos/json.info_0000000012");
  REQUIRE(run_until(
      io, [&] { return watcher.leads("info_0000000001"); }, 10s));

  admin.remove("/d1/mesos/info_0000000001");
  REQUIRE(run_until(
      io, [&] { return watcher.none(); }, 10s));
  CHECK_FALSE(detector.leader());

  admin.create("/d1/mesos/json.info_0000000020", master_json("10.0.0.20", 5070));
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000020"); }, 10s));
  CHECK(watcher.fatal.empty());
  CHECK(detector.sessions() == 1);
}

TEST_CASE("zk detector: a forced session expiry reports no leader, then a new session finds it") {
  boost::asio::io_context io;
  Admin admin(io);
  admin.create("/d2/mesos/json.info_0000000001", master_json("10.0.1.1", 5050));
  // The detector reaches ZooKeeper through a proxy, so that its connection can be held off
  // while its session is ended behind its back.
  TcpProxy proxy(io, static_cast<std::uint16_t>(ZooKeeperServer::shared().port()));
  Watcher watcher;
  auto options = detector_options("/d2/mesos");
  options.url.servers = "127.0.0.1:" + std::to_string(proxy.port());
  options.session_timeout = 20s;  // longer than the steps below: the expiry, not a timeout
  MasterDetector detector(io.get_executor(), options, watcher.handlers());
  REQUIRE(detector.start());
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000001"); }, 10s));
  auto id = detector.session_id();
  REQUIRE(id);

  // Cut the detector off (it keeps its leader while CONNECTING), take its session over with
  // its id and password, and close it: the server ends the session. Reconnected, the
  // detector's handle hears that its session expired.
  proxy.cut();
  {
    SessionOptions thief;
    thief.resume = id;
    Admin other(io, thief);
    other.session().stop();
  }
  CHECK(watcher.leads("json.info_0000000001"));
  proxy.resume();
  REQUIRE(run_until(
      io, [&] { return watcher.none(); }, 15s));
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000001"); }, 15s));
  CHECK(detector.sessions() == 2);
  CHECK(watcher.fatal.empty());
}

TEST_CASE("zk detector: disconnected past the session timeout means no leader, then a new one") {
  boost::asio::io_context io;
  Admin admin(io);
  admin.create("/d4/mesos/json.info_0000000002", master_json("10.0.4.2", 5050));
  TcpProxy proxy(io, static_cast<std::uint16_t>(ZooKeeperServer::shared().port()));
  Watcher watcher;
  auto options = detector_options("/d4/mesos");
  options.url.servers = "127.0.0.1:" + std::to_string(proxy.port());
  options.session_timeout = 2s;
  MasterDetector detector(io.get_executor(), options, watcher.handlers());
  REQUIRE(detector.start());
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000002"); }, 10s));

  // Partitioned: the leader is kept for the session timeout, then given up.
  const auto cut_at = std::chrono::steady_clock::now();
  proxy.cut();
  REQUIRE(run_until(
      io, [&] { return watcher.none(); }, 15s));
  CHECK(std::chrono::steady_clock::now() - cut_at >= 1500ms);
  proxy.resume();
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000002"); }, 15s));
  CHECK(detector.sessions() >= 2);
}

TEST_CASE("zk detector: a URL with digest credentials connects and detects") {
  boost::asio::io_context io;
  Admin admin(io);
  admin.create("/d3/mesos/json.info_0000000004", master_json("10.0.3.4", 5054));
  Watcher watcher;
  auto options = detector_options("/d3/mesos");
  options.url.user = "heatblast";
  options.url.password = "not-logged";
  std::vector<std::string> logs;
  auto handlers = watcher.handlers();
  handlers.on_log = [&](scheduler::LogLevel, std::string_view m) { logs.emplace_back(m); };
  MasterDetector detector(io.get_executor(), options, handlers);
  REQUIRE(detector.start());
  REQUIRE(run_until(
      io, [&] { return watcher.leads("json.info_0000000004"); }, 10s));
  REQUIRE_FALSE(logs.empty());
  for (const auto& line : logs)
    CHECK(line.find("not-logged") == std::string::npos);
}
