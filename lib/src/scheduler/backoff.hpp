// Backoff: the delays between connection attempts (capped exponential with jitter), pure and
// seeded so that tests can check the sequence.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

#include "heatblast/scheduler.hpp"

namespace heatblast::scheduler {

// Where a backoff stands, without options or a random engine of its own: the task manager keeps
// one per task (an engine is 2.5 KiB; one serves them all), and Backoff wraps one.
class BackoffSequence {
 public:
  // The delay before the next attempt; each call grows the ceiling until it reaches the max.
  std::chrono::milliseconds next(const BackoffOptions& options, std::mt19937_64& rng);
  // Back to the initial delay (after a success).
  void reset() noexcept {
    attempts_ = 0;
    flat_elapsed_ = {};
  }
  unsigned attempts() const noexcept { return attempts_; }
  // Resumes a sequence where it stood (a restarted program keeps a crash loop's long delays).
  void set_attempts(unsigned attempts) noexcept { attempts_ = std::min(attempts, 1000u); }

 private:
  unsigned attempts_ = 0;
  std::chrono::milliseconds flat_elapsed_{0};  // delays drawn within BackoffOptions::flat_for
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options, std::uint64_t seed = std::random_device{}())
      : options_(options), rng_(seed) {}

  std::chrono::milliseconds next() { return sequence_.next(options_, rng_); }
  void reset() noexcept { sequence_.reset(); }
  unsigned attempts() const noexcept { return sequence_.attempts(); }
  void set_attempts(unsigned attempts) noexcept { sequence_.set_attempts(attempts); }

 private:
  BackoffOptions options_;
  std::mt19937_64 rng_;
  BackoffSequence sequence_;
};

}  // namespace heatblast::scheduler
