#pragma once
/// @brief Views of the job model for people and programs: the progress line printed every
/// status interval, and at the end the run summary (JSON, `--summary`) with its printed digest.
/// The counts of lost and duplicate frames come from the results file re-read from disk, not
/// from the master's bookkeeping.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/aggregates.h"
#include "core/config.h"
#include "master/job_model.h"
#include "task/pipeline.h"

namespace ride {

/// The progress line: totals over the partitions, the sink's count, the rate since the last line.
std::string status_line(const JobModel& model, double job_s, double fps);

/// What the summary needs besides the model: the ranks' own reports and the run's times.
struct RunRecord {
  const JobConfig* cfg = nullptr;
  const JobModel* model = nullptr;
  const task::Pipeline* pipeline = nullptr;        ///< the stages (null: read as one stage)
  std::vector<nlohmann::json> ingest_reports;      ///< INGEST_DONE of every ingest rank that reported
  std::size_t ingest_ranks = 0;                    ///< how many there are
  int replication = 1;                             ///< copies of each partition (topic.replication resolved)
  std::map<int, nlohmann::json> final_reports;     ///< FINAL_REPORT by rank
  std::map<std::uint32_t, std::uint64_t> expected; ///< stream -> frames ingest produced
  std::vector<std::string> errors;
  nlohmann::json replenished = nlohmann::json::array();
  std::int64_t t0_ns = 0;                          ///< wall clock at START
  double t0 = 0, end = 0, processing_t0 = 0, ingest_end = 0;  ///< steady clock
  bool processing_started = false;
  bool results_written = false;                    ///< the results file exists (the sink opened it)
  nlohmann::json allocation = nlohmann::json::object();  ///< topic.allocation, its moves, idle time
  /// The stages' group reductions at the end: members by stage (empty: none asked), and what
  /// each stage's group sent back (absent: it did not answer).
  std::vector<std::vector<int>> reduce_members;
  std::map<int, ScalarAggregates> reduced;
  std::map<int, ScalarAggregates::Method> reduced_with;
  nlohmann::json status_server = nlohmann::json::object();  ///< url, control (the HTTP status server)
  nlohmann::json control_log = nlohmann::json::array();     ///< the operators' commands
  bool drained = false;                                      ///< POST /control/drain ended the inputs
  /// job.resume (#14): keys the earlier run finished (kept, passed over by ingest), and the
  /// details (journal, records, rows rebuilt, ...); null when this run resumed nothing.
  std::uint64_t resumed = 0;
  nlohmann::json resume = nullptr;
};

/// Re-reads the results file, checks it against what was ingested, prints the digest, writes
/// cfg.summary_path. Returns the job's exit code: 0 when nothing was lost or duplicated and no
/// error happened, else 1.
int finish_run(const RunRecord& run, const std::string& failure);

}  // namespace ride
