// The scheduler client against a scripted master on loopback: one protocol rule per test.
#include "heatblast/scheduler.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fakes/fake_master.hpp"
#include "fakes/run_until.hpp"

using namespace std::chrono_literals;
using heatblast::ContentType;
using heatblast::errc;
using heatblast::testing::FakeMaster;
using heatblast::testing::run_until;
using namespace heatblast::scheduler;

namespace {

struct Harness {
  boost::asio::io_context io;
  FakeMaster master{io.get_executor()};
  std::vector<Event> events;
  std::vector<State> states;
  std::vector<std::string> framework_ids;
  std::optional<heatblast::Error> fatal;
  std::vector<std::string> logs;
  std::vector<std::string> order;  // what the application saw, in order
  std::unique_ptr<Client> client;

  explicit Harness(ContentType type = ContentType::protobuf,
                   std::function<void(Options&)> tweak = {}) {
    REQUIRE(master.start().has_value());
    Options options;
    options.masters = {master.address()};
    options.framework.set_user("tester");
    options.framework.set_name("client-test");
    options.content_type = type;
    options.backoff = {.initial = 10ms, .max = 50ms, .multiplier = 2, .jitter = 0.5};
    if (tweak) tweak(options);
    client = std::make_unique<Client>(io.get_executor(), std::move(options), handlers());
  }

  Handlers handlers() {
    Handlers h;
    h.on_event = [this](const Event& e) {
      events.push_back(e);
      order.push_back("event " + Event::Type_Name(e.type()));
    };
    h.on_state = [this](State s, std::string_view) { states.push_back(s); };
    h.on_framework_id = [this](const mesos::v1::FrameworkID& id) {
      framework_ids.push_back(id.value());
      order.push_back("framework_id " + id.value());
    };
    h.on_fatal = [this](const heatblast::Error& e) { fatal = e; };
    h.on_log = [this](LogLevel, std::string_view message) { logs.emplace_back(message); };
    return h;
  }

  bool subscribed() {
    return run_until(io, [&] { return client->state() == State::subscribed; });
  }
  int count(Event::Type type) const {
    int n = 0;
    for (const auto& e : events)
      n += e.type() == type;
    return n;
  }
};

Event update(const std::string& task, mesos::v1::TaskState state, std::string uuid) {
  Event e;
  e.set_type(Event::UPDATE);
  auto* status = e.mutable_update()->mutable_status();
  status->mutable_task_id()->set_value(task);
  status->mutable_agent_id()->set_value("agent-1");
  status->set_state(state);
  if (!uuid.empty()) status->set_uuid(uuid);
  return e;
}

}  // namespace

TEST_CASE("client: subscribes, persists the id first, and reconciles implicitly", "[scheduler]") {
  for (auto type : {ContentType::protobuf, ContentType::json}) {
    CAPTURE(heatblast::to_string(type));
    Harness h(type);
    REQUIRE(h.client->start().has_value());
    REQUIRE(h.subscribed());
    REQUIRE(run_until(h.io, [&] { return !h.master.calls_of_type(Call::RECONCILE).empty(); }));

    const auto& subscribe = h.master.subscribes.at(0);
    CHECK(heatblast::http::find_header(subscribe.headers, "Content-Type") ==
          heatblast::media_type(type));
    CHECK(heatblast::http::find_header(subscribe.headers, "Accept") == heatblast::media_type(type));
    CHECK_FALSE(heatblast::http::find_header(subscribe.headers, "Mesos-Stream-Id"));
    CHECK_FALSE(subscribe.call.has_framework_id());
    // Mesos's 0 would kill every task when the stream drops; a safe default is sent instead.
    CHECK(subscribe.call.subscribe().framework_info().failover_timeout() == 7 * 24 * 3600);

    REQUIRE(h.order.size() >= 2);
    CHECK(h.order[0] == "framework_id fw-1");
    CHECK(h.order[1] == "event SUBSCRIBED");
    CHECK(h.client->framework_id()->value() == "fw-1");

    const auto& reconcile = h.master.calls.at(0);
    CHECK(reconcile.call.framework_id().value() == "fw-1");
    CHECK(reconcile.call.reconcile().tasks_size() == 0);
    CHECK(heatblast::http::find_header(reconcile.headers, "Mesos-Stream-Id") == "stream-1");
    CHECK(heatblast::http::find_header(reconcile.headers, "Content-Type") ==
          heatblast::media_type(type));
  }
}

TEST_CASE("client: updates with a uuid are acknowledged, others never", "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  const std::string uuid("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x00", 16);
  h.master.send(update("t1", mesos::v1::TASK_RUNNING, uuid));
  h.master.send(update("t2", mesos::v1::TASK_LOST, ""));  // e.g. a reconciliation answer
  REQUIRE(run_until(h.io, [&] { return !h.master.calls_of_type(Call::ACKNOWLEDGE).empty(); }));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 2; }));
  heatblast::testing::run_ready(h.io);
  const auto acks = h.master.calls_of_type(Call::ACKNOWLEDGE);
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].acknowledge().uuid() == uuid);
  CHECK(acks[0].acknowledge().task_id().value() == "t1");
  CHECK(acks[0].acknowledge().agent_id().value() == "agent-1");
  CHECK(h.client->counters().acknowledgements == 1);
}

