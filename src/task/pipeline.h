#pragma once
/// @brief The application topology resolved against the task registry (RIDE Sec. 3.3): every
/// stage with its task, its input and readers, the partitions of its input topic, the scalars
/// its results carry (its own, whether each frame went on, and those of the stages before it,
/// which travel with a forwarded frame) and its `forward` predicate. Every rank resolves the
/// same pipeline from the same configuration; errors name the key and where it was set.
#include <string>
#include <vector>

#include "core/config.h"
#include "core/predicate.h"
#include "core/role_layout.h"
#include "task/registry.h"

namespace ride::task {

struct Stage {
  int index = 0;
  const StageConfig* cfg = nullptr;  ///< in the JobConfig the pipeline was resolved from
  ResolvedTask task;
  int input = -1;                    ///< the stage it reads, -1: ingest
  std::vector<int> readers;          ///< stages reading its output (fan-out: several)
  int first_partition = 0, partitions = 0;  ///< its input topic, as global partition ids
  /// What a frame forwarded to this stage carries besides its pixels: the scalars of the stage
  /// it comes from, then those that stage received, nearest first ("motion.foreground_pct").
  std::vector<std::string> upstream_names;
  /// The columns of its results: the task's scalars, then "forwarded" (1 when the frame went
  /// on; only for a stage with readers), then upstream_names.
  std::vector<std::string> scalar_names;
  std::size_t own_scalars = 0;       ///< = task.info.scalars.size()
  bool has_forwarded_column() const { return !readers.empty(); }
  std::size_t upstream_at() const { return own_scalars + (has_forwarded_column() ? 1 : 0); }
  /// Evaluated on a record's scalars (the forwarded column reads as NaN and cannot be named).
  Predicate forward;
  bool emit_image = false;
  bool keyed = false;                ///< its topic is partitioned by key (stream), not round robin
  const std::string& name() const { return cfg->name; }
};

class Pipeline {
 public:
  Pipeline() = default;
  /// Resolves every stage. Throws ConfigError naming the key: an unknown task or parameter, a
  /// stateful task fed round robin, `forward` naming an unknown scalar or not parsing, emit =
  /// image for a task with no output image, more result columns than a record holds.
  Pipeline(const TaskRegistry& registry, const JobConfig& cfg, const RoleLayout& layout);

  int stages() const { return static_cast<int>(stages_.size()); }
  const Stage& stage(int s) const { return stages_.at(static_cast<std::size_t>(s)); }
  const std::vector<Stage>& all() const { return stages_; }
  bool multi_stage() const { return multi_; }
  /// The stage whose input topic holds global partition p.
  int stage_of_partition(int p) const;
  /// Stages reading ingest (their topics are what ingest produces to).
  const std::vector<int>& ingest_readers() const { return ingest_readers_; }

 private:
  std::vector<Stage> stages_;
  std::vector<int> ingest_readers_;
  bool multi_ = false;
};

/// The partition of a stage's topic for a frame: key partitioning keeps a stream in one
/// partition (stream mod P); round robin spreads a stream's frames by sequence. Deterministic in
/// (stream, sequence), so a frame forwarded again after a failure reaches the same partition,
/// whose broker drops it as already seen. Returns a global partition id.
int forward_partition(const Stage& reader, std::uint32_t stream, std::uint64_t sequence);

}  // namespace ride::task
