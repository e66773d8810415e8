#pragma once
/// @brief Resuming a run whose master died (#14, `job.resume`): which configuration changes a
/// resumed run may make, and which keys the earlier run finished. Pure logic over plain data,
/// unit-tested without MPI or HDF5; the sink (master/sink.h) feeds it the journal's rows.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/key_ranges.h"

namespace ride {

/// The text a journal's header holds: the job's effective configuration (JobConfig::to_ini).
std::string resume_identity(const JobConfig& cfg);

/// Compares the configuration a journal was written with (`was`) with the one resuming it
/// (`now`), both resume_identity() texts. What decides which frames exist and what is computed
/// of them (the mode, the inputs, streams, frame counts and sizes, the seed, the stages, their
/// tasks, parameters, forward rules, output.images) must be equal; resources and operations
/// (ranks, partitions, brokers, spill, workers, devices, threads, scaling, fault tolerance,
/// status, the summary path) may change, e.g. a requeued Slurm job on other nodes. output.path
/// may be spelled otherwise (relative, absolute): the journal found beside it is the proof.
/// Returns nullopt when they agree, else "KEY: V1 in the journal, V2 now" for the first key
/// that differs (a key only one has shows "(absent)").
std::optional<std::string> resume_mismatch(const std::string& was, const std::string& now);

/// Whether a configuration key may change between a run and its resumption (see above).
bool resume_may_change(const std::string& key);

/// One stage of the pipeline as resume sees it: what it reads (-1: ingest) and who reads it.
struct ResumeStage {
  int input = -1;
  std::vector<int> readers;
};

/// By stage, the keys stored in its table: stream -> by sequence 0 (not stored), 1 (stored, not
/// forwarded or the stage has no readers), 2 (stored and forwarded to its readers).
using StoredKeys = std::vector<std::map<std::uint32_t, std::vector<std::uint8_t>>>;

/// The keys a resumed run need not ingest again: those finished along every path through the
/// pipeline. A key is finished at a stage when the stage stored it and either did not forward it
/// or every reader of the stage finished it; a key is finished when every stage reading ingest
/// finished it. A key stored by the first stage but not by a later one it was forwarded to is
/// not finished: it is ingested again, the first stage drops its repeat (the stored row says it
/// goes on) and the later stage processes it.
KeyRanges finished_keys(const std::vector<ResumeStage>& stages, const StoredKeys& stored);

}  // namespace ride