TEST_CASE("client: explicit acknowledgement when asked for", "[scheduler]") {
  Harness h(ContentType::json, [](Options& o) { o.auto_acknowledge = false; });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.send(update("t1", mesos::v1::TASK_RUNNING, std::string(16, 'u')));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 1; }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.master.calls_of_type(Call::ACKNOWLEDGE).empty());
  bool done = false;
  const auto& status = h.events.back().update().status();
  h.client->acknowledge(status.agent_id(), status.task_id(), status.uuid(),
                        [&](heatblast::Result<void> r) { done = r.has_value(); });
  REQUIRE(run_until(h.io, [&] { return done; }));
  CHECK(h.master.calls_of_type(Call::ACKNOWLEDGE).at(0).acknowledge().uuid() ==
        std::string(16, 'u'));
}

TEST_CASE("client: a closed stream is resubscribed with the same framework id", "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  bool suppressed = false;
  h.client->suppress({"web"}, [&](heatblast::Result<void> r) { suppressed = r.has_value(); });
  REQUIRE(run_until(h.io, [&] { return suppressed; }));

  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  REQUIRE(h.subscribed());
  const auto& again = h.master.subscribes[1].call;
  CHECK(again.framework_id().value() == "fw-1");
  CHECK(again.subscribe().framework_info().id().value() == "fw-1");
  // The new leader knows nothing of earlier SUPPRESS calls.
  REQUIRE(again.subscribe().suppressed_roles_size() == 1);
  CHECK(again.subscribe().suppressed_roles(0) == "web");
  CHECK(h.client->counters().subscriptions == 2);
  CHECK(h.client->counters().reconnects == 1);
  CHECK(std::count(h.states.begin(), h.states.end(), State::disconnected) == 1);
}

TEST_CASE("client: a record cut mid-way or malformed drops the stream and reconnects",
          "[scheduler]") {
  Harness h(ContentType::json);
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());

  SECTION("malformed record") {
    h.master.send_raw("5\n{\"ty}");
  }
  SECTION("non-numeric length") {
    h.master.send_raw("xyz\n");
  }
  SECTION("cut inside a record") {
    h.master.send_raw("100\n{\"type\":");
    h.master.stream.abort();
  }
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  REQUIRE(h.subscribed());
  CHECK(h.master.subscribes[1].call.framework_id().value() == "fw-1");
  CHECK_FALSE(h.fatal.has_value());
}

TEST_CASE("client: a silent master is dropped after the heartbeat bound", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.heartbeat_misses = 2; });
  h.master.heartbeat_interval_seconds = 0.05;  // the fake sends no heartbeats after the first
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  REQUIRE(run_until(
      h.io, [&] { return h.master.subscribes.size() == 2; }, 3s));
  CHECK(h.client->counters().heartbeat_timeouts >= 1);
}

TEST_CASE("client: follows a 307 to the leader and backs off on 503", "[scheduler]") {
  Harness h;
  FakeMaster leader(h.io.get_executor());
  REQUIRE(leader.start().has_value());
  h.master.subscribe_answers.push_back({503, "", "No leader elected"});
  h.master.subscribe_answers.push_back({307, "//" + leader.address() + "/api/v1/scheduler", ""});
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  CHECK(h.client->current_master() == leader.address());
  CHECK(leader.subscribes.size() == 1);
  CHECK(h.client->counters().redirects == 1);
  // Calls go to the leader too.
  REQUIRE(run_until(h.io, [&] { return !leader.calls.empty(); }));
  CHECK(h.master.calls.empty());
}

TEST_CASE("client: a 307 that changes the scheme is refused, nothing goes there", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) {
    o.credentials = Credentials{"principal", "secret"};
  });
  FakeMaster elsewhere(h.io.get_executor());
  REQUIRE(elsewhere.start().has_value());
  // Another scheme than ours (http): refused. (https to http is refused the same way; see
  // masters_test.cpp, as no https master runs here.)
  h.master.subscribe_answers.push_back(
      {307, "https://" + elsewhere.address() + "/api/v1/scheduler", ""});
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  CHECK(h.client->current_master() == h.master.address());
  CHECK(h.client->counters().redirects == 0);
  CHECK(elsewhere.subscribes.empty());
  CHECK(elsewhere.calls.empty());
  bool explained = false;
  for (const auto& line : h.logs)
    explained = explained || (line.find("changes the scheme") != std::string::npos &&
                              line.find("secret") == std::string::npos);
  CHECK(explained);
  bool warned = false;  // about our own http:// master, at start
  for (const auto& line : h.logs)
    warned =
        warned || line.find("in clear text to 'http://" + h.master.address()) != std::string::npos;
  CHECK(warned);
  // The credentials went only to the configured master.
  REQUIRE(h.master.subscribes.size() == 2);
  CHECK(heatblast::http::find_header(h.master.subscribes[1].headers, "Authorization"));

  // The same on a call's 307: the client stays with the master it knows.
  h.master.call_answers.push_back({307, ""});
  h.master.call_location = "https://" + elsewhere.address() + "/api/v1/scheduler";
  h.client->revive();
  REQUIRE(run_until(h.io, [&] {
    return h.master.subscribes.size() == 3 && h.client->state() == State::subscribed;
  }));
  CHECK(h.client->current_master() == h.master.address());
  CHECK(elsewhere.subscribes.empty());
  CHECK(elsewhere.calls.empty());
}

