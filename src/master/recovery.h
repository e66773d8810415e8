#pragma once
/// @brief What the master does about a lost rank, decided over the job model. Pure: it updates
/// the model (the group, the assignment with new epochs, the failure record) and returns what
/// the master's loop must send; the loop carries it out.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/stream_report.h"
#include "master/job_model.h"

namespace ride {

struct RecoveryDecision {
  /// Non-empty: the job cannot go on (a broker or ingest rank lost, or no worker left).
  std::string fatal;
  /// (partition, new owner) under a new epoch each: the broker hears first (fencing the old
  /// owner), then the new owner, which resumes at the oldest uncommitted frame.
  std::vector<MovedPartition> moved;
  bool spare_lost = false;  ///< a waiting spare died: the pool is one smaller

  // A broker lost with topic.replication > 1 (#14): broker failover.
  /// The new placement (set in the model already): every live rank must hear it.
  std::optional<PartitionMap> map;
  /// Partitions whose leader died: an in-sync follower leads them under the next leader epoch;
  /// their owners resume at the committed offset under a new assignment epoch (in `moved`).
  std::vector<int> promoted;
  /// Partitions given a new follower on a live broker (re-replication), built from the leader.
  std::vector<int> rebuilt;
  /// Partitions left with fewer copies than topic.replication (too few live brokers).
  std::vector<int> under_replicated;

  /// An ingest rank lost while another still reads (#14): its streams, by the ingest rank that
  /// resumes them, each after its last acknowledged sequence.
  std::map<int, std::vector<StreamTakeover>> takeovers;
};

/// Rank `rank` is dead (`why`: silent for ..., straggler ...; detected at steady time `now`,
/// last heard at `last_heard`). A worker's partitions go to the first spare (promoted) or, with
/// none left, to the survivors owning the fewest; a spare just leaves the pool; a broker or an
/// ingest rank cannot be replaced (yet): fatal, with a message naming the rank.
///
/// A broker's loss with `replication` > 1 is survived (#14): each partition it led is given to
/// a live in-sync follower under the next leader epoch (elect_leader: none left is fatal), the
/// partitions it followed lose that copy, and every partition short of `replication` copies
/// gets a new follower on the live broker holding the fewest copies (another host than the
/// partition's others first). Any follower of a promoted partition rebuilds its copy from the
/// new leader, so only the leader is in sync at first.
///
/// An ingest rank's loss is survived when another ingest rank is alive (#14): each of its
/// streams goes to the live ingest rank reading the fewest (one that finished its own reads
/// them too: ingest's topics are sealed only once every ingest rank reported), resumed at the
/// stream's acknowledged sequence (StreamRecord::acked). A rank that had finished
/// (`finished_ingest`: it sent INGEST_DONE) leaves nothing to resume. None left is fatal.
RecoveryDecision plan_recovery(JobModel& model, int rank, const std::string& why, double now,
                               double last_heard, int replication = 1,
                               const std::set<int>& finished_ingest = {});

}  // namespace ride
