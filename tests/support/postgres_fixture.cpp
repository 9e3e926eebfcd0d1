#include "support/postgres_fixture.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace heatblast::testing {
namespace fs = std::filesystem;

namespace {

// The newest Debian PostgreSQL (/usr/lib/postgresql/<major>/bin), or HEATBLAST_PG_BINDIR, or
// the directory of an initdb on PATH.
Result<fs::path> find_bindir() {
  if (const char* dir = std::getenv("HEATBLAST_PG_BINDIR"); dir && *dir) return fs::path(dir);
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const auto bin = entry.path() / "bin";
    const int major = std::atoi(entry.path().filename().c_str());
    if (major > best_major && fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl")) {
      best = bin;
      best_major = major;
    }
  }
  if (best_major >= 0) return best;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');)
      if (!dir.empty() && fs::exists(fs::path(dir) / "initdb") &&
          fs::exists(fs::path(dir) / "pg_ctl"))
        return fs::path(dir);
  }
  return fail(errc::invalid_argument,
              "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on "
              "PATH: apt-get install postgresql");
}

// A port nothing listens on now (the kernel's pick). Another process could take it before the
// server binds it: start() then tries another.
Result<std::uint16_t> free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fail(errc::io_error, "socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return fail(errc::io_error, "could not bind a loopback port");
  return ntohs(addr.sin_port);
}

// Runs `argv` in `cwd` with stdout and stderr appended to `log` (created by this process: a
// file the "postgres" user must write itself, such as the server's log, cannot be `log`), as the
// "postgres" user when this process is root; waits for it. Its exit status, or -1 when it could not
// run.
int run(std::vector<std::string> argv, const fs::path& cwd, const fs::path& log) {
  if (::geteuid() == 0) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  const std::string cwd_text = cwd.string(), log_text = log.string();
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec: the test process has threads.
    const int out = ::open(log_text.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || null < 0 || ::chdir(cwd_text.c_str()) != 0) ::_exit(127);
    ::dup2(null, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  if (auto ok = server->init_and_start(); !ok) return tl::unexpected(ok.error());
  return server;
}

Result<void> PostgresServer::init_and_start() {
  auto bin = find_bindir();
  if (!bin) return tl::unexpected(bin.error());
  bin_ = *bin;
  // Under /tmp whatever TMPDIR says: the "postgres" user must reach it, and a Unix socket path
  // is at most 107 bytes.
  std::string pattern = "/tmp/heatblast-pg-XXXXXX";
  if (!::mkdtemp(pattern.data())) return fail(errc::io_error, "mkdtemp failed in /tmp");
  dir_ = pattern;
  if (::geteuid() == 0) {
    const passwd* user = ::getpwnam("postgres");
    if (!user)
      return fail(errc::invalid_argument,
                  "running as root and there is no 'postgres' user to run PostgreSQL as "
                  "(apt-get install postgresql creates it)");
    if (::chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0)
      return fail(errc::io_error, fmt::format("chown {} to postgres failed", dir_.string()));
  }
  const fs::path data = dir_ / "data", log = dir_ / "server.log";
  if (run({(bin_ / "initdb").string(), "-D", data.string(), "-U", "postgres", "-A", "trust", "-E",
           "UTF8", "--locale=C", "--no-sync"},
          dir_, dir_ / "initdb.log") != 0)
    return fail(errc::io_error, "initdb failed: " + log_tail());

  // A port taken between free_port() and the server's bind: try another.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto port = free_port();
    if (!port) return tl::unexpected(port.error());
    port_ = *port;
    // Durability is of no use to a test database; these make its writes cheap.
    const std::string options = fmt::format(
        "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off",
        port_, dir_.string());
    if (run({(bin_ / "pg_ctl").string(), "-D", data.string(), "-l", log.string(), "-o", options,
             "-w", "-t", "60", "start"},
            dir_, dir_ / "pg_ctl.log") == 0) {
      running_ = true;
      return {};
    }
  }
  return fail(errc::io_error, "the PostgreSQL server did not start: " + log_tail());
}

PostgresServer::~PostgresServer() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void PostgresServer::stop() {
  if (!running_) return;
  running_ = false;
  run({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m", "fast", "-w", "stop"},
      dir_, dir_ / "pg_ctl.log");
}

std::string PostgresServer::log_tail() const {
  std::string all;
  for (const char* name : {"initdb.log", "server.log", "pg_ctl.log"}) {
    std::ifstream in(dir_ / name);
    std::stringstream text;
    text << in.rdbuf();
    all += text.str();
  }
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

std::string PostgresServer::tcp_url(std::string_view db) const {
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, db);
}

std::string PostgresServer::socket_url(std::string_view db) const {
  return fmt::format("postgresql:///{}?host={}&port={}&user=postgres", db, dir_.string(), port_);
}

Result<std::string> PostgresServer::query(std::string_view sql) const {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(tcp_url().c_str()), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK)
    return fail(errc::connection_refused, PQerrorMessage(conn.get()));
  std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), std::string(sql).c_str()),
                                                       &PQclear);
  const auto status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    return fail(errc::protocol_error, PQresultErrorMessage(result.get()));
  if (status == PGRES_TUPLES_OK && PQntuples(result.get()) > 0 && PQnfields(result.get()) > 0)
    return std::string(PQgetvalue(result.get(), 0, 0));
  return std::string();
}

}  // namespace heatblast::testing
