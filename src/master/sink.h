#pragma once
/// @brief The master's result sink: stores what workers send (RESULTS, core/results_codec.h) in
/// the HDF5 results file, dropping keys already stored (effectively once: a replay after a
/// takeover is de-duplicated by (stream, sequence)), and makes bursts durable with one flush
/// (group commit) before the workers hear they may commit.
///
/// Durability (#14): every body that stored a new row is appended to the results journal
/// (sink/result_journal.h) as it is stored, and the journal is synced before the acknowledgements
/// go out, so what a worker commits survives a SIGKILL of the master. HDF5 is then flushed for
/// readers without an fsync of its own. With job.resume the sink rebuilds the results file from
/// the journal of the run whose master died and says which keys that run finished.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/config.h"
#include "core/key_ranges.h"
#include "master/job_model.h"
#include "master/resume.h"
#include "sink/result_journal.h"
#include "sink/result_store.h"
#include "task/pipeline.h"

namespace ride {

/// With job.resume: throws ConfigError naming job.resume when <output.path>.journal is missing,
/// is not a journal, or was written by a job with another configuration (resume_mismatch names
/// the first key). Nothing to do without job.resume. Rank 0 calls it before the roles start.
void check_resume(const JobConfig& cfg);

class Sink {
 public:
  /// Creates (truncates) cfg.results_path: one-stage jobs in today's layout (/frames, ...) with
  /// the task's scalar columns; with job.stages one set of tables per stage (/stages/NAME/...).
  /// With output.journal, creates <results_path>.journal too. With job.resume, first checks that
  /// the journal exists and was written by the same job (ConfigError naming job.resume and the
  /// first key that differs), then rebuilds the results file from it.
  Sink(const JobConfig& cfg, const task::Pipeline& pipeline);

  /// What a resumed run took over from the run whose master died (job.resume).
  struct Resumed {
    std::string journal;             ///< its path
    std::uint64_t records = 0;       ///< RESULTS bodies in it
    std::uint64_t rows = 0;          ///< rows rebuilt into the results file (every stage)
    std::uint64_t torn_bytes = 0;    ///< an interrupted append cut off its end
    KeyRanges finished;              ///< keys finished along every path (ingest passes over them)
    double rebuild_s = 0;            ///< reading the journal and rewriting the results file
  };
  /// Set when this run resumed another.
  const std::optional<Resumed>& resumed() const { return resumed_; }

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
  /// Appends the new rows of one body to table set `stage`; fates per record (empty when every
  /// row was new).
  struct Applied {
    std::vector<RowFate> fates;
    std::size_t rows = 0;
  };
  Applied apply(const Buffer& body, int stage);
  void rebuild_from_journal(const JobConfig& cfg);

  const task::Pipeline& pipeline_;
  ResultWriter writer_;
  std::optional<ResultJournal> journal_;
  std::optional<Resumed> resumed_;
  /// By stage, stream -> sequence: 0 not stored, 1 stored, 2 stored with forwarded = 1.
  StoredKeys seen_;
  std::vector<Ack> pending_acks_;
  double last_flush_ = 0;
};

}  // namespace ride
