#include "heatblast/store.hpp"

#include "heatblast/sqlite.hpp"

#include <unistd.h>

#include <filesystem>

#include <sqlite3.h>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include "support/temp_dir.hpp"

using heatblast::errc;
using heatblast::store::SqliteStore;
using heatblast::testing::TempDir;
namespace tasks = heatblast::tasks;

namespace {

tasks::TaskSpec full_spec() {
  tasks::TaskSpec spec;
  spec.name = "web";
  spec.command.set_value("serve --port $PORT0");
  spec.command.set_shell(true);
  auto* env = spec.command.mutable_environment()->add_variables();
  env->set_name("MODE");
  env->set_value("prod");
  mesos::v1::ContainerInfo container;
  container.set_type(mesos::v1::ContainerInfo::DOCKER);
  container.mutable_docker()->set_image("nginx:1.25");
  spec.container = container;
  spec.resources.scalars = {{"cpus", 0.25}, {"mem", 96}};
  spec.resources.port_count = 2;
  spec.resources.ports = {8080};
  spec.resources.role = "web";
  auto* label = spec.labels.add_labels();
  label->set_key("team");
  label->set_value("edge");
  spec.restart.policy = tasks::RestartPolicy::on_failure;
  spec.restart.backoff = {std::chrono::milliseconds(250), std::chrono::milliseconds(9000), 3, 0.1,
                          std::chrono::milliseconds(60000)};
  spec.restart.stable_after = std::chrono::seconds(42);
  spec.restart.max_restarts = 7;
  spec.timeout = std::chrono::milliseconds(123456);
  spec.constraints = {{"rack", "r1"}};
  return spec;
}

}  // namespace

TEST_CASE("store: the framework id survives reopening the file", "[store]") {
  TempDir dir("heatblast-store");
  const std::string path = dir / "state.db";
  {
    auto store = SqliteStore::open(path);
    REQUIRE(store.has_value());
    auto none = (*store)->framework_id();
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
    REQUIRE((*store)->set_framework_id("fw-123").has_value());
  }
  auto reopened = SqliteStore::open(path);
  REQUIRE(reopened.has_value());
  auto id = (*reopened)->framework_id();
  REQUIRE(id.has_value());
  CHECK(id->value_or("") == "fw-123");
}

TEST_CASE("store: key-value records, with prefix scans", "[store]") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.has_value());
  auto& s = **store;
  REQUIRE(s.put("job/b", "2").has_value());
  REQUIRE(s.put("job/a", std::string("\0bin\xff", 5)).has_value());
  REQUIRE(s.put("other", "x").has_value());
  REQUIRE(s.put("job/b", "two").has_value());  // replaces
  CHECK(s.get("job/b")->value_or("") == "two");
  CHECK(s.get("job/a")->value_or("") == std::string("\0bin\xff", 5));
  CHECK_FALSE(s.get("missing")->has_value());
  auto jobs = s.scan("job/");
  REQUIRE(jobs.has_value());
  REQUIRE(jobs->size() == 2);
  CHECK((*jobs)[0].first == "job/a");
  CHECK((*jobs)[1].second == "two");
  REQUIRE(s.erase("job/a").has_value());
  CHECK(s.scan("job/")->size() == 1);
}

TEST_CASE("store: a task's spec and record round-trip", "[store]") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.has_value());
  const auto spec = full_spec();
  tasks::TaskRecord record;
  record.name = "web";
  record.phase = tasks::Phase::active;
  record.task_id = "web.0123";
  record.agent_id = "a1";
  record.hostname = "h1";
  record.state = mesos::v1::TASK_RUNNING;
  record.message = "ok";
  record.launches = 3;
  record.launched_at = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  record.last_outcome = mesos::v1::TASK_FAILED;
  REQUIRE((*store)->save_task(spec, record).has_value());

  auto loaded = (*store)->load_tasks();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 1);
  const auto& [s, r] = loaded->front();
  CHECK(s.name == "web");
  CHECK(s.command.value() == spec.command.value());
  CHECK(s.command.environment().variables(0).value() == "prod");
  REQUIRE(s.container.has_value());
  CHECK(s.container->docker().image() == "nginx:1.25");
  CHECK(s.resources.scalars == spec.resources.scalars);
  CHECK(s.resources.port_count == 2);
  CHECK(s.resources.ports == std::vector<std::uint64_t>{8080});
  CHECK(s.resources.role == "web");
  CHECK(s.labels.labels(0).value() == "edge");
  CHECK(s.restart.policy == tasks::RestartPolicy::on_failure);
  CHECK(s.restart.backoff.initial == std::chrono::milliseconds(250));
  CHECK(s.restart.backoff.max == std::chrono::milliseconds(9000));
  CHECK(s.restart.backoff.multiplier == 3);
  CHECK(s.restart.backoff.jitter == 0.1);
  CHECK(s.restart.backoff.flat_for == std::chrono::milliseconds(60000));
  CHECK(s.restart.stable_after == std::chrono::seconds(42));
  CHECK(s.restart.max_restarts == 7);
  CHECK(s.timeout == std::chrono::milliseconds(123456));
  CHECK(s.constraints == spec.constraints);
  CHECK(r.phase == tasks::Phase::active);
  CHECK(r.task_id == "web.0123");
  CHECK(r.agent_id == "a1");
  CHECK(r.state == mesos::v1::TASK_RUNNING);
  CHECK(r.launches == 3);
  CHECK(r.launched_at == record.launched_at);
  CHECK(r.last_outcome == mesos::v1::TASK_FAILED);

  REQUIRE((*store)->remove_task("web").has_value());
  CHECK((*store)->load_tasks()->empty());
}