TEST_CASE("client: ERROR 'Framework has been removed' ends the session", "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  Event error;
  error.set_type(Event::ERROR);
  error.mutable_error()->set_message("Framework has been removed");
  h.master.send(error);
  REQUIRE(run_until(h.io, [&] { return h.fatal.has_value(); }));
  CHECK(h.fatal->code == errc::framework_removed);
  CHECK(h.client->state() == State::stopped);
  CHECK(h.count(Event::ERROR) == 1);
  heatblast::testing::run_ready(h.io);
  CHECK(h.master.subscribes.size() == 1);  // no blind retry
}

TEST_CASE("client: a refused SUBSCRIBE is fatal with the master's text", "[scheduler]") {
  Harness h;
  h.master.subscribe_answers.push_back({401, "", "Unauthorized: bad credentials"});
  REQUIRE(h.client->start().has_value());
  REQUIRE(run_until(h.io, [&] { return h.fatal.has_value(); }));
  CHECK(h.fatal->code == errc::subscription_failed);
  CHECK_THAT(h.fatal->message, Catch::Contains("401") && Catch::Contains("bad credentials"));
}

TEST_CASE("client: calls need a subscription, go in order, and carry rejections back",
          "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.reconcile_on_subscribe = false; });
  std::optional<heatblast::Result<void>> early;
  h.client->revive({}, [&](heatblast::Result<void> r) { early = r; });  // before start()
  REQUIRE(run_until(h.io, [&] { return early.has_value(); }));
  CHECK(early->error().code == errc::not_subscribed);

  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.call_answers.push_back({202, ""});
  h.master.call_answers.push_back({400, "Failed to validate scheduler::Call: bad offer"});
  std::vector<std::string> results;
  auto record = [&](std::string name) {
    return [&results, name](heatblast::Result<void> r) {
      results.push_back(name + (r ? " ok" : " " + r.error().message));
    };
  };
  mesos::v1::OfferID offer;
  offer.set_value("o1");
  h.client->decline({offer}, std::nullopt, record("decline"));
  h.client->accept({offer}, {}, std::nullopt, record("accept"));
  h.client->revive({}, record("revive"));
  REQUIRE(run_until(h.io, [&] { return results.size() == 3; }));
  CHECK(results[0] == "decline ok");
  CHECK_THAT(results[1],
             Catch::Contains("accept") && Catch::Contains("400") && Catch::Contains("bad offer"));
  CHECK(results[2] == "revive ok");
  REQUIRE(h.master.calls.size() == 3);
  CHECK(h.master.calls[0].call.type() == Call::DECLINE);
  CHECK(h.master.calls[1].call.type() == Call::ACCEPT);
  CHECK(h.master.calls[2].call.type() == Call::REVIVE);
  CHECK(h.client->counters().calls.at("ACCEPT").rejected == 1);
}

TEST_CASE("client: explicit reconciliation is repeated until every task is answered",
          "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_backoff = {.initial = 20ms, .max = 40ms, .multiplier = 2, .jitter = 0};
  });
  Handlers handlers = h.handlers();
  handlers.known_tasks = [] {
    std::vector<Call::Reconcile::Task> tasks(2);
    tasks[0].mutable_task_id()->set_value("a");
    tasks[1].mutable_task_id()->set_value("b");
    return tasks;
  };
  Options options;
  options.masters = {h.master.address()};
  options.framework.set_user("u");
  options.framework.set_name("n");
  options.reconcile_backoff = {.initial = 20ms, .max = 40ms, .multiplier = 2, .jitter = 0};
  h.client = std::make_unique<Client>(h.io.get_executor(), options, handlers);
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  auto explicit_rounds = [&] {
    int n = 0;
    for (const auto& c : h.master.calls_of_type(Call::RECONCILE))
      n += c.reconcile().tasks_size() > 0;
    return n;
  };
  // The repeats the client sent so far (it logs each as it sends it); with the round sent on
  // SUBSCRIBED, the explicit rounds the master has or will have received. Whether a repeat goes
  // out before or after an answer is processed is up to the machine's load, so each check is on
  // the rounds the client sent after the answer.
  auto repeats_sent = [&] {
    return static_cast<int>(std::count_if(h.logs.begin(), h.logs.end(), [](const auto& line) {
      return line.find("still unanswered; reconciling them again") != std::string::npos;
    }));
  };
  REQUIRE(run_until(h.io, [&] { return explicit_rounds() == 1; }));
  h.master.send(update("a", mesos::v1::TASK_RUNNING, ""));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 1; }));
  // The first round sent after a's answer asks for b only.
  const int first_after_a = 1 + repeats_sent();
  REQUIRE(run_until(h.io, [&] { return explicit_rounds() > first_after_a; }));
  std::vector<Call> rounds_seen;
  for (const auto& c : h.master.calls_of_type(Call::RECONCILE)) {
    if (c.reconcile().tasks_size() > 0) rounds_seen.push_back(c);
  }
  const auto& second = rounds_seen.at(first_after_a);
  REQUIRE(second.reconcile().tasks_size() == 1);
  CHECK(second.reconcile().tasks(0).task_id().value() == "b");
  h.master.send(update("b", mesos::v1::TASK_LOST, ""));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 2; }));
  const int sent = 1 + repeats_sent();
  REQUIRE(run_until(h.io, [&] { return explicit_rounds() == sent; }));
  // No further rounds once both are answered: 150 ms is several backoff periods (40 ms).
  run_until(
      h.io, [] { return false; }, 150ms);
  CHECK(1 + repeats_sent() == sent);
  CHECK(explicit_rounds() == sent);
}

