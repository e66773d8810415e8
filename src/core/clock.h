#pragma once
/// @brief Time helpers: wall clock for timestamps that cross ranks, steady clock for intervals.
#include <chrono>
#include <cstdint>

namespace ride {

/// ns since the Unix epoch; comparable across ranks as far as the hosts' clocks agree (NTP).
inline std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Seconds on a monotonic clock, for durations measured inside one rank.
inline double steady_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace ride
