#include "scheduler/backoff.hpp"

#include <catch2/catch.hpp>

#include "scheduler/reconciler.hpp"

using namespace std::chrono_literals;
using heatblast::scheduler::Backoff;
using heatblast::scheduler::BackoffOptions;
using heatblast::scheduler::Reconciler;

TEST_CASE("backoff: grows by the multiplier up to the cap, within the jitter", "[backoff]") {
  Backoff backoff(BackoffOptions{.initial = 100ms, .max = 1000ms, .multiplier = 2, .jitter = 0.5},
                  42);
  const std::chrono::milliseconds ceilings[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms, 1000ms};
  for (auto ceiling : ceilings) {
    const auto delay = backoff.next();
    CAPTURE(ceiling.count(), delay.count());
    CHECK(delay <= ceiling);
    CHECK(delay >= ceiling / 2);
  }
  backoff.reset();
  CHECK(backoff.next() <= 100ms);
}

TEST_CASE("backoff: without jitter the sequence is exact, with it, runs differ", "[backoff]") {
  Backoff exact(BackoffOptions{.initial = 10ms, .max = 50ms, .multiplier = 3, .jitter = 0}, 1);
  CHECK(exact.next() == 10ms);
  CHECK(exact.next() == 30ms);
  CHECK(exact.next() == 50ms);
  for (int i = 0; i < 2000; ++i)
    exact.next();  // no overflow however long it fails
  CHECK(exact.next() == 50ms);

  Backoff a(BackoffOptions{.initial = 1000ms, .max = 1000ms, .multiplier = 2, .jitter = 1}, 1);
  Backoff b(BackoffOptions{.initial = 1000ms, .max = 1000ms, .multiplier = 2, .jitter = 1}, 2);
  bool differ = false;
  for (int i = 0; i < 5; ++i)
    differ |= a.next() != b.next();
  CHECK(differ);
}

TEST_CASE("reconciler: unanswered tasks are asked again with backoff until answered",
          "[reconciler]") {
  using Clock = Reconciler::Clock;
  Reconciler reconciler(
      BackoffOptions{.initial = 1000ms, .max = 4000ms, .multiplier = 2, .jitter = 0}, 7);
  std::vector<Reconciler::Task> tasks(3);
  tasks[0].mutable_task_id()->set_value("a");
  tasks[1].mutable_task_id()->set_value("b");
  tasks[2].mutable_task_id()->set_value("c");
  const auto t0 = Clock::time_point{} + 100s;
  CHECK(reconciler.begin(tasks, t0).size() == 3);
  CHECK(reconciler.next_retry() == t0 + 1000ms);
  CHECK(reconciler.due(t0 + 999ms).empty());

  reconciler.answered("a");
  auto again = reconciler.due(t0 + 1000ms);
  CHECK(again.size() == 2);
  CHECK(reconciler.next_retry() == t0 + 1000ms + 2000ms);

  reconciler.answered("b");
  reconciler.answered("c");
  CHECK(reconciler.done());
  CHECK_FALSE(reconciler.next_retry().has_value());
  CHECK(reconciler.due(t0 + 1h).empty());
}

TEST_CASE("backoff: stays at the initial delay for flat_for, then grows, reset starts over",
          "[backoff]") {
  Backoff backoff(
      BackoffOptions{
          .initial = 100ms, .max = 1000ms, .multiplier = 2, .jitter = 0, .flat_for = 450ms},
      7);
  // 100 ms delays until they add up to 450 ms (five of them), then 100, 200, 400, ...
  for (int i = 0; i < 5; ++i)
    CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.next() == 200ms);
  CHECK(backoff.next() == 400ms);
  backoff.reset();
  CHECK(backoff.next() == 100ms);
  CHECK(backoff.attempts() == 0);

  // The client's default: attempts 250-500 ms apart for a minute, then growing to 15 s.
  Backoff client(heatblast::scheduler::Options{}.backoff, 3);
  std::chrono::milliseconds elapsed{0};
  while (elapsed < 60s) {
    const auto delay = client.next();
    CHECK(delay >= 250ms);
    CHECK(delay <= 500ms);
    elapsed += delay;
  }
  std::chrono::milliseconds last{0};
  for (int i = 0; i < 10; ++i)
    last = client.next();
  CHECK(last >= 7500ms);
}
