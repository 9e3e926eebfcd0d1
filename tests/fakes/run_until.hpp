// Test helpers that drive an io_context until something has happened, with a deadline: the
// tests wait on events, never on sleeps.
#pragma once

#include <chrono>

#include <boost/asio/io_context.hpp>

namespace heatblast::testing {

// Runs handlers until `done()` holds. Returns false when `limit` passes first, or when the
// context runs out of work with `done()` still false (nothing could ever make it true).
template <class Predicate>
bool run_until(boost::asio::io_context& io, Predicate&& done,
               std::chrono::steady_clock::duration limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    if (io.run_one_until(deadline) == 0 && io.stopped()) return done();
  }
  return true;
}

// Runs every handler that is ready now, without waiting for more.
inline void run_ready(boost::asio::io_context& io) {
  io.restart();
  io.poll();
}

}  // namespace heatblast::testing