TEST_CASE("client: the stream end that a TEARDOWN causes waits for the TEARDOWN's answer",
          "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.reconcile_on_subscribe = false; });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  std::optional<heatblast::Result<void>> done;
  h.master.hold_next_call = true;
  h.client->teardown([&](heatblast::Result<void> r) { done = std::move(r); });
  REQUIRE(run_until(h.io, [&] { return h.master.held_call.has_value(); }));
  // The master closes the torn-down framework's stream before its 202 arrives.
  h.master.stream.close();
  auto waiting = [&] {
    return std::any_of(h.logs.begin(), h.logs.end(), [](const std::string& line) {
      return line.find("while 'TEARDOWN' awaits its answer") != std::string::npos;
    });
  };
  REQUIRE(run_until(h.io, waiting));
  CHECK(h.client->state() == State::subscribed);

  SECTION("202: torn down, stopped, no reconnection") {
    h.master.held_call->respond(202);
    REQUIRE(run_until(h.io, [&] { return done.has_value(); }));
    CHECK(done->has_value());
    CHECK(h.client->state() == State::stopped);
    heatblast::testing::run_ready(h.io);
    CHECK(h.master.subscribes.size() == 1);
    CHECK_FALSE(h.fatal.has_value());
  }
  SECTION("refused: the stream end was a disconnection after all") {
    h.master.held_call->respond(400, {}, "Framework cannot be found");
    REQUIRE(run_until(h.io, [&] { return done.has_value(); }));
    CHECK(done->error().code == errc::call_rejected);
    REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
    CHECK(std::count(h.states.begin(), h.states.end(), State::disconnected) == 1);
  }
}

TEST_CASE("client: stop() never tears the framework down", "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.client->stop();
  h.client->stop();  // idempotent
  CHECK(h.client->state() == State::stopped);
  run_until(
      h.io, [] { return false; }, 100ms);
  CHECK(h.master.calls_of_type(Call::TEARDOWN).empty());
  CHECK_FALSE(h.client->start().has_value());
}

TEST_CASE("client: bad options are refused at start", "[scheduler]") {
  boost::asio::io_context io;
  Options no_user;
  no_user.framework.set_name("x");
  Client a(io.get_executor(), no_user, {});
  CHECK(a.start().error().code == errc::invalid_argument);

  Options bad_master;
  bad_master.masters = {"host:notaport"};
  bad_master.framework.set_user("u");
  bad_master.framework.set_name("n");
  Client b(io.get_executor(), bad_master, {});
  CHECK(b.start().error().code == errc::invalid_argument);
}

TEST_CASE("client: basic authentication on every request, the secret never logged", "[scheduler]") {
  char path[] = "/tmp/heatblast-secret-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string secret = "s3cr3t-value";
  REQUIRE(write(fd, (secret + "\n").data(), secret.size() + 1) ==
          static_cast<ssize_t>(secret.size() + 1));
  close(fd);
  auto credentials = Credentials::from_file("etl", path);
  std::remove(path);
  REQUIRE(credentials.has_value());
  CHECK(credentials->secret == secret);  // the trailing newline is not part of it
  CHECK_FALSE(Credentials::from_file("etl", "/nonexistent/secret").has_value());

  std::vector<std::string> logs;
  Harness h(ContentType::protobuf, [&](Options& o) { o.credentials = *credentials; });
  Handlers handlers = h.handlers();
  handlers.on_log = [&](LogLevel, std::string_view line) { logs.emplace_back(line); };
  Options options;
  options.masters = {h.master.address()};
  options.framework.set_user("u");
  options.framework.set_name("n");
  options.credentials = *credentials;
  h.client = std::make_unique<Client>(h.io.get_executor(), options, handlers);
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  REQUIRE(run_until(h.io, [&] { return !h.master.calls.empty(); }));
  h.master.stream.close();  // a reconnect logs more
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));

  // base64("etl:s3cr3t-value")
  const std::string expected = "Basic ZXRsOnMzY3IzdC12YWx1ZQ==";
  CHECK(heatblast::http::find_header(h.master.subscribes[0].headers, "Authorization") == expected);
  CHECK(heatblast::http::find_header(h.master.calls[0].headers, "Authorization") == expected);
  CHECK(heatblast::http::find_header(h.master.subscribes[1].headers, "Authorization") == expected);
  REQUIRE_FALSE(logs.empty());
  for (const auto& line : logs) {
    CHECK_THAT(line, !Catch::Contains(secret) && !Catch::Contains("ZXRsOnMzY3IzdC12YWx1ZQ"));
  }
}

