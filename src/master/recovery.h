#pragma once
/// @brief What the master does about a lost rank, decided over the job model. Pure: it updates
/// the model (the group, the assignment with new epochs, the failure record) and returns what
/// the master's loop must send; the loop carries it out.
#include <string>
#include <vector>

#include "master/job_model.h"

namespace ride {

struct RecoveryDecision {
  /// Non-empty: the job cannot go on (a broker or ingest rank lost, or no worker left).
  std::string fatal;
  /// (partition, new owner) under a new epoch each: the broker hears first (fencing the old
  /// owner), then the new owner, which resumes at the oldest uncommitted frame.
  std::vector<MovedPartition> moved;
  bool spare_lost = false;  ///< a waiting spare died: the pool is one smaller
};

/// Rank `rank` is dead (`why`: silent for ..., straggler ...; detected at steady time `now`,
/// last heard at `last_heard`). A worker's partitions go to the first spare (promoted) or, with
/// none left, to the survivors owning the fewest; a spare just leaves the pool; a broker or an
/// ingest rank cannot be replaced (yet): fatal, with a message naming the rank.
RecoveryDecision plan_recovery(JobModel& model, int rank, const std::string& why, double now,
                               double last_heard);

}  // namespace ride