TEST_CASE("store: errors are values with SQLite's text", "[store]") {
  auto bad = SqliteStore::open("/nonexistent-dir/x/state.db");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == errc::io_error);
  CHECK_THAT(bad.error().message, Catch::Contains("/nonexistent-dir/x/state.db"));

  TempDir dir("heatblast-store");
  const std::string path = dir / "state.db";
  auto store = SqliteStore::open(path);
  REQUIRE(store.has_value());
  // A record that is not a StoredTask (written behind the store's back) is reported, not
  // skipped silently.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "INSERT INTO tasks(name, record) VALUES('bad', x'ffffffff')", nullptr,
                       nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto loaded = (*store)->load_tasks();
  REQUIRE_FALSE(loaded.has_value());
  CHECK_THAT(loaded.error().message, Catch::Contains("'bad'") && Catch::Contains("corrupt"));
}

TEST_CASE("store: a TaskManager saves its tasks and a new one adopts them", "[store]") {
  boost::asio::io_context io;
  heatblast::scheduler::Options options;
  options.framework.set_user("u");
  options.framework.set_name("n");
  heatblast::scheduler::Client client(io.get_executor(), options, {});
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.has_value());

  tasks::ManagerOptions manager_options;
  manager_options.store = store->get();
  {
    tasks::TaskManager first(client, manager_options, {});
    REQUIRE(first.add(full_spec()).has_value());
    auto spec = full_spec();
    spec.name = "batch";
    REQUIRE(first.add(spec).has_value());
  }
  // As if "web" had been launched and was running when the program stopped.
  auto saved = (*store)->load_tasks();
  REQUIRE(saved.has_value());
  REQUIRE(saved->size() == 2);
  for (auto& [spec, record] : *saved) {
    if (spec.name != "web") continue;
    record.phase = tasks::Phase::active;
    record.task_id = "web.42";
    record.agent_id = "a1";
    REQUIRE((*store)->save_task(spec, record).has_value());
  }

  tasks::TaskManager second(client, manager_options, {});
  REQUIRE(second.load().has_value());
  REQUIRE(second.find("web") != nullptr);
  CHECK(second.find("web")->phase == tasks::Phase::active);
  CHECK(second.find("batch")->phase == tasks::Phase::pending);
  auto known = second.known_tasks();
  REQUIRE(known.size() == 1);
  CHECK(known[0].task_id().value() == "web.42");
  CHECK(known[0].agent_id().value() == "a1");
  CHECK(second.in_flight() == 1);
  CHECK(second.pending() == 1);
}

TEST_CASE("store: write_tasks saves and removes a batch in one transaction", "[store]") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.has_value());
  auto web = full_spec();
  tasks::TaskRecord web_record;
  web_record.name = web.name;
  REQUIRE((*store)->save_task(web, web_record).has_value());
  auto batch = full_spec();
  batch.name = "batch";
  tasks::TaskRecord batch_record;
  batch_record.name = "batch";
  batch_record.phase = tasks::Phase::launched;
  batch_record.task_id = "batch.1";
  REQUIRE((*store)
              ->write_tasks({{nullptr, nullptr, web.name}, {&batch, &batch_record, batch.name}})
              .has_value());
  auto saved = (*store)->load_tasks();
  REQUIRE(saved.has_value());
  REQUIRE(saved->size() == 1);
  CHECK(saved->at(0).first.name == "batch");
  CHECK(saved->at(0).second.phase == tasks::Phase::launched);
  CHECK(saved->at(0).second.task_id == "batch.1");
}

TEST_CASE("store: a spec missing a proto2-required field is saved, not fatal", "[store]") {
  auto store = SqliteStore::open(":memory:");
  REQUIRE(store.has_value());
  auto spec = full_spec();
  spec.labels.add_labels()->set_value("no key");  // Label.key is required
  tasks::TaskRecord record;
  record.name = spec.name;
  REQUIRE((*store)->save_task(spec, record).has_value());
  auto loaded = (*store)->load_tasks();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 1);
  CHECK(loaded->front().first.labels.labels_size() == 2);
}

