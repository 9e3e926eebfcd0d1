// wait_for: runs a test's io_context until a condition holds, and fails the test with what was
// awaited (and what happened instead) when the deadline passes first. poll_until: the same for
// a condition that no event tells of, without an io_context.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "fakes/run_until.hpp"

namespace heatblast::testing {

// Runs `io` until `done()` holds; fails the test when `limit` passes first, saying what was
// awaited and, from `context`, what had happened instead.
template <class Predicate>
void wait_for(boost::asio::io_context& io, std::string_view what, Predicate&& done,
              std::chrono::milliseconds limit, const std::function<std::string()>& context = {}) {
  if (run_until(io, std::forward<Predicate>(done), limit)) return;
  FAIL("timed out after " << limit.count() << " ms waiting for " << what
                          << (context ? "\n" + context() : std::string()));
}

// Checks `done()` every `step` until it holds; false when `limit` passes first. For what only
// another process changes (a file it makes), when the test has no event to wait on.
template <class Predicate>
bool poll_until(Predicate&& done, std::chrono::milliseconds limit,
                std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
  return true;
}

}  // namespace heatblast::testing