TEST_CASE("client: an ERROR split across reads ends the session cleanly", "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  Event error;
  error.set_type(Event::ERROR);
  error.mutable_error()->set_message("Framework has been removed");
  std::string framed;
  heatblast::recordio_append(framed, heatblast::MessageCodec(ContentType::protobuf).encode(error));
  // The record completes inside a later read: the stop happens inside the decoder's feed().
  h.master.send_raw(std::string_view(framed).substr(0, framed.size() - 3));
  heatblast::testing::run_ready(h.io);
  run_until(
      h.io, [] { return false; }, 50ms);
  h.master.send_raw(std::string_view(framed).substr(framed.size() - 3));
  REQUIRE(run_until(h.io, [&] { return h.fatal.has_value(); }));
  CHECK(h.fatal->code == errc::framework_removed);
  CHECK(h.client->state() == State::stopped);
}

TEST_CASE("client: stop() from a state handler stops everything, even mid-connect", "[scheduler]") {
  Harness h;
  Handlers handlers = h.handlers();
  int connecting = 0;
  handlers.on_state = [&](State s, std::string_view) {
    if (s == State::connecting && ++connecting == 2) h.client->stop();
  };
  Options options;
  options.masters = {h.master.address()};
  options.framework.set_user("u");
  options.framework.set_name("n");
  options.backoff = {.initial = 10ms, .max = 20ms, .multiplier = 2, .jitter = 0};
  h.client = std::make_unique<Client>(h.io.get_executor(), options, handlers);
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.stream.close();  // the reconnect's 'connecting' stops the client
  REQUIRE(run_until(h.io, [&] { return h.client->state() == State::stopped; }));
  run_until(
      h.io, [] { return false; }, 100ms);
  CHECK(h.master.subscribes.size() == 1);
}

TEST_CASE("client: no CallDone runs after stop() returned", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.reconcile_on_subscribe = false; });
  int after_stop = 0;
  bool stopped = false;
  h.client->revive({}, [&](heatblast::Result<void>) { after_stop += stopped; });
  // The not-subscribed answer is decided at once but delivered later; stop() delivers it.
  h.client->stop();
  stopped = true;
  run_until(
      h.io, [] { return false; }, 50ms);
  CHECK(after_stop == 0);
}

TEST_CASE("client: only an accepted UPDATE_FRAMEWORK changes later SUBSCRIBEs", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.reconcile_on_subscribe = false; });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.call_answers.push_back({400, "Updating 'principal' is unsupported"});
  mesos::v1::FrameworkInfo refused;
  refused.set_user("tester");
  refused.set_name("refused-name");
  std::optional<heatblast::Result<void>> first;
  h.client->update_framework(refused, {}, [&](heatblast::Result<void> r) { first = r; });
  REQUIRE(run_until(h.io, [&] { return first.has_value(); }));
  CHECK_FALSE(first->has_value());
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  CHECK(h.master.subscribes[1].call.subscribe().framework_info().name() == "client-test");
  REQUIRE(h.subscribed());

  h.master.call_answers.push_back({200, ""});
  mesos::v1::FrameworkInfo accepted = refused;
  accepted.set_name("renamed");
  std::optional<heatblast::Result<void>> second;
  h.client->update_framework(accepted, {}, [&](heatblast::Result<void> r) { second = r; });
  REQUIRE(run_until(h.io, [&] { return second.has_value(); }));
  CHECK(second->has_value());
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 3; }));
  CHECK(h.master.subscribes[2].call.subscribe().framework_info().name() == "renamed");
  CHECK(h.master.subscribes[2].call.subscribe().framework_info().id().value() == "fw-1");
}

TEST_CASE("client: a handler can hold back an update's acknowledgement", "[scheduler]") {
  Harness h;
  bool hold = true;
  bool held_outside = true;
  auto handlers = h.handlers();
  handlers.on_event = [&](const Event& e) {
    h.events.push_back(e);
    if (e.type() == Event::UPDATE && hold) CHECK(h.client->hold_acknowledgement());
    if (e.type() == Event::SUBSCRIBED) held_outside = h.client->hold_acknowledgement();
  };
  Options options;
  options.masters = {h.master.address()};
  options.framework.set_user("tester");
  options.framework.set_name("client-test");
  h.client = std::make_unique<Client>(h.io.get_executor(), options, handlers);
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  CHECK_FALSE(held_outside);  // not an update: nothing to hold
  h.master.send(update("t1", mesos::v1::TASK_FINISHED, "u-1"));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 1; }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.master.calls_of_type(Call::ACKNOWLEDGE).empty());
  CHECK(h.client->counters().acknowledgements_held == 1);
  // The master re-sends it; this time the handler recorded it.
  hold = false;
  h.master.send(update("t1", mesos::v1::TASK_FINISHED, "u-1"));
  REQUIRE(run_until(h.io, [&] { return h.master.calls_of_type(Call::ACKNOWLEDGE).size() == 1; }));
  CHECK(h.client->counters().acknowledgements == 1);
  CHECK_FALSE(h.client->hold_acknowledgement());  // outside a handler
}

