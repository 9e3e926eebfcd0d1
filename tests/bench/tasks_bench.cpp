// The events and offers the client's decoding plus the tasks layer handle on one core: framed
// Mesos events (JSON or protobuf) go through EventStreamDecoder, as the client feeds them, and
// into TaskManager::handle_event with 10,000 managed tasks. The client is not subscribed, so
// the calls the manager makes (ACCEPT, DECLINE) end at once without I/O: what is measured is
// the decoding and the deciding, not a master.
//   build/tests/bench/bench_tasks --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <malloc.h>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "heatblast/codec.hpp"
#include "heatblast/event_stream.hpp"
#include "heatblast/recordio.hpp"
#include "heatblast/scheduler.hpp"
#include "heatblast/tasks.hpp"

namespace {

using mesos::v1::scheduler::Event;
namespace ht = heatblast::tasks;

constexpr int kTasks = 10000;

ht::TaskSpec spec(int i) {
  ht::TaskSpec s;
  s.name = fmt::format("task-{:05}", i);  // name order = number order
  s.command.set_value("sleep 100000");
  s.resources.scalars = {{"cpus", 0.1}, {"mem", 64}};
  s.restart.policy = ht::RestartPolicy::always;
  return s;
}

mesos::v1::Offer offer(int i, double cpus, double mem) {
  mesos::v1::Offer o;
  o.mutable_id()->set_value(fmt::format("offer-{}", i));
  o.mutable_framework_id()->set_value("fw-1");
  o.mutable_agent_id()->set_value(fmt::format("agent-{}", i % 1000));
  o.set_hostname(fmt::format("host-{}", i % 1000));
  for (auto [name, value] : {std::pair{"cpus", cpus}, std::pair{"mem", mem}}) {
    auto* r = o.add_resources();
    r->set_name(name);
    r->set_type(mesos::v1::Value::SCALAR);
    r->mutable_scalar()->set_value(value);
  }
  return o;
}

// A client (never started) and a manager with kTasks tasks.
struct Scheduler {
  boost::asio::io_context io;
  std::unique_ptr<heatblast::scheduler::Client> client;
  std::unique_ptr<ht::TaskManager> manager;

