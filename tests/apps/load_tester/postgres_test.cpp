// load-tester and load-worker against a real PostgreSQL server (support/postgres_fixture.hpp:
// Debian's binaries, a temporary cluster on loopback and a Unix socket). The load-tester runs
// with local-master in this process and real load-worker processes, as in load_tester_test.cpp.
#include <stdio.h>
#include <sys/wait.h>

#include <chrono>
#include <functional>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "load_tester.hpp"
#include "support/local_master_fixture.hpp"
#include "support/postgres_fixture.hpp"
#include "worker.hpp"

namespace load = heatblast::load;
using heatblast::testing::LocalMaster;
using heatblast::testing::PostgresServer;
using heatblast::testing::run_until;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<PostgresServer> start_postgres() {
  auto server = PostgresServer::start();
  INFO((server ? std::string() : server.error().what()));
  REQUIRE(server);
  return std::move(*server);
}

std::string value_of(const PostgresServer& server, std::string_view sql) {
  auto value = server.query(sql);
  INFO(sql << ": " << (value ? std::string() : value.error().what()));
  REQUIRE(value);
  return *value;
}

// A load-tester run on local-master, to its end. Its exit status.
struct Run {
  load::Flags flags(const std::string& target, const std::string& sql) const {
    load::Flags f;
    f.master = master.addresses().front();
    f.target = target;
    f.query = sql;
    f.query_given = true;
    f.task_cpus = 0.1;
    f.task_mem = 16;
    f.listen = "127.0.0.1:0";
    return f;
  }

  // `during` runs after every handler until the run ends.
  int run(const load::Flags& f, std::function<void()> during = {}) {
    std::optional<int> status;
    load::LoadTesterHooks hooks;
    hooks.on_exit = [&](int s) { status = s; };
    hooks.on_log = [this](std::string_view line) { log += std::string(line) + "\n"; };
    tester =
        std::make_unique<load::LoadTester>(io.get_executor(), f, HEATBLAST_LOAD_WORKER_PATH, hooks);
    REQUIRE(tester->start());
    const bool ended = run_until(
        io,
        [&] {
          if (during) during();
          return status.has_value();
        },
        60s);
    INFO(log << master.log_tail());
    REQUIRE(ended);
    return *status;
  }

  boost::asio::io_context io;
  LocalMaster master{io};
  std::unique_ptr<load::LoadTester> tester;
  std::string log;
};

// Runs the load-tester program with `args`; its exit status and what it wrote.
std::pair<int, std::string> run_program(const std::string& args) {
  const std::string command = fmt::format("{} {} 2>&1", HEATBLAST_LOAD_TESTER_PATH, args);
  FILE* out = ::popen(command.c_str(), "r");
  REQUIRE(out);
  std::string text;
  char buffer[512];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, out))
    text.append(buffer, n);
  const int status = ::pclose(out);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

}  // namespace

TEST_CASE("load-tester against PostgreSQL: a run of INSERTs leaves exactly total-queries rows") {
  auto pg = start_postgres();
  value_of(*pg, "CREATE TABLE t (n integer)");
  Run run;
  // The server trusts every local connection: the password is not checked, only carried.
  auto flags =
      run.flags(fmt::format("postgresql://postgres:s3cret@127.0.0.1:{}/postgres", pg->port()),
                "INSERT INTO t VALUES (1)");
  flags.total_queries = 500;
  flags.queries_per_task = 100;
  flags.parallelism = 3;
  flags.connections = 2;
  // What the master was given for each task: the password in its environment, as a secret,
  // and nowhere in its command line.
  std::size_t tasks_seen = 0, password_in_arguments = 0, password_in_environment = 0;
  const int status = run.run(flags, [&] {
    for (const auto& framework : run.master.master().snapshot().frameworks)
      for (const auto& task : framework.tasks) {
        const auto& command = task.info.command();
        ++tasks_seen;
        for (const auto& argument : command.arguments())
          password_in_arguments += argument.find("s3cret") != std::string::npos;
        for (const auto& variable : command.environment().variables())
          password_in_environment += variable.name() == "PGPASSWORD" &&
                                     variable.type() == mesos::v1::Environment::Variable::SECRET &&
                                     variable.secret().value().data() == "s3cret";
      }
  });
  INFO(run.log);
  CHECK(status == 0);
  CHECK(tasks_seen > 0);
  CHECK(password_in_arguments == 0);
  CHECK(password_in_environment == tasks_seen);
  CHECK(run.log.find("s3cret") == std::string::npos);
  CHECK(value_of(*pg, "SELECT count(*) FROM t") == "500");
  const auto totals = run.tester->totals();
  CHECK(totals.queries == 500);
  CHECK(totals.errors == 0);
  CHECK(totals.latency.count() == 500);
  CHECK(run.tester->task_results().size() == 5);
}

