#pragma once
/// @brief The master's result sink: stores what workers send (RESULTS, core/results_codec.h) in
/// the HDF5 results file, dropping keys already stored (effectively once: a replay after a
/// takeover is de-duplicated by (stream, sequence)), and makes bursts durable with one flush
/// (group commit) before the workers hear they may commit.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/config.h"
#include "master/job_model.h"
#include "sink/result_store.h"
#include "task/registry.h"

namespace ride {

class Sink {
 public:
  /// Creates (truncates) cfg.results_path with the task's scalar columns.
  Sink(const JobConfig& cfg, const task::Info& task);

  struct Stored {
    int partition = -1;
    std::uint32_t epoch = 0;
    std::size_t rows = 0, duplicates = 0;
  };
  /// Decodes a RESULTS body from `source` and appends its new keys; counts them (and the
  /// replays) in the model. `now` is the steady clock, `job_s` the job time. Throws ride::Error
  /// on a malformed body.
  Stored store(int source, const Buffer& body, JobModel& model, double now, double job_s);
  /// Group commit: flushes when idle or every 20 ms under load. Returns the (worker, batch id)
  /// acknowledgements now due: their results are durable.
  std::vector<std::pair<int, std::uint64_t>> flush_if_due(bool idle, double now);
  /// Flushes and closes the file (then the master re-reads it to check the run).
  void close();

 private:
  const task::Info& task_;
  ResultWriter writer_;
  std::map<std::uint32_t, std::vector<bool>> seen_;  ///< stream -> sequences stored
  std::vector<std::pair<int, std::uint64_t>> pending_acks_;
  double last_flush_ = 0;
};

}  // namespace ride