TEST_CASE(
    "client: acknowledgements a dropped connection did not complete are sent after "
    "the next SUBSCRIBED",
    "[scheduler]") {
  Harness h;
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  REQUIRE(run_until(h.io, [&] { return !h.master.calls_of_type(Call::RECONCILE).empty(); }));
  heatblast::testing::run_ready(h.io);
  // Neither acknowledgement is answered (they go out at once, on connections of their own);
  // then the stream drops.
  h.master.hold_calls = true;
  h.master.send(update("t1", mesos::v1::TASK_RUNNING, "u-1"));
  h.master.send(update("t2", mesos::v1::TASK_FINISHED, "u-2"));
  REQUIRE(run_until(h.io, [&] { return h.master.held_calls.size() == 2; }));
  REQUIRE(run_until(h.io, [&] { return h.count(Event::UPDATE) == 2; }));
  h.master.hold_calls = false;
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  auto on_second_stream = [&] {
    std::vector<FakeMaster::ReceivedCall> out;
    for (const auto& c : h.master.calls) {
      if (heatblast::http::find_header(c.headers, "Mesos-Stream-Id") == "stream-2")
        out.push_back(c);
    }
    return out;
  };
  // Both again (ACKNOWLEDGEs travel beside the ordered calls, so their arrival order among
  // themselves and against the new subscription's RECONCILE is not fixed), for the same framework.
  auto acks_answered = [&] {
    const auto& calls = h.client->counters().calls;
    auto it = calls.find("ACKNOWLEDGE");
    return it != calls.end() && it->second.sent == 2;
  };
  REQUIRE(run_until(h.io, acks_answered));
  std::multiset<std::string> uuids;
  for (const auto& c : on_second_stream()) {
    if (c.call.type() != Call::ACKNOWLEDGE) continue;
    uuids.insert(c.call.acknowledge().uuid());
    CHECK(c.call.framework_id().value() == "fw-1");
  }
  CHECK(uuids == std::multiset<std::string>{"u-1", "u-2"});
  CHECK(h.client->counters().calls.at("ACKNOWLEDGE").failed == 0);
}

TEST_CASE(
    "client: give_up_after ends the session when no master answers; failures logged "
    "at a readable rate",
    "[scheduler]") {
  // A port with nothing listening: every attempt is refused at once.
  std::uint16_t closed_port = 0;
  {
    boost::asio::io_context scratch;
    FakeMaster probe(scratch.get_executor());
    REQUIRE(probe.start().has_value());
    closed_port = probe.port();
  }
  Harness h(ContentType::protobuf, [&](Options& o) {
    o.masters = {"127.0.0.1:" + std::to_string(closed_port)};
    o.backoff = {.initial = 5ms, .max = 5ms, .multiplier = 1, .jitter = 0};
    o.give_up_after = 300ms;
  });
  const auto began = std::chrono::steady_clock::now();
  REQUIRE(h.client->start().has_value());
  REQUIRE(run_until(
      h.io, [&] { return h.fatal.has_value(); }, 3s));
  CHECK(std::chrono::steady_clock::now() - began >= 300ms);
  CHECK(h.fatal->code == errc::timeout);
  CHECK_THAT(h.fatal->message, Catch::Contains("no master reached"));
  CHECK(h.client->state() == State::stopped);
  // Dozens of attempts, one summary line (the first failure; then one per 10 s); each attempt
  // is logged at debug level only.
  CHECK(h.client->counters().reconnects > 10);
  int summaries = 0;
  for (const auto& line : h.logs)
    summaries += line.find("attempt(s)); last:") != std::string::npos;
  CHECK(summaries == 1);
}

TEST_CASE("client: resubscribes within a second of a master's return (default backoff)",
          "[scheduler]") {
  boost::asio::io_context io;
  auto master = std::make_unique<FakeMaster>(io.get_executor());
  REQUIRE(master->start().has_value());
  const auto port = master->port();
  Options options;  // the default backoff is what is under test
  options.masters = {master->address()};
  options.framework.set_user("tester");
  options.framework.set_name("client-test");
  Client client(io.get_executor(), options, {});
  REQUIRE(client.start().has_value());
  REQUIRE(run_until(io, [&] { return client.state() == State::subscribed; }));

  // The master goes away for 2.5 s: under the old doubling the next attempt could come seconds
  // after its return.
  master->stop();
  master.reset();
  REQUIRE(run_until(io, [&] { return client.state() != State::subscribed; }));
  // The outage itself: the client keeps trying all along.
  io.restart();
  io.run_for(2500ms);
  master = std::make_unique<FakeMaster>(io.get_executor(), port);
  REQUIRE(master->start().has_value());
  const auto back = std::chrono::steady_clock::now();
  REQUIRE(run_until(
      io, [&] { return client.state() == State::subscribed; }, 3s));
  CHECK(std::chrono::steady_clock::now() - back < 1s);
  client.stop();
}

