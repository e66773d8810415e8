#pragma once
/// @brief A rate that changes over time, step-wise: "T:V,T:V,..." (seconds from the start :
/// value). ingest.fps_schedule (frames per second per stream) and scaling.schedule (workers)
/// are written this way. Pure.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ride {

/// Parses "T:V,T:V,..." with times from 0, strictly increasing, and values >= 0 (whole numbers
/// when `whole`). Throws ConfigError naming `where` (the key and its origin) and the bad item.
std::vector<std::pair<double, double>> parse_time_schedule(const std::string& text, const std::string& where,
                                                           bool whole);

/// @brief Frames at a step-wise rate: value(t) holds from its time to the next.
class RateSchedule {
 public:
  /// A constant rate.
  explicit RateSchedule(double fps);
  /// Steps (time, fps), times increasing from 0; at least one fps > 0.
  explicit RateSchedule(std::vector<std::pair<double, double>> steps);

  double fps_at(double t) const;
  /// Frames due in [0, t): the integral of the rate.
  double frames_until(double t) const;
  /// When frame position x (0 = the first frame; fractions: phases) is due: the t with
  /// frames_until(t) = x. After the last step the last rate holds (it must be > 0 then).
  double time_of(double x) const;

 private:
  std::vector<std::pair<double, double>> steps_;
  std::vector<double> frames_at_;  ///< frames_until(steps_[i].first)
};

}  // namespace ride
