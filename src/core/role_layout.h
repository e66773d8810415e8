#pragma once
/// @brief Which rank plays which role. Pure logic: computed identically on every rank.
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.h"

namespace ride {

enum class Role { master, broker, ingest, worker, spare };
const char* to_string(Role r);

/// @brief Ranks by role, in rank order: 0 master, then brokers, ingest, workers, spares.
///
/// Rule for the keys left at -1 (auto), given N ranks:
///   ingest = 1; spares = 1 when N >= 6, else 0; the remaining R = N - 1 - ingest - spares
///   ranks are split brokers = max(1, R / 3), workers = R - brokers (RIDE ran 3 brokers for 6
///   workers). Explicit counts are taken as given; ranks left over become spares.
///   With job.stages the workers are the stages' groups (sum of stage.NAME.workers), in stage
///   order, and each stage's input topic has stage.NAME.partitions (default: one per worker of
///   the stage, plus one per spare with scaling.adaptive).
/// Throws ConfigError naming the keys when the roles need more ranks than N.
struct RoleLayout {
  int world = 0;
  std::vector<int> brokers, ingest, workers, spares;
  /// Copies of each partition (topic.replication; auto: 2 with at least 2 brokers, else 1).
  int replication = 1;
  int partitions = 0;  ///< partitions of all topics (one topic per stage input), numbered
                       ///< stage by stage: stage s holds [stage_first[s], stage_first[s] + stage_partitions[s])
  std::vector<int> stage_first, stage_partitions;  ///< by stage (JobConfig::stages order)
  std::vector<int> worker_stage;  ///< parallel to workers: the stage whose group each starts in

  /// The stage whose input topic holds global partition p.
  int stage_of_partition(int p) const;

  Role role_of(int rank) const;
  /// Index of `rank` within its role's list (broker 0, 1, ...).
  int index_in_role(int rank) const;
  /// The ingest rank that reads stream (input) s: inputs are dealt out in turn.
  int ingest_of_stream(std::uint32_t s) const {
    return ingest.empty() ? -1 : ingest[static_cast<std::size_t>(s % ingest.size())];
  }
};

RoleLayout compute_role_layout(const JobConfig& cfg, int world_size);

}  // namespace ride
