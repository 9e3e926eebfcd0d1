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

TEST_CASE("backoff: without jitter the sequence is exact; with it, runs differ", "[backoff]") {
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
