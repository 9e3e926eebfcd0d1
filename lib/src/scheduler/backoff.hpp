// Backoff: the delays between connection attempts (capped exponential with jitter), pure and
// seeded so that tests can check the sequence.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "heatblast/scheduler.hpp"

namespace heatblast::scheduler {

class Backoff {
 public:
  explicit Backoff(BackoffOptions options, std::uint64_t seed = std::random_device{}())
      : options_(options), rng_(seed) {}

  // The delay before the next attempt; each call grows the ceiling until it reaches the max.
  std::chrono::milliseconds next();
  // Back to the initial delay (after a success).
  void reset() noexcept {
    attempts_ = 0;
    flat_elapsed_ = {};
  }
  unsigned attempts() const noexcept { return attempts_; }
  // Resumes a sequence where it stood (a restarted program keeps a crash loop's long delays).
  void set_attempts(unsigned attempts) noexcept { attempts_ = std::min(attempts, 1000u); }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  unsigned attempts_ = 0;
  std::chrono::milliseconds flat_elapsed_{0};  // delays drawn within BackoffOptions::flat_for
};

}  // namespace heatblast::scheduler
