// The target kinds behind load-worker: which URL is which, what may be shown of it, and the
// checks made before connecting. No server needed.
#include <catch2/catch.hpp>

#include "worker.hpp"

namespace load = heatblast::load;

TEST_CASE("load targets: the kind comes from the scheme") {
  CHECK(load::target_kind("http://h/") == load::TargetKind::http);
  CHECK(load::target_kind("https://h/") == load::TargetKind::http);
  CHECK(load::target_kind("postgresql://u@h:5432/db") == load::TargetKind::postgresql);
  CHECK(load::target_kind("postgres:///db?host=/tmp") == load::TargetKind::postgresql);
  CHECK(load::target_kind("cql://h") == load::TargetKind::unknown);
  CHECK(load::target_kind("host=h dbname=db") == load::TargetKind::unknown);
}

TEST_CASE("load targets: passwords are redacted wherever the URL holds one") {
  CHECK(load::redact_target("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db");
  CHECK(load::redact_target("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
  CHECK(load::redact_target("postgresql://u@h/db?password=secret&sslmode=disable") ==
        "postgresql://u@h/db?password=***&sslmode=disable");
  CHECK(load::redact_target("postgresql:///db?host=/tmp&password=x") ==
        "postgresql:///db?host=/tmp&password=***");
  CHECK(load::redact_target("http://h:80/path?q=1") == "http://h:80/path?q=1");
  CHECK(load::redact_target("http://user:pw@h/") == "http://user:***@h/");
  CHECK(load::hide_passwords("bad token \"secret%zz\"", "postgresql://u:secret%zz@h/db") ==
        "bad token \"***\"");
}

TEST_CASE("load targets: check_target reads the URL and the query without connecting") {
  CHECK(load::check_target("http://h/", "GET /"));
  CHECK_FALSE(load::check_target("http://h/", "SELECT 1"));
  CHECK(load::check_target("postgresql://u@127.0.0.1:5432/db", "SELECT 1"));
  CHECK(load::check_target("postgresql:///db?host=/var/run/postgresql", "SELECT 1"));
  CHECK_FALSE(load::check_target("postgresql://h/db", ""));
  auto bad = load::check_target("postgresql://u:secret@h/db?no_such_option=1", "SELECT 1");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().what().find("no_such_option") != std::string::npos);
  CHECK(bad.error().what().find("secret") == std::string::npos);
  CHECK_FALSE(load::check_target("postgresql://h:0/db", "SELECT 1"));
  CHECK_FALSE(load::check_target("postgresql://h:5432,h2:x/db", "SELECT 1"));
  CHECK(load::check_target("postgresql://h:5432,h2:5433/db", "SELECT 1"));
  CHECK_FALSE(load::check_target("ftp://h/", "GET /"));
}

TEST_CASE("load targets: a PostgreSQL connection error does not show the password") {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  auto target = load::connect_target("postgresql://u:s3cret@127.0.0.1:1/db", "SELECT 1",
                                     std::chrono::milliseconds(2000));
  REQUIRE_FALSE(target);
  const auto message = target.error().what();
  INFO(message);
  CHECK(message.find("cannot connect to postgresql://u:***@127.0.0.1:1/db") == 0);
  CHECK(message.find("s3cret") == std::string::npos);
}

TEST_CASE("load targets: a PostgreSQL password is split from the URL, percent-decoded") {
  auto plain = load::split_password("postgresql://u:p%40ss@h:5432/db");
  CHECK(plain.url == "postgresql://u@h:5432/db");
  CHECK(plain.password == "p@ss");
  auto query = load::split_password("postgresql://u@h/db?password=x%26y&sslmode=disable");
  CHECK(query.url == "postgresql://u@h/db?sslmode=disable");
  CHECK(query.password == "x&y");
  auto last = load::split_password("postgresql:///db?host=/tmp&password=z");
  CHECK(last.url == "postgresql:///db?host=/tmp");
  CHECK(last.password == "z");
  auto none = load::split_password("postgresql://u@h/db");
  CHECK(none.url == "postgresql://u@h/db");
  CHECK(none.password.empty());
}
