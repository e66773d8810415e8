#pragma once
/// @brief The job model as the HTTP status server shows it: the /status document, the chart
/// history behind the live page, and (master/metrics_view.h) the /metrics text made from that
/// same document. Pure: the master's loop builds a view between two of its steps and hands the
/// text to the server's threads (status/snapshot_store.h); nothing here reads a clock or a
/// socket.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "master/job_model.h"

namespace ride {

/// The series the page's charts draw: one sample per second of job time (at most `cap`; past
/// that, every other old sample is dropped so a long job keeps its whole shape).
class StatusHistory {
 public:
  explicit StatusHistory(std::size_t cap = 3600) : cap_(std::max<std::size_t>(cap, 4)) {}
  /// A sample at job time `t_s` if a second has passed since the last (or `force`).
  void sample(double t_s, std::uint64_t ingested, std::uint64_t processed, std::uint64_t lag_frames,
              const std::vector<std::uint64_t>& stage_processed, bool force = false);
  /// Frames per second between the two latest samples (0 before there are two).
  double fps_in() const;
  double fps_processed() const;
  double stage_fps(std::size_t stage) const;
  /// {"t_s": [...], "ingested": [...], "processed": [...], "lag_frames": [...]}
  nlohmann::json to_json() const;
  std::size_t size() const { return t_.size(); }

 private:
  std::size_t cap_;
  std::vector<double> t_;
  std::vector<std::uint64_t> ingested_, processed_, lag_;
  std::vector<std::vector<std::uint64_t>> stage_processed_;
};

/// What the document needs besides the job model.
struct StatusContext {
  const JobConfig* cfg = nullptr;
  std::string state = "starting";   ///< starting | running | draining | ended | failed
  std::optional<int> exit_code;     ///< once ended
  double job_s = 0;                 ///< job time now
  double unix_s = 0;                ///< wall clock now
  double now = 0;                   ///< steady clock now (ages of last_heard)
  double t0 = 0;                    ///< steady clock at START (failure and event times)
  std::int64_t t0_ns = 0;           ///< wall clock at START, ns
  std::string url;
  bool control_enabled = false;
  const nlohmann::json* control_log = nullptr;  ///< the operators' commands (null: none)
  const StatusHistory* history = nullptr;
  std::vector<std::string> stream_names;  ///< by stream id where known (inputs' names)
};

/// The /status document (docs/STATUS.md describes every field).
nlohmann::json status_document(const JobModel& model, const StatusContext& ctx, std::uint64_t seq);

/// The ranks' state as the page colours them: dead, starting, or the role it plays now.
std::string rank_state(const RankRecord& rec);

}  // namespace ride
