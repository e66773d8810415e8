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
#include "task/pipeline.h"

namespace ride {

class Sink {
 public:
  /// Creates (truncates) cfg.results_path: one-stage jobs in today's layout (/frames, ...) with
  /// the task's scalar columns; with job.stages one set of tables per stage (/stages/NAME/...).
  Sink(const JobConfig& cfg, const task::Pipeline& pipeline);

  struct Stored {
    int partition = -1;
    std::uint32_t epoch = 0;
    std::size_t rows = 0, duplicates = 0;
  };
  /// Decodes a RESULTS body from `source` and appends its new keys; counts them (and the
  /// replays) in the model. `now` is the steady clock, `job_s` the job time. Throws ride::Error
  /// on a malformed body.
  Stored store(int source, const Buffer& body, JobModel& model, double now, double job_s);
  /// An acknowledgement due: the batch's results are durable. `fates` says, per record, whether
  /// it was stored now or before (empty: all stored now) — a stage forwards as the stored row says.
  struct Ack {
    int rank = -1;
    std::uint64_t batch_id = 0;
    std::vector<RowFate> fates;
  };
  /// Group commit: flushes when idle or every 20 ms under load. Returns the acknowledgements now due.
  std::vector<Ack> flush_if_due(bool idle, double now);
  /// Flushes and closes the file (then the master re-reads it to check the run).
  void close();

 private:
  const task::Pipeline& pipeline_;
  ResultWriter writer_;
  /// By stage, stream -> sequence: 0 not stored, 1 stored, 2 stored with forwarded = 1.
  std::vector<std::map<std::uint32_t, std::vector<std::uint8_t>>> seen_;
  std::vector<Ack> pending_acks_;
  double last_flush_ = 0;
};

}  // namespace ride
