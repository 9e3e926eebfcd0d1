// ZooKeeperStore and LeaderElection against a real ZooKeeper server.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "fakes/run_until.hpp"
#include "heatblast/zookeeper.hpp"
#include "heatblast/zookeeper_store.hpp"
#include "support/tcp_proxy.hpp"
#include "support/zookeeper_fixture.hpp"

using namespace heatblast;
using namespace heatblast::zookeeper;
using heatblast::store::ZooKeeperStore;
using heatblast::testing::run_until;
using heatblast::testing::TcpProxy;
using heatblast::testing::ZooKeeperServer;
using namespace std::chrono_literals;

namespace {

// A connected session of its own (the store is synchronous: no waiting for callbacks).
std::unique_ptr<Session> connected(boost::asio::io_context& io) {
  SessionOptions options;
  options.url.servers = ZooKeeperServer::shared().connect_string();
  options.session_timeout = 4s;
  auto session = std::make_unique<Session>(io.get_executor(), options, Session::Handlers{});
  REQUIRE(session->start());
  REQUIRE(run_until(
      io, [&] { return session->state() == SessionState::connected; }, 15s));
  return session;
}

tasks::TaskSpec spec_named(const std::string& name) {
  tasks::TaskSpec spec;
  spec.name = name;
  spec.command.set_value("sleep 100");
  spec.resources.scalars = {{"cpus", 0.5}, {"mem", 64}};
  spec.restart.policy = tasks::RestartPolicy::always;
  spec.restart.max_restarts = 3;
  spec.constraints = {{"rack", "r2"}};
  return spec;
}

tasks::TaskRecord running_record(const std::string& name, const std::string& task_id) {
  tasks::TaskRecord record;
  record.name = name;
  record.phase = tasks::Phase::active;
  record.task_id = task_id;
  record.agent_id = "agent-1";
  record.hostname = "host-1";
  record.state = mesos::v1::TASK_RUNNING;
  record.launches = 2;
  record.restarts = 1;
  record.launched_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  return record;
}

}  // namespace

