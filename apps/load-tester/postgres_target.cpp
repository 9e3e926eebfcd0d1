#include "postgres_target.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace heatblast::load {
namespace {

using Clock = std::chrono::steady_clock;

struct ConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
struct CancelDeleter {
  void operator()(PGcancel* cancel) const { PQfreeCancel(cancel); }
};
struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end in a newline and the server's run on ("LINE 1: ..."): one line is enough.
std::string first_line(const char* message) {
  std::string_view text = message ? message : "";
  text = text.substr(0, text.find('\n'));
  return text.empty() ? std::string("no message") : std::string(text);
}

// Every port of a "port" option ("5432" or, for several hosts, "5432,5433"): libpq checks them
// only when it connects.
bool ports_valid(std::string_view ports) {
  while (true) {
    const auto comma = ports.find(',');
    const auto one = ports.substr(0, comma);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(one.data(), one.data() + one.size(), port);
    // An empty item means the default port.
    if (!one.empty() &&
        (ec != std::errc() || end != one.data() + one.size() || port == 0 || port > 65535))
      return false;
    if (comma == std::string_view::npos) return true;
    ports.remove_prefix(comma + 1);
  }
}

class PostgresTarget final : public Target {
 public:
  PostgresTarget(std::string url, std::string sql, std::chrono::milliseconds timeout)
      : url_(std::move(url)), sql_(std::move(sql)), timeout_(timeout) {}

  Result<void> connect() {
    // libpq's connect_timeout is in whole seconds and at least 2.
    const auto seconds = std::to_string(std::max<std::int64_t>(2, (timeout_.count() + 999) / 1000));
    // The URL comes last (expand_dbname): its own connect_timeout and application_name win.
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {seconds.c_str(), "heatblast-load-worker", url_.c_str(), nullptr};
    conn_.reset(PQconnectdbParams(keys, values, 1));
    if (!conn_) return fail(errc::io_error, "libpq could not allocate a connection");
    return check_connected();
  }

  Result<void> query() override {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      // The server closed the connection or a timed-out query would not end: start anew.
      PQreset(conn_.get());
      if (auto ok = check_connected(); !ok) return ok;
    }
    const auto deadline = Clock::now() + timeout_;
    if (PQsendQuery(conn_.get(), sql_.c_str()) == 0) return connection_error("send");
    std::string error;
    for (;;) {
      if (auto ready = wait_for_result(deadline); !ready) {
        cancel();
        return ready;
      }
      PgResult result(PQgetResult(conn_.get()));
      if (!result) break;  // every statement's result is in
      const auto status = PQresultStatus(result.get());
      if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
        // A load query has no data to stream: end the connection, the next query makes a new one.
        PQreset(conn_.get());
        return fail(errc::invalid_argument, "COPY is not supported as a load query");
      }
      if ((status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) && error.empty())
        error = first_line(PQresultErrorMessage(result.get()));
    }
    if (!error.empty()) return fail(errc::protocol_error, error);
    return {};
  }

 private:
  Result<void> check_connected() {
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      return fail(errc::connection_refused,
                  fmt::format("cannot connect to {}: {}", redact_target(url_),
                              hide_passwords(first_line(PQerrorMessage(conn_.get())), url_)));
    cancel_.reset(PQgetCancel(conn_.get()));
    return {};
  }

  tl::unexpected<Error> connection_error(std::string_view what) {
    return fail(errc::transport_error,
                fmt::format("{}: {}", what, first_line(PQerrorMessage(conn_.get()))));
  }

  // Reads until a result can be taken without blocking, or `deadline` passes.
  Result<void> wait_for_result(Clock::time_point deadline) {
    while (PQisBusy(conn_.get()) != 0) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0)
        return fail(errc::timeout, fmt::format("query timed out after {} ms", timeout_.count()));
      pollfd fd{PQsocket(conn_.get()), POLLIN, 0};
      const int n = ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(left, 1 << 30)));
      if (n < 0 && errno != EINTR) return fail(errc::io_error, "poll failed");
      if (n > 0 && PQconsumeInput(conn_.get()) == 0) return connection_error("receive");
    }
    return {};
  }

  // Asks the server to stop the query, then collects what it answers (its "canceling statement"
  // error) so the connection can run the next query. A server that does not answer within
  // another timeout is given up: the connection is reset before the next query.
  void cancel() {
    char why[256];
    if (!cancel_ || PQcancel(cancel_.get(), why, sizeof why) == 0) {
      PQreset(conn_.get());
      return;
    }
    const auto deadline = Clock::now() + timeout_;
    for (;;) {
      if (!wait_for_result(deadline)) {
        PQreset(conn_.get());
        return;
      }
      PgResult result(PQgetResult(conn_.get()));
      if (!result) return;
    }
  }

  std::string url_;
  std::string sql_;
  std::chrono::milliseconds timeout_;
  Conn conn_;
  std::unique_ptr<PGcancel, CancelDeleter> cancel_;
};

}  // namespace

Result<void> check_postgres_target(const std::string& url) {
  char* why = nullptr;
  std::unique_ptr<PQconninfoOption, OptionsDeleter> options(PQconninfoParse(url.c_str(), &why));
  if (!options) {
    const std::string reason = why ? hide_passwords(first_line(why), url) : "out of memory";
    PQfreemem(why);
    return fail(errc::invalid_argument,
                fmt::format("'{}' is not a PostgreSQL URI: {}", redact_target(url), reason));
  }
  for (const PQconninfoOption* o = options.get(); o->keyword; ++o) {
    if (o->val && std::string_view(o->keyword) == "port" && !ports_valid(o->val))
      return fail(errc::invalid_argument, fmt::format("'{}': port '{}' is not a number 1-65535",
                                                      redact_target(url), o->val));
  }
  return {};
}

Result<std::unique_ptr<Target>> make_postgres_target(const std::string& url, std::string sql,
                                                     std::chrono::milliseconds timeout) {
  if (auto ok = check_postgres_target(url); !ok) return tl::unexpected(ok.error());
  auto target = std::make_unique<PostgresTarget>(url, std::move(sql), timeout);
  if (auto ok = target->connect(); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<Target>(std::move(target));
}

}  // namespace heatblast::load