TEST_CASE("client: the call queue is bounded while a call waits for its answer", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_on_subscribe = false;
    o.max_queued_calls = 3;
  });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  // The master stalls on the first call: it stays in flight, the next ones queue behind it.
  h.master.hold_next_call = true;
  std::vector<std::optional<heatblast::Result<void>>> done(6);
  for (std::size_t i = 0; i < done.size(); ++i) {
    h.client->revive({}, [&done, i](heatblast::Result<void> r) { done[i] = std::move(r); });
  }
  REQUIRE(run_until(h.io, [&] { return h.master.held_call.has_value(); }));
  // 1 in flight + 3 queued; the last two are refused at once, nothing sent for them.
  REQUIRE(run_until(h.io, [&] { return done[4].has_value() && done[5].has_value(); }));
  for (std::size_t i : {4, 5}) {
    CHECK(done[i]->error().code == errc::call_queue_full);
    CHECK_THAT(done[i]->error().message, Catch::Contains("max_queued_calls"));
  }
  CHECK(h.client->counters().calls_refused_queue_full == 2);
  CHECK(h.client->counters().calls.at("REVIVE").failed == 2);
  CHECK(std::count_if(h.logs.begin(), h.logs.end(), [](const std::string& line) {
          return line.find("refusing more") != std::string::npos;
        }) == 1);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK_FALSE(done[i].has_value());

  // The master answers: the queue drains, and there is room again.
  h.master.held_call->respond(202);
  REQUIRE(run_until(h.io, [&] {
    return std::all_of(done.begin(), done.begin() + 4, [](const auto& d) { return d.has_value(); });
  }));
  for (std::size_t i = 0; i < 4; ++i)
    CHECK(done[i]->has_value());
  std::optional<heatblast::Result<void>> later;
  h.client->revive({}, [&](heatblast::Result<void> r) { later = std::move(r); });
  REQUIRE(run_until(h.io, [&] { return later.has_value(); }));
  CHECK(later->has_value());
  CHECK(h.master.calls_of_type(Call::REVIVE).size() == 5);
}

TEST_CASE("client: ACKNOWLEDGEs go out up to 16 at once, beside the ordered calls", "[scheduler]") {
  constexpr std::size_t kAtOnce = 16;
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_on_subscribe = false;
    o.auto_acknowledge = false;
  });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.hold_calls = true;
  std::vector<std::optional<heatblast::Result<void>>> revives(2);
  std::vector<std::optional<heatblast::Result<void>>> acks(kAtOnce + 2);
  h.client->revive({}, [&](heatblast::Result<void> r) { revives[0] = std::move(r); });
  for (std::size_t i = 0; i < acks.size(); ++i) {
    mesos::v1::AgentID agent;
    agent.set_value("a1");
    mesos::v1::TaskID task;
    task.set_value("t" + std::to_string(i));
    h.client->acknowledge(agent, task, std::string(16, static_cast<char>('a' + i)),
                          [&acks, i](heatblast::Result<void> r) { acks[i] = std::move(r); });
  }
  h.client->revive({}, [&](heatblast::Result<void> r) { revives[1] = std::move(r); });

  // The first REVIVE waits for its answer, and so does the second behind it; 16 ACKNOWLEDGEs
  // are out beside it, the other 2 wait for one of those.
  REQUIRE(run_until(h.io, [&] { return h.master.held_calls.size() == kAtOnce + 1; }));
  heatblast::testing::run_ready(h.io);
  CHECK(h.master.held_calls.size() == kAtOnce + 1);
  CHECK(h.master.calls_of_type(Call::REVIVE).size() == 1);
  CHECK(h.master.calls_of_type(Call::ACKNOWLEDGE).size() == kAtOnce);

  // An answered ACKNOWLEDGE makes room for the next; the REVIVEs keep their order.
  const auto first_ack = std::find_if(h.master.calls.begin(), h.master.calls.end(),
                                      [](auto& c) { return c.call.type() == Call::ACKNOWLEDGE; });
  const auto first_ack_index = static_cast<std::size_t>(first_ack - h.master.calls.begin());
  h.master.held_calls[first_ack_index].respond(202);
  REQUIRE(run_until(
      h.io, [&] { return h.master.calls_of_type(Call::ACKNOWLEDGE).size() == kAtOnce + 1; }));
  CHECK(std::count_if(acks.begin(), acks.end(), [](const auto& a) { return a.has_value(); }) == 1);
  CHECK(h.master.calls_of_type(Call::REVIVE).size() == 1);

  // The rest answered: every call done, the second REVIVE sent only after the first's answer.
  h.master.hold_calls = false;
  for (std::size_t i = 0; i < h.master.held_calls.size(); ++i) {
    if (i != first_ack_index) h.master.held_calls[i].respond(202);
  }
  REQUIRE(run_until(h.io, [&] {
    return std::all_of(acks.begin(), acks.end(), [](const auto& a) { return a.has_value(); }) &&
           revives[1].has_value();
  }));
  for (const auto& ack : acks)
    CHECK(ack->has_value());
  CHECK(revives[0]->has_value());
  CHECK(revives[1]->has_value());
  std::set<std::string> uuids;
  for (const auto& call : h.master.calls_of_type(Call::ACKNOWLEDGE))
    uuids.insert(call.acknowledge().uuid());
  CHECK(uuids.size() == kAtOnce + 2);
  CHECK(h.client->counters().calls.at("ACKNOWLEDGE").sent == kAtOnce + 2);
}

