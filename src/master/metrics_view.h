#pragma once
/// @brief GET /metrics: the /status document (master/status_view.h) in the Prometheus text
/// format, written by prometheus-cpp's serializer. Every metric is named once, in the table
/// metrics_view.cpp holds (docs/STATUS.md lists the same names; a test keeps them in step):
/// the ride_ prefix, base units (seconds, bytes), _total on counters, labels for stage,
/// partition, rank and stream. Per-stream series stop at `stream_series` streams so a job of
/// 5,000 cameras does not export 5,000 x N series; the totals always cover every stream.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ride {

struct MetricSpec {
  const char* name;
  const char* type;  ///< counter | gauge
  const char* help;
};

/// Every metric /metrics can show.
const std::vector<MetricSpec>& metric_specs();

std::string metrics_text(const nlohmann::json& status_doc, int stream_series);

}  // namespace ride