TEST_CASE(
    "store: a task's status reason is stored, and rows without one or with an unknown one load",
    "[store]") {
  TempDir dir("heatblast-store");
  const std::string path = dir / "state.db";
  auto store = SqliteStore::open(path);
  REQUIRE(store.has_value());
  tasks::TaskRecord record;
  record.name = "web";
  record.state = mesos::v1::TASK_FAILED;
  record.reason = mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY;
  REQUIRE((*store)->save_task(full_spec(), record).has_value());
  auto loaded = (*store)->load_tasks();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 1);
  CHECK(loaded->front().second.reason == mesos::v1::TaskStatus::REASON_CONTAINER_LIMITATION_MEMORY);

  // A row as written before records had a reason: the field is absent.
  record.reason.reset();
  REQUIRE((*store)->save_task(full_spec(), record).has_value());
  loaded = (*store)->load_tasks();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 1);
  CHECK_FALSE(loaded->front().second.reason);
  CHECK(loaded->front().second.state == mesos::v1::TASK_FAILED);

  // A reason number this build does not know (field 43, varint 9999), as a newer Mesos might
  // report: the row loads, without the reason.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "UPDATE tasks SET record = record || x'd8028f4e'", nullptr, nullptr,
                       nullptr) == SQLITE_OK);
  sqlite3_close(db);
  loaded = (*store)->load_tasks();
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->size() == 1);
  CHECK_FALSE(loaded->front().second.reason);
  CHECK(loaded->front().second.state == mesos::v1::TASK_FAILED);
  CHECK(loaded->front().first.name == "web");
}

TEST_CASE("sqlite: the page cache is bounded as asked, SQLite's default otherwise", "[store]") {
  using heatblast::store::SqliteDb;
  using heatblast::store::SqliteStatement;
  TempDir dir("heatblast-store");
  auto cache_size = [](SqliteDb& db) {
    auto stmt = db.prepare("PRAGMA cache_size");
    REQUIRE(stmt.has_value());
    REQUIRE(stmt->step() == SqliteStatement::kRow);
    return stmt->column_int(0);
  };
  SqliteDb::Options options;
  options.cache_kib = 256;
  auto bounded = SqliteDb::open(dir / "bounded.sqlite", options);
  REQUIRE(bounded.has_value());
  CHECK(cache_size(**bounded) == -256);  // negative: KiB, not pages
  auto plain = SqliteDb::open(dir / "plain.sqlite", SqliteDb::Options{});
  REQUIRE(plain.has_value());
  CHECK(cache_size(**plain) == -2000);
}

TEST_CASE("sqlite: statements are cached, transactions are all or nothing, errors say where",
          "[store]") {
  using heatblast::store::SqliteDb;
  using heatblast::store::SqliteStatement;
  TempDir dir("heatblast-store");
  const std::string path = dir / "db.sqlite";
  SqliteDb::Options options;
  options.durability = heatblast::store::Durability::normal;
  options.label = "test-db";
  auto opened = SqliteDb::open(path, options, "CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB);");
  REQUIRE(opened.has_value());
  SqliteDb& db = **opened;

  const char* insert = "INSERT INTO t (k, v) VALUES (?1, ?2)";
  for (std::string key : {"a", "b"}) {
    auto stmt = db.prepare(insert);  // the second time: the cached statement, reset
    REQUIRE(stmt.has_value());
    REQUIRE(stmt->bind_text(1, key).bind_blob(2, "").run("insert").has_value());
  }
  {
    // The same text while one is in use: a second statement, both usable at once.
    auto outer = db.prepare("SELECT k, v FROM t ORDER BY k");
    auto inner = db.prepare("SELECT k, v FROM t ORDER BY k");
    REQUIRE((outer.has_value() && inner.has_value()));
    REQUIRE(outer->step() == SqliteStatement::kRow);
    REQUIRE(inner->step() == SqliteStatement::kRow);
    CHECK(outer->column_bytes(0) == "a");
    CHECK_FALSE(outer->column_null(1));  // an empty blob stays a blob, not NULL
    REQUIRE(outer->step() == SqliteStatement::kRow);
    CHECK(outer->column_bytes(0) == "b");
    CHECK(outer->step() == SqliteStatement::kDone);
  }

  auto failed = db.transaction([&]() -> heatblast::Result<void> {
    auto stmt = db.prepare(insert);
    if (!stmt) return tl::unexpected(stmt.error());
    if (auto put = stmt->bind_text(1, "c").bind_null(2).run("insert c"); !put) return put;
    auto nested = db.transaction([] { return heatblast::Result<void>{}; });
    CHECK(nested.error().code == errc::invalid_argument);
    // A duplicate key: the statement fails, with the label, the path and SQLite's text.
    auto again = db.prepare(insert);
    if (!again) return tl::unexpected(again.error());
    return again->bind_text(1, "a").bind_null(2).run("insert a again");
  });
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().code == errc::io_error);
  CHECK_THAT(failed.error().message, Catch::Contains("test-db '" + path + "': insert a again") &&
                                         Catch::Contains("UNIQUE"));
  auto count = db.prepare("SELECT COUNT(*) FROM t");
  REQUIRE(count.has_value());
  REQUIRE(count->step() == SqliteStatement::kRow);
  CHECK(count->column_int(0) == 2);  // "c" was rolled back
  CHECK_FALSE(db.in_transaction());

  auto bad_sql = db.prepare("SELECT x FROM nowhere");
  REQUIRE_FALSE(bad_sql.has_value());
  CHECK_THAT(bad_sql.error().message, Catch::Contains("no such table"));
}