TEST_CASE("client: ACKNOWLEDGEs in flight fail when the connection is lost", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_on_subscribe = false;
    o.auto_acknowledge = false;
  });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.master.hold_calls = true;
  std::vector<std::optional<heatblast::Result<void>>> acks(6);
  for (std::size_t i = 0; i < acks.size(); ++i) {
    mesos::v1::AgentID agent;
    agent.set_value("a1");
    mesos::v1::TaskID task;
    task.set_value("t" + std::to_string(i));
    h.client->acknowledge(agent, task, std::string(16, static_cast<char>('a' + i)),
                          [&acks, i](heatblast::Result<void> r) { acks[i] = std::move(r); });
  }
  REQUIRE(run_until(h.io, [&] { return h.master.held_calls.size() == 4; }));
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] {
    return std::all_of(acks.begin(), acks.end(), [](const auto& a) { return a.has_value(); });
  }));
  for (const auto& ack : acks)
    CHECK(ack->error().code == errc::not_subscribed);
  CHECK(h.client->counters().calls.at("ACKNOWLEDGE").failed == 6);
  // Answers to the cancelled requests, if any still arrive, change nothing.
  for (auto& held : h.master.held_calls)
    held.respond(202);
  heatblast::testing::run_ready(h.io);
  CHECK(h.client->counters().calls.at("ACKNOWLEDGE").sent == 0);
}

TEST_CASE("client: a clean end of a lasting subscription is retried at once, then backed off",
          "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_on_subscribe = false;
    o.backoff.initial = std::chrono::seconds(3);
    o.backoff.jitter = 0;
  });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.io.restart();
  h.io.run_for(1100ms);  // the subscription lasts over a second
  h.master.stream.close();
  const auto closed = std::chrono::steady_clock::now();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  CHECK(std::chrono::steady_clock::now() - closed < 1s);
  REQUIRE(h.subscribed());

  // Closed again at once: that subscription was short, so the backoff (3 s) applies.
  h.master.stream.close();
  REQUIRE(run_until(h.io, [&] { return h.client->state() != State::subscribed; }));
  h.io.restart();
  h.io.run_for(1500ms);
  CHECK(h.master.subscribes.size() == 2);
  REQUIRE(run_until(
      h.io, [&] { return h.master.subscribes.size() == 3; }, 5s));
}

TEST_CASE(
    "client: a call answered 403 after a lasting subscription resubscribes at once, as a clean "
    "end",
    "[scheduler]") {
  // The master ended the stream; an ACKNOWLEDGE in flight learns it first, from the answer.
  Harness h(ContentType::protobuf, [](Options& o) {
    o.reconcile_on_subscribe = false;
    o.backoff.initial = std::chrono::seconds(3);
    o.backoff.jitter = 0;
  });
  REQUIRE(h.client->start().has_value());
  REQUIRE(h.subscribed());
  h.io.restart();
  h.io.run_for(1100ms);
  h.master.call_answers.push_back({403, "Framework is not subscribed"});
  const auto answered = std::chrono::steady_clock::now();
  h.client->revive();
  REQUIRE(run_until(h.io, [&] { return h.master.subscribes.size() == 2; }));
  CHECK(std::chrono::steady_clock::now() - answered < 1s);
  REQUIRE(h.subscribed());

  // A 503 (the master cannot serve now) is no end of the subscription: the backoff applies.
  h.io.restart();
  h.io.run_for(1100ms);
  h.master.call_answers.push_back({503, "no leading master"});
  h.client->revive();
  REQUIRE(run_until(h.io, [&] { return h.client->state() != State::subscribed; }));
  h.io.restart();
  h.io.run_for(1500ms);
  CHECK(h.master.subscribes.size() == 2);
  REQUIRE(run_until(
      h.io, [&] { return h.master.subscribes.size() == 3; }, 5s));
}

TEST_CASE("client: max_queued_calls of 0 is refused at start", "[scheduler]") {
  Harness h(ContentType::protobuf, [](Options& o) { o.max_queued_calls = 0; });
  auto started = h.client->start();
  REQUIRE_FALSE(started.has_value());
  CHECK(started.error().code == errc::invalid_argument);
}
