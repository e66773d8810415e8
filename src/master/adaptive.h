#pragma once
/// @brief RIDE's adaptive resource management (Sec. 3.2): the worker group follows the frame
/// rate. Every scaling.interval_s the group's input rate is compared with its processing rate and
/// its lag (frames and seconds): when the lag grows past scaling.lag_high_s spares join the group
/// (as many as the rates say are missing); when the workers stay under scaling.low busy for
/// scaling.low_for_s and one fewer would still be under scaling.target, one leaves for the pool.
/// scaling.cooldown_s after any change, and the gap between the two thresholds, keep it from
/// flapping. A schedule (scaling.schedule = T:N,...) sets the group size by time instead, for
/// experiments (RIDE Fig. 12). Pure: decisions are values recorded in the job model; the
/// master's loop carries them out.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "master/job_model.h"

namespace ride {

struct AdaptiveConfig {
  double interval_s = 2;        ///< scaling.interval_s: one look at the rates
  double lag_high_s = 2;        ///< scaling.lag_high_s: grow when the oldest waiting frame is older
  double low = 0.5;             ///< scaling.low: busy fraction under which workers are under-used
  double target = 0.7;          ///< scaling.target: the busy fraction the group may have after a shrink
  double low_for_s = 10;        ///< scaling.low_for_s: how long under-use must last
  double cooldown_s = 5;        ///< scaling.cooldown_s: no decision this soon after the last
  int stage = 0;                ///< the stage whose group this is (job.stages; 0 for a one-stage job)
  int min_workers = 1;          ///< scaling.min_workers
  int max_workers = 1 << 30;    ///< scaling.max_workers
  /// scaling.schedule: (job time, group size) in time order; empty = follow the rates.
  std::vector<std::pair<double, int>> schedule;
};

/// One look: the measured numbers every decision states.
struct GroupSample {
  double input_fps = 0;       ///< frames appended to the group's partitions per second
  double processed_fps = 0;   ///< frames committed per second
  double lag_s = 0;           ///< age of the oldest uncommitted frame (as its broker last reported)
  std::uint64_t lag_frames = 0;
  double busy = 0;            ///< mean busy fraction of the workers over the interval
  int workers = 0;
};

struct GroupChange {
  enum class Kind { grow, shrink } kind = Kind::grow;
  int stage = 0;             ///< whose group
  std::vector<int> workers;  ///< grow: spares that join; shrink: the worker that leaves
  std::string reason;        ///< the numbers that triggered it
  struct Moved {
    int partition = -1, from = -1, to = -1;  ///< to = -1: nobody (the group shrank to none)
  };
  std::vector<Moved> moved;  ///< partitions that changed hands (new epochs in the model)
};

class AdaptiveGroup {
 public:
  explicit AdaptiveGroup(AdaptiveConfig cfg) : cfg_(std::move(cfg)) {}

  /// The worker's cumulative busy seconds (its heartbeat's compute time, or WORKER_METRICS;
  /// an older sample arriving late never takes it back).
  void on_busy(int rank, double busy_s) {
    auto& b = busy_now_[rank];
    b = std::max(b, busy_s);
  }

  /// A look, due every interval_s (else nothing). Grows take spares from model.spares(); the
  /// caller hands them partitions. Each change is recorded as a scaling event (grow / shrink).
  std::vector<GroupChange> step(JobModel& model, double job_s, double now);

  /// An operator's resize (POST /control/stages/NAME/workers): the group grows to `want` from
  /// the spare pool or shrinks to it now, and keeps that size from then on (the rates no longer
  /// decide for this stage; a dead worker's place is refilled from the spares). Refused, with
  /// the reason, when the pool lacks the spares or the stage has fewer partitions than `want`.
  struct Resize {
    std::vector<GroupChange> changes;
    std::string refused;  ///< empty: done
  };
  Resize resize(JobModel& model, int want, double job_s, double now);
  int pinned() const { return pinned_; }

 private:
  void grow_by(JobModel& model, int count, const std::string& why, double job_s, double now,
               std::vector<GroupChange>& out);
  void shrink_one(JobModel& model, int worker, const std::string& why, double job_s, double now,
                  std::vector<GroupChange>& out);
  GroupSample measure(const JobModel& model, double dt);
  void record(JobModel& model, const GroupChange& c, double job_s, double now) const;

  AdaptiveConfig cfg_;
  GroupSample sample_;
  double next_s_ = -1, last_s_ = -1, last_change_s_ = -1e300, under_since_ = -1;
  std::uint64_t last_end_ = 0, last_committed_ = 0;
  std::map<int, double> busy_now_, busy_then_;
  std::map<int, double> busy_at_under_;  ///< cumulative busy when the current under-use began
  int pinned_ = 0;                       ///< an operator's size (0: none)
};

/// Partitions for a worker that joins the group: from the workers owning the most, one at a
/// time, until it owns its share (partitions / workers, rounded down; at least one when any
/// worker has two). Returns (partition, from) moves; updates the assignment with new epochs.
std::vector<std::pair<int, int>> rebalance_onto(JobModel& model, int newcomer);
/// Partitions of a worker that leaves: each to the live worker owning the fewest (to nobody,
/// -1, when it was the last). Returns (partition, to) moves; updates the assignment with new
/// epochs.
std::vector<std::pair<int, int>> drain_from(JobModel& model, int leaver);

}  // namespace ride
