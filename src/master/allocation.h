#pragma once
/// @brief RIDE's dynamic resource management (Sec. 3.2): a worker that has finished its work is
/// given more at once, so no worker idles while work waits. Decided over the job model, pure;
/// the master's loop carries each move out with the fenced hand-over recovery uses (the broker
/// hears the new epoch first, the new owner resumes at the oldest uncommitted frame), so a move
/// pauses only the partition it moves.
#include <string>
#include <vector>

#include "master/job_model.h"

namespace ride {

struct AllocationConfig {
  bool batch = false;          ///< job.mode = batch: partitions are drained one by one
  int batch_frames = 8;        ///< worker.batch_frames: a partition "waits" with this many frames
  double cooldown_s = 2.0;     ///< a partition moved is not moved again this soon
  double handover_s = 0.3;     ///< what a move costs the partition (fence, refetch, replay)
  /// Stream mode: a worker takes a partition from another only after being idle this long, and
  /// never takes back one moved off it within 4 cool-downs — near full capacity, a hot partition
  /// would otherwise bounce between workers every cool-down (bench/master_scale.py saw it).
  double steal_after_s = 0.5;
};

/// One decision: partition to a worker, with the numbers that made it.
struct AllocationMove {
  int partition = -1, from = -1, to = -1;
  std::string reason;
};

/// @brief Hands partitions to whichever worker is free. Every decision is recorded in the
/// model (assignment with a new epoch, a "move" scaling event) and returned for the loop.
class DynamicAllocator {
 public:
  explicit DynamicAllocator(AllocationConfig cfg) : cfg_(cfg) {}

  /// The assignment to start from: in batch mode one partition per worker (the rest wait to
  /// be handed out as workers finish); in stream mode every partition, round-robin (frames
  /// arrive from the start). Updates the model's assignment.
  void initial(JobModel& model) const;

  /// Moves due now (job time `job_s`, steady `now`):
  ///  1. an idle worker (none of its partitions has work) takes an unowned partition with work;
  ///  2. else it takes a waiting partition from a worker that has several with work (not the
  ///     one that worker computes now);
  ///  3. batch only, at the end: it takes the last partition of a worker so much slower that the
  ///     partition finishes sooner after a hand-over (the frames left at both workers' measured
  ///     rates, plus handover_s).
  /// A worker gets at most one partition per call; a partition moves at most once per cooldown.
  std::vector<AllocationMove> step(JobModel& model, double job_s, double now);

  /// Whether partition p has work for a worker now.
  bool has_work(const JobModel& model, int p) const;
  /// Whether worker r is idle: none of its partitions has work.
  bool idle(const JobModel& model, int r) const;
  /// Idle workers while some partition waits: time accumulated per worker by step() (the
  /// summary's measure of "no worker idle while work waits").
  double idle_while_work_waits_s(int r) const;

 private:
  AllocationConfig cfg_;
  double last_step_ = -1;
  std::vector<double> idle_waiting_s_;  ///< by rank
  std::vector<double> idle_since_;      ///< by rank: steady time it was first seen idle, -1: busy
  std::vector<int> moved_from_;         ///< by partition: its owner before its last move
};

}  // namespace ride
