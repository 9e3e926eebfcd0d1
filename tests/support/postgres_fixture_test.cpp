// The PostgreSQL fixture itself: a server that answers on loopback and on its Unix socket, runs
// as a user PostgreSQL accepts, and leaves nothing behind.
#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "support/postgres_fixture.hpp"

using heatblast::testing::PostgresServer;

TEST_CASE("postgres fixture: a fresh server on loopback and a Unix socket, removed afterwards") {
  std::filesystem::path dir;
  {
    auto server = PostgresServer::start();
    INFO((server ? std::string() : server.error().what()));
    REQUIRE(server);
    dir = (*server)->socket_dir();
    CHECK(std::filesystem::exists(dir / fmt::format(".s.PGSQL.{}", (*server)->port())));
    CHECK((*server)->tcp_url() ==
          fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", (*server)->port()));
    // A fresh cluster: no tables of ours yet, and SQL errors come back as errors.
    CHECK((*server)->query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").value() ==
          "0");
    CHECK((*server)->query("CREATE TABLE t (n int)").value().empty());
    CHECK_FALSE((*server)->query("SELECT * FROM no_such_table"));
    // Connections arrive over TCP from 127.0.0.1.
    CHECK((*server)->query("SELECT host(inet_client_addr())").value() == "127.0.0.1");
  }
  CHECK_FALSE(std::filesystem::exists(dir));
}
