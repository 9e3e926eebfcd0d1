#include "flags.hpp"

#include <catch2/catch.hpp>

namespace load = heatblast::load;

namespace {
load::Flags parse_ok(std::vector<std::string> args) {
  auto flags = load::parse_flags(args);
  INFO((flags ? std::string() : flags.error().what()));
  REQUIRE(flags);
  return *flags;
}
std::string parse_error(std::vector<std::string> args) {
  auto flags = load::parse_flags(args);
  REQUIRE_FALSE(flags);
  CHECK(flags.error().what().find('\n') == std::string::npos);
  return flags.error().what();
}
}  // namespace

TEST_CASE("load-tester flags: every flag, both spellings") {
  const auto f = parse_ok({"--mesos-master",
                           "m1:5050,m2:5050",
                           "--total-queries",
                           "1000",
                           "--queries-per-task=300",
                           "--parallelism",
                           "4",
                           "--target",
                           "https://example.test/x",
                           "--query",
                           "POST /orders {\"id\":1}",
                           "--rate",
                           "250.5",
                           "--connections",
                           "8",
                           "--task-cpus",
                           "0.25",
                           "--task-mem",
                           "128",
                           "--timeout",
                           "2.5",
                           "--max-failed-tasks",
                           "0",
                           "--report",
                           "json",
                           "--listen",
                           "127.0.0.1:9000",
                           "--advertise",
                           "host1:9000",
                           "--worker",
                           "/opt/load-worker",
                           "--worker-on-agent",
                           "/usr/bin/load-worker"});
  CHECK(f.master == "m1:5050,m2:5050");
  CHECK(f.total_queries == 1000);
  CHECK(f.queries_per_task == 300);
  CHECK(f.parallelism == 4);
  CHECK(f.target == "https://example.test/x");
  CHECK(f.query == "POST /orders {\"id\":1}");
  CHECK(f.rate == 250.5);
  CHECK(f.connections == 8);
  CHECK(f.task_cpus == 0.25);
  CHECK(f.task_mem == 128);
  CHECK(f.timeout_seconds == 2.5);
  CHECK(f.max_failed_tasks == 0);
  CHECK(f.report == load::ReportFormat::json);
  CHECK(f.listen == "127.0.0.1:9000");
  CHECK(f.advertise == "host1:9000");
  CHECK(f.worker == "/opt/load-worker");
  CHECK(f.worker_on_agent == "/usr/bin/load-worker");
  CHECK(parse_ok({"--master=a:1", "--target=http://t/"}).master == "a:1");
}

TEST_CASE("load-tester flags: defaults") {
  const auto f = parse_ok({"--target", "http://127.0.0.1:8080/"});
  CHECK(f.master == "127.0.0.1:5050");
  CHECK(f.total_queries == 1000);
  CHECK(f.queries_per_task == 100);
  CHECK(f.parallelism == 3);
  CHECK(f.rate == 0);
  CHECK(f.report == load::ReportFormat::text);
  CHECK(parse_ok({"-h"}).help);
}

TEST_CASE("load-tester flags: bad input is one clear line") {
  CHECK(parse_error({"--bogus", "1"}) == "unknown flag --bogus");
  CHECK(parse_error({"stray"}) == "unexpected argument 'stray'");
  CHECK(parse_error({"--target"}) == "--target needs a value");
  CHECK(parse_error({}) == "--target is required");
  CHECK(parse_error({"--target", "ftp://x/"}) ==
        "--target: 'ftp://x/' is not an http://, https:// or postgresql:// URL");
  CHECK(parse_error({"--target", "ftp://u:secret@x/"}) ==
        "--target: 'ftp://u:***@x/' is not an http://, https:// or postgresql:// URL");
  CHECK(parse_error({"--target", "postgresql://u@h/db"}) ==
        "--query (the SQL to run) is required with postgresql://");
  CHECK(parse_error({"--target", "http://x/", "--parallelism", "0"}) ==
        "--parallelism: '0' is not a whole number >= 1");
  CHECK(parse_error({"--target", "http://x/", "--total-queries", "-5"}) ==
        "--total-queries: '-5' is not a whole number >= 1");
  CHECK(parse_error({"--target", "http://x/", "--total-queries", "12abc"}) ==
        "--total-queries: '12abc' is not a whole number >= 1");
  CHECK(parse_error({"--target", "http://x/", "--rate", "fast"}) ==
        "--rate: 'fast' is not a number >= 0");
  CHECK(parse_error({"--target", "http://x/", "--task-cpus", "0"}) ==
        "--task-cpus: '0' is not a number > 0");
  CHECK(parse_error({"--target", "http://x/", "--timeout", "nan"}) ==
        "--timeout: 'nan' is not a number > 0");
  CHECK(parse_error({"--target", "http://x/", "--report", "xml"}) ==
        "--report: 'xml' is not text or json");
  CHECK(parse_error({"--help=yes"}) == "--help takes no value");
  CHECK(parse_error({"--target", "http://x/", "--query", ""}) == "--query: an empty value");
}

TEST_CASE("load-tester usage lists every flag") {
  const auto text = load::usage();
  for (const char* name :
       {"--master, --mesos-master", "--total-queries", "--queries-per-task", "--parallelism",
        "--target", "--query", "--rate", "--connections", "--task-cpus", "--task-mem", "--timeout",
        "--max-failed-tasks", "--report", "--listen", "--advertise"})
    CHECK(text.find(name) != std::string::npos);
}
