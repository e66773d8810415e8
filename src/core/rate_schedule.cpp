#include "core/rate_schedule.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "core/config.h"
#include "core/error.h"

namespace ride {

std::vector<std::pair<double, double>> parse_time_schedule(const std::string& text, const std::string& where,
                                                           bool whole) {
  std::vector<std::pair<double, double>> out;
  std::stringstream ss(text);
  std::string item;
  const std::string example = whole ? "0:1,45:2,80:3" : "0:10,20:40,40:10";
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    double t = 0, v = 0;
    try {
      const auto colon = item.find(':');
      if (colon == std::string::npos) throw std::invalid_argument("no colon");
      const std::string ts = item.substr(0, colon), vs = item.substr(colon + 1);
      std::size_t used_t = 0, used_v = 0;
      t = std::stod(ts, &used_t);
      v = std::stod(vs, &used_v);
      if (used_t != ts.size() || used_v != vs.size() || !std::isfinite(t) || !std::isfinite(v)) {
        throw std::invalid_argument("trailing text");
      }
    } catch (const std::exception&) {
      throw ConfigError(where + ": '" + item + "' is not TIME:VALUE (e.g. " + example + ")");
    }
    if (t < 0 || v < 0) throw ConfigError(where + ": '" + item + "' needs a time >= 0 and a value >= 0");
    if (whole && v != std::floor(v)) throw ConfigError(where + ": '" + item + "' needs a whole number");
    if (out.empty() && t != 0) throw ConfigError(where + ": the schedule must start at time 0 ('" + item + "')");
    if (!out.empty() && t <= out.back().first) {
      throw ConfigError(where + ": times must increase ('" + item + "' comes after time " +
                        std::to_string(out.back().first) + ")");
    }
    out.emplace_back(t, v);
  }
  if (out.empty()) throw ConfigError(where + ": an empty schedule (e.g. " + example + ")");
  return out;
}

RateSchedule::RateSchedule(double fps) : RateSchedule(std::vector<std::pair<double, double>>{{0.0, fps}}) {}

RateSchedule::RateSchedule(std::vector<std::pair<double, double>> steps) : steps_(std::move(steps)) {
  RIDE_EXPECTS(!steps_.empty() && steps_.front().first == 0, "a rate schedule starts at time 0");
  bool any = false;
  double frames = 0;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    if (i > 0) {
      RIDE_EXPECTS(steps_[i].first > steps_[i - 1].first, "rate schedule times must increase");
      frames += steps_[i - 1].second * (steps_[i].first - steps_[i - 1].first);
    }
    frames_at_.push_back(frames);
    any = any || steps_[i].second > 0;
  }
  RIDE_EXPECTS(any, "a rate schedule with no rate above 0");
}

double RateSchedule::fps_at(double t) const {
  double v = steps_.front().second;
  for (const auto& [ts, fps] : steps_) {
    if (t >= ts) v = fps;
  }
  return v;
}

double RateSchedule::frames_until(double t) const {
  if (t <= 0) return 0;
  std::size_t i = 0;
  while (i + 1 < steps_.size() && steps_[i + 1].first <= t) ++i;
  return frames_at_[i] + steps_[i].second * (t - steps_[i].first);
}

double RateSchedule::time_of(double x) const {
  if (x <= 0) {
    // The first frame is due when the rate first rises above 0.
    for (const auto& [t, fps] : steps_) {
      if (fps > 0) return t;
    }
  }
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const double end = i + 1 < steps_.size() ? frames_at_[i + 1] : std::numeric_limits<double>::infinity();
    if (x < end || (i + 1 == steps_.size())) {
      const double fps = steps_[i].second;
      if (fps <= 0) {
        RIDE_EXPECTS(i + 1 < steps_.size(), "frame " << x << " is never due: the schedule ends at rate 0");
        continue;
      }
      return steps_[i].first + (x - frames_at_[i]) / fps;
    }
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace ride