  Scheduler() {
    heatblast::scheduler::Options options;
    options.framework.set_user("u");
    options.framework.set_name("bench");
    client = std::make_unique<heatblast::scheduler::Client>(io.get_executor(), options,
                                                            heatblast::scheduler::Handlers{});
    ht::ManagerOptions manager_options;
    manager_options.suppress_when_idle = false;
    manager_options.adoption_hold = std::chrono::milliseconds(0);
    manager_options.starved_after = std::chrono::milliseconds(0);
    manager = std::make_unique<ht::TaskManager>(*client, manager_options, nullptr);
    for (int i = 0; i < kTasks; ++i)
      (void)manager->add(spec(i));
  }
};

std::string frame(const Event& event, heatblast::ContentType type) {
  std::string record;
  heatblast::MessageCodec(type).encode(event, record);
  std::string framed;
  heatblast::recordio_append(framed, record);
  return framed;
}

// Feeds `stream` through the decoder into the manager; returns the events handled.
std::size_t feed(Scheduler& s, heatblast::ContentType type, const std::string& stream) {
  heatblast::EventStreamDecoder decoder(type);
  std::size_t events = 0;
  auto fed = decoder.feed(stream, [&](const Event& event) {
    s.manager->handle_event(event);
    ++events;
    return true;
  });
  if (!fed) std::abort();
  s.io.poll();  // the calls' completions
  return events;
}

// Every task runs; offers come (an OFFERS event of 10 offers each) and are declined: the
// steady state of a full cluster.
void BM_DeclineOffers(benchmark::State& state) {
  const auto type = static_cast<heatblast::ContentType>(state.range(0));
  Scheduler s;
  // Launch all: one big offer, then RUNNING for each.
  Event offers;
  offers.set_type(Event::OFFERS);
  *offers.mutable_offers()->add_offers() = offer(0, kTasks, 64.0 * kTasks);
  s.manager->handle_event(offers);
  s.io.poll();
  for (const auto& record : s.manager->records()) {
    Event update;
    update.set_type(Event::UPDATE);
    auto* status = update.mutable_update()->mutable_status();
    status->mutable_task_id()->set_value(record.task_id);
    status->mutable_agent_id()->set_value(record.agent_id);
    status->set_state(mesos::v1::TASK_RUNNING);
    s.manager->handle_event(update);
  }
  if (s.manager->count(ht::Phase::active) != kTasks) state.SkipWithError("not all running");
  std::string stream;
  for (int e = 0; e < 100; ++e) {
    Event event;
    event.set_type(Event::OFFERS);
    for (int i = 0; i < 10; ++i)
      *event.mutable_offers()->add_offers() = offer(e * 10 + i, 4, 8192);
    stream += frame(event, type);
  }
  std::size_t handled = 0;
  for (auto _ : state)
    handled += feed(s, type, stream);
  state.counters["offers/s"] =
      benchmark::Counter(static_cast<double>(handled * 10), benchmark::Counter::kIsRate);
}

// 10,000 tasks wait; each offer fits one, which is launched, and its RUNNING update follows:
// the ramp of a large framework. Offers, launches and updates, one event each.
void BM_LaunchOffers(benchmark::State& state) {
  const auto type = static_cast<heatblast::ContentType>(state.range(0));
  // The input is framed before it is timed: encoding events is the master's work, not the
  // scheduler's. 100 offers, one event each, per round; the RUNNING updates of what a round
  // launched name the runs' ids, so they are framed with the timing paused.
  std::vector<std::string> offer_streams;
  for (int next = 0; next < kTasks; next += 100) {
    std::string stream;
    for (int i = 0; i < 100; ++i) {
      Event event;
      event.set_type(Event::OFFERS);
      *event.mutable_offers()->add_offers() = offer(next + i, 0.1, 64);
      stream += frame(event, type);
    }
    offer_streams.push_back(std::move(stream));
  }
  std::unique_ptr<Scheduler> s;
  std::size_t offers = 0;
  std::size_t events = 0;
  int next = 0;
  std::string updates;
  for (auto _ : state) {
    if (!s || next == kTasks) {
      state.PauseTiming();
      s.reset();
      s = std::make_unique<Scheduler>();
      next = 0;
      state.ResumeTiming();
    }
    events += feed(*s, type, offer_streams[static_cast<std::size_t>(next / 100)]);
    offers += 100;
    state.PauseTiming();
    updates.clear();
    for (int i = 0; i < 100; ++i) {
      const auto* record = s->manager->find(fmt::format("task-{:05}", next + i));
      if (!record || record->phase != ht::Phase::launched) {
        state.SkipWithError("an offer launched nothing");
        return;
      }
      Event update;
      update.set_type(Event::UPDATE);
      auto* status = update.mutable_update()->mutable_status();
      status->mutable_task_id()->set_value(record->task_id);
      status->mutable_agent_id()->set_value(record->agent_id);
      status->set_state(mesos::v1::TASK_RUNNING);
      updates += frame(update, type);
    }
    state.ResumeTiming();
    events += feed(*s, type, updates);
    next += 100;
  }
  state.counters["offers/s"] =
      benchmark::Counter(static_cast<double>(offers), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

// Reconciliation answers (RUNNING again, no uuid) for 10,000 running tasks: what a
// resubscribe costs the scheduler.
void BM_ReconcileUpdates(benchmark::State& state) {
  const auto type = static_cast<heatblast::ContentType>(state.range(0));
  Scheduler s;
  Event offers;
  offers.set_type(Event::OFFERS);
  *offers.mutable_offers()->add_offers() = offer(0, kTasks, 64.0 * kTasks);
  s.manager->handle_event(offers);
  s.io.poll();
  std::string stream;
  for (const auto& record : s.manager->records()) {
    Event update;
    update.set_type(Event::UPDATE);
    auto* status = update.mutable_update()->mutable_status();
    status->mutable_task_id()->set_value(record.task_id);
    status->mutable_agent_id()->set_value(record.agent_id);
    status->set_state(mesos::v1::TASK_RUNNING);
    status->set_reason(mesos::v1::TaskStatus::REASON_RECONCILIATION);
    status->set_source(mesos::v1::TaskStatus::SOURCE_MASTER);
    stream += frame(update, type);
  }
  std::size_t events = 0;
  for (auto _ : state)
    events += feed(s, type, stream);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}

// Heap bytes per managed task: 10,000 tasks added, launched and RUNNING, against the heap
// before (glibc's mallinfo2: bytes in use). Not a timing; one iteration.
void BM_HeapPerTask(benchmark::State& state) {
  for (auto _ : state) {
    const auto before = mallinfo2().uordblks;
    auto s = std::make_unique<Scheduler>();
    Event offers;
    offers.set_type(Event::OFFERS);
    *offers.mutable_offers()->add_offers() = offer(0, kTasks, 64.0 * kTasks);
    s->manager->handle_event(offers);
    s->io.poll();
    for (const auto& record : s->manager->records()) {
      Event update;
      update.set_type(Event::UPDATE);
      auto* status = update.mutable_update()->mutable_status();
      status->mutable_task_id()->set_value(record.task_id);
      status->mutable_agent_id()->set_value(record.agent_id);
      status->set_state(mesos::v1::TASK_RUNNING);
      s->manager->handle_event(update);
    }
    const auto after = mallinfo2().uordblks;
    state.counters["heap_bytes_per_task"] =
        static_cast<double>(after - before) / static_cast<double>(kTasks);
  }
}

constexpr int kJson = static_cast<int>(heatblast::ContentType::json);
constexpr int kProtobuf = static_cast<int>(heatblast::ContentType::protobuf);

BENCHMARK(BM_DeclineOffers)->ArgName("json")->Arg(kJson)->Arg(kProtobuf);
BENCHMARK(BM_LaunchOffers)->ArgName("json")->Arg(kJson)->Arg(kProtobuf);
BENCHMARK(BM_ReconcileUpdates)->ArgName("json")->Arg(kJson)->Arg(kProtobuf);
BENCHMARK(BM_HeapPerTask)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
