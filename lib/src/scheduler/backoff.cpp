#include "scheduler/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace heatblast::scheduler {

std::chrono::milliseconds BackoffSequence::next(const BackoffOptions& options,
                                                std::mt19937_64& rng) {
  const double initial = static_cast<double>(std::max<std::int64_t>(options.initial.count(), 0));
  const double max = std::max(static_cast<double>(options.max.count()), initial);
  const double multiplier = std::max(options.multiplier, 1.0);
  // pow() overflows to inf for large attempt counts; min() then caps it.
  // The flat stretch keeps the first attempts close together; growth starts after it.
  const bool flat = flat_elapsed_ < options.flat_for;
  const double ceiling = flat ? initial : std::min(max, initial * std::pow(multiplier, attempts_));
  if (!flat && attempts_ < 1000) ++attempts_;
  const double jitter = std::clamp(options.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> draw(ceiling * (1.0 - jitter), ceiling);
  const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(draw(rng))));
  if (flat) flat_elapsed_ += std::max(delay, std::chrono::milliseconds(1));
  return delay;
}

}  // namespace heatblast::scheduler