TEST_CASE("zk store: tasks saved, updated, removed, and read back by a new session") {
  boost::asio::io_context io;
  {
    auto session = connected(io);
    auto store = ZooKeeperStore::open(*session, "/zs1/app/state");
    REQUIRE(store);
    auto empty = (*store)->load_tasks();
    REQUIRE(empty);
    CHECK(empty->empty());
    REQUIRE((*store)->save_task(spec_named("job.container-1"),
                                running_record("job.container-1", "job.container-1.a")));
    REQUIRE((*store)->save_task(spec_named("a/b c"), running_record("a/b c", "t2")));
    REQUIRE((*store)->save_task(spec_named("gone"), running_record("gone", "t3")));
    // Saved again: the node is updated, not duplicated.
    auto later = running_record("job.container-1", "job.container-1.b");
    later.launches = 3;
    REQUIRE((*store)->save_task(spec_named("job.container-1"), later));
    REQUIRE((*store)->remove_task("gone"));
    REQUIRE((*store)->remove_task("never-there"));  // removing nothing is fine
    REQUIRE((*store)->set_framework_id("fw-123"));
  }
  // Another instance (another session) on the same root: what the leader left.
  auto session = connected(io);
  auto store = ZooKeeperStore::open(*session, "/zs1/app/state");
  REQUIRE(store);
  auto id = (*store)->framework_id();
  REQUIRE(id);
  REQUIRE(*id);
  CHECK(**id == "fw-123");
  auto loaded = (*store)->load_tasks();
  REQUIRE(loaded);
  REQUIRE(loaded->size() == 2);
  CHECK((*loaded)[0].first.name == "a/b c");
  CHECK((*loaded)[0].second.task_id == "t2");
  const auto& [spec, record] = (*loaded)[1];
  CHECK(spec.name == "job.container-1");
  CHECK(spec.command.value() == "sleep 100");
  CHECK(spec.restart.policy == tasks::RestartPolicy::always);
  CHECK(spec.restart.max_restarts == 3);
  CHECK(spec.constraints.at("rack") == "r2");
  CHECK(record.task_id == "job.container-1.b");
  CHECK(record.phase == tasks::Phase::active);
  CHECK(record.state == mesos::v1::TASK_RUNNING);
  CHECK(record.launches == 3);
  CHECK(record.launched_at ==
        std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
}

TEST_CASE("zk store: records by key, scanned by prefix in key order, odd keys kept whole") {
  boost::asio::io_context io;
  auto session = connected(io);
  auto store = ZooKeeperStore::open(*session, "/zs2/state/");
  REQUIRE(store);
  CHECK((*store)->root() == "/zs2/state");
  auto none = (*store)->framework_id();
  REQUIRE(none);
  CHECK(!*none);
  REQUIRE((*store)->put("samza-scheduler/job/b", R"({"name":"b"})"));
  REQUIRE((*store)->put("samza-scheduler/job/a", R"({"name":"a"})"));
  REQUIRE((*store)->put("other/x", "x"));
  REQUIRE((*store)->put("..", "dots"));
  REQUIRE((*store)->put("%41", "percent"));
  REQUIRE((*store)->put("samza-scheduler/job/a", R"({"name":"a","v":2})"));
  auto jobs = (*store)->scan("samza-scheduler/job/");
  REQUIRE(jobs);
  REQUIRE(jobs->size() == 2);
  CHECK((*jobs)[0] ==
        std::pair<std::string, std::string>("samza-scheduler/job/a", R"({"name":"a","v":2})"));
  CHECK((*jobs)[1].first == "samza-scheduler/job/b");
  auto dots = (*store)->get("..");
  REQUIRE(dots);
  CHECK(*dots == std::optional<std::string>("dots"));
  auto percent = (*store)->get("%41");
  REQUIRE(percent);
  CHECK(*percent == std::optional<std::string>("percent"));
  auto everything = (*store)->scan("");
  REQUIRE(everything);
  CHECK(everything->size() == 5);
  REQUIRE((*store)->erase("samza-scheduler/job/a"));
  auto after = (*store)->scan("samza-scheduler/");
  REQUIRE(after);
  CHECK(after->size() == 1);
  auto missing = (*store)->get("samza-scheduler/job/a");
  REQUIRE(missing);
  CHECK(!*missing);

  // Above ZooKeeper's node limit: refused before it is sent, the old value kept.
  auto big = (*store)->put("other/x", std::string(kMaxNodeData + 1, 'x'));
  REQUIRE(!big);
  CHECK(big.error().code == make_error_code(errc::invalid_argument));
  auto kept = (*store)->get("other/x");
  REQUIRE(kept);
  CHECK(*kept == std::optional<std::string>("x"));
  // Just under it: stored and read back whole.
  const std::string large(kMaxNodeData, 'y');
  REQUIRE((*store)->put("other/large", large));
  auto read = (*store)->get("other/large");
  REQUIRE(read);
  REQUIRE(*read);
  CHECK(**read == large);
}

TEST_CASE("zk store: node names round-trip, and a closed session fails writes") {
  for (std::string key : {"", ".", "..", "a/b", "100%", "é", "job.container-0", "x y"}) {
    const auto name = store::encode_node_name(key);
    CHECK(name.find('/') == std::string::npos);
    CHECK(name != ".");
    CHECK(name != "..");
    CHECK(store::decode_node_name(name) == std::optional<std::string>(key));
  }
  CHECK(!store::decode_node_name("%4"));
  CHECK(!store::decode_node_name("%zz"));

  boost::asio::io_context io;
  auto session = connected(io);
  auto store = ZooKeeperStore::open(*session, "/zs3/state");
  REQUIRE(store);
  session->stop();
  auto saved = (*store)->set_framework_id("late");
  REQUIRE(!saved);
  CHECK(saved.error().code == make_error_code(errc::zookeeper_error));
}

namespace {

struct Candidate {
  Candidate(boost::asio::io_context& io, const std::string& path, const std::string& data,
            std::uint16_t via_port = 0) {
    ElectionOptions options;
    options.url = *parse_url(ZooKeeperServer::shared().url(path));
    if (via_port != 0) options.url.servers = "127.0.0.1:" + std::to_string(via_port);
    options.data = data;
    options.session_timeout = 4s;
    options.reopen_backoff = {50ms, 500ms, 2.0, 0.5};
    LeaderElection::Handlers handlers;
    handlers.on_change = [this](bool l, const std::optional<std::string>& d) {
      leading = l;
      leader = d;
      ++changes;
    };
    election = std::make_unique<LeaderElection>(io.get_executor(), options, handlers);
    REQUIRE(election->start());
  }
  std::unique_ptr<LeaderElection> election;
  bool leading = false;
  std::optional<std::string> leader;
  int changes = 0;
};

}  // namespace

TEST_CASE("zk election: the first candidate leads, the others follow it, its end hands over") {
  boost::asio::io_context io;
  Candidate a(io, "/ze1/leader", "A");
  REQUIRE(run_until(
      io, [&] { return a.leading; }, 15s));
  // One after the other, so that B's node comes before C's: B is next in line.
  Candidate b(io, "/ze1/leader", "B");
  REQUIRE(run_until(
      io, [&] { return b.leader == std::optional<std::string>("A"); }, 15s));
  Candidate c(io, "/ze1/leader", "C");
  REQUIRE(run_until(
      io, [&] { return c.leader == std::optional<std::string>("A"); }, 15s));
  CHECK(!b.leading);
  CHECK(!c.leading);
  CHECK(a.election->leading());
  CHECK(a.election->session() != nullptr);
  CHECK(a.election->node().starts_with("member_"));

  // The leader stops (its session closes): the next in sequence leads, the last follows it.
  a.election->stop();
  REQUIRE(run_until(
      io, [&] { return b.leading && c.leader == std::optional<std::string>("B"); }, 15s));
  CHECK(!c.leading);
}

TEST_CASE("zk election: a leader whose session is taken over and closed gives up and rejoins") {
  boost::asio::io_context io;
  // A reaches ZooKeeper through a proxy, so that it cannot take its session back while the
  // session is ended behind its back.
  TcpProxy proxy(io, static_cast<std::uint16_t>(ZooKeeperServer::shared().port()));
  Candidate a(io, "/ze2/leader", "A", proxy.port());
  REQUIRE(run_until(
      io, [&] { return a.leading; }, 15s));
  Candidate b(io, "/ze2/leader", "B");
  REQUIRE(run_until(
      io, [&] { return b.leader == std::optional<std::string>("A"); }, 15s));
  const std::string first_node = a.election->node();
  // A is cut off: it stops leading at once, though its node is still there. The server ends
  // its session: the node goes, B leads; A, back, hears of the expiry and stands again behind
  // B with a new node.
  auto id = a.election->session_id();
  REQUIRE(id);
  proxy.cut();
  REQUIRE(run_until(
      io, [&] { return !a.leading; }, 15s));
  {
    SessionOptions thief;
    thief.url.servers = ZooKeeperServer::shared().connect_string();
    thief.resume = id;
    Session other(io.get_executor(), thief, {});
    REQUIRE(other.start());
    REQUIRE(run_until(
        io, [&] { return other.state() == SessionState::connected; }, 15s));
    other.stop();
  }
  REQUIRE(run_until(
      io, [&] { return b.leading; }, 15s));
  proxy.resume();
  REQUIRE(run_until(
      io,
      [&] {
        return !a.leading && a.leader == std::optional<std::string>("B") &&
               !a.election->node().empty();
      },
      15s));
  CHECK(a.election->node() != first_node);
}
