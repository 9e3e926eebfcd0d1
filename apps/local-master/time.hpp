// Time as local-master sees it: every entry point of the master and of the task runners takes
// the current time as an argument (nothing here reads a clock), so tests drive time by hand.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>

namespace heatblast::local_master {

// Wall-clock time. The wiring passes `std::chrono::system_clock::now()`; wall-clock (not
// steady) time because failover deadlines are checkpointed and must mean the same thing to the
// next master process, and because TaskStatus.timestamp is seconds since the epoch.
using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::nanoseconds;

// Seconds since the epoch, as TaskStatus.timestamp carries them.
inline double to_epoch_seconds(TimePoint time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

inline std::int64_t to_epoch_nanoseconds(TimePoint time) {
  return std::chrono::duration_cast<Duration>(time.time_since_epoch()).count();
}

inline TimePoint from_epoch_nanoseconds(std::int64_t nanoseconds) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(Duration(nanoseconds)));
}

// A protobuf double of seconds (failover_timeout, refuse_seconds) as a Duration; nullopt when it
// is negative, not finite or too large for 64-bit nanoseconds (about 292 years).
inline std::optional<Duration> duration_from_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 9.2e9) return std::nullopt;
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

inline double to_seconds(Duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// The earlier of two optional deadlines.
inline std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return *a < *b ? a : b;
}

}  // namespace heatblast::local_master