TEST_CASE("load-tester against PostgreSQL: failing SQL counts every query as an error, exit 1") {
  auto pg = start_postgres();
  Run run;
  auto flags = run.flags(pg->tcp_url(), "INSERT INTO no_such_table VALUES (1)");
  flags.total_queries = 60;
  flags.queries_per_task = 30;
  flags.parallelism = 2;
  CHECK(run.run(flags) == 1);
  const auto totals = run.tester->totals();
  CHECK(totals.queries == 60);
  CHECK(totals.errors == 60);
  // The tasks themselves ran to their end: failed queries are not failed tasks.
  CHECK(run.tester->failed_tasks() == 0);
}

TEST_CASE("load-worker against PostgreSQL: Unix socket, several statements, a timeout cancelled") {
  auto pg = start_postgres();
  value_of(*pg, "CREATE TABLE u (n integer)");
  load::WorkerOptions o;
  o.target = pg->socket_url();
  o.query = "INSERT INTO u VALUES (1); INSERT INTO u VALUES (2)";
  o.queries = 40;
  o.connections = 3;
  auto figures = load::run_worker(o);
  INFO((figures ? std::string() : figures.error().what()));
  REQUIRE(figures);
  CHECK(figures->queries == 40);
  CHECK(figures->errors == 0);
  CHECK(value_of(*pg, "SELECT count(*) FROM u") == "80");
  // A statement that fails after one that succeeded fails the query.
  o.query = "INSERT INTO u VALUES (3); SELECT 1 / 0";
  o.queries = 5;
  auto failing = load::run_worker(o);
  REQUIRE(failing);
  CHECK(failing->errors == 5);

  // A query over its timeout is cancelled on the server; the connection runs the next.
  value_of(*pg, "CREATE SEQUENCE s");
  o.target = pg->tcp_url();
  // The first query would sleep a minute; the others return at once.
  o.query = "SELECT CASE WHEN nextval('s') = 1 THEN pg_sleep(60) END";
  o.queries = 3;
  o.connections = 1;
  o.timeout = 3s;
  const auto start = std::chrono::steady_clock::now();
  auto timed = load::run_worker(o);
  REQUIRE(timed);
  CHECK(timed->queries == 3);
  CHECK(timed->errors == 1);
  // Cancelled on the server, not waited out: the run took well under the minute.
  CHECK(std::chrono::steady_clock::now() - start < 30s);
  CHECK(value_of(*pg,
                 "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' "
                 "AND state = 'active' AND pid <> pg_backend_pid()") == "0");
}

TEST_CASE("load-tester: a bad PostgreSQL URL is a one-line error and exit 2") {
  auto [status, text] = run_program(
      "--master 127.0.0.1:1 --listen 127.0.0.1:0 --target 'postgresql://u:s3cret@[::1/db' "
      "--query 'SELECT 1'");
  CHECK(status == 2);
  CHECK(text.find("is not a PostgreSQL URI") != std::string::npos);
  CHECK(text.find("s3cret") == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);

  std::tie(status, text) = run_program(
      "--master 127.0.0.1:1 --listen 127.0.0.1:0 --target postgresql://h:99999/db --query x");
  CHECK(status == 2);
  CHECK(text.find("port '99999' is not a number 1-65535") != std::string::npos);

  std::tie(status, text) = run_program("--target postgresql://h/db");
  CHECK(status == 2);
  CHECK(text.find("--query (the SQL to run) is required") != std::string::npos);

  std::tie(status, text) = run_program("--target mysql://h/db --query x");
  CHECK(status == 2);
  CHECK(text.find("is not an http://, https:// or postgresql:// URL") != std::string::npos);
}
