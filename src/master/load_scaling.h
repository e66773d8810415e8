#pragma once
/// @brief CAM² Sec. 4.4 during a run (scaling.enabled): the scaling policy `ride plan` ships
/// (plan/scaling.h), with the workers as instances of one type (a worker's core, its memory
/// budget) and the partitions as streams. Every scaling.interval_s it turns the workers' load
/// samples into busy fractions and each partition's frame rate, asks the policy, records the
/// decisions in the job model and returns them for the master's loop to carry out.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/protocol.h"
#include "master/job_model.h"

namespace ride::plan {
class ScalingPolicy;
}

namespace ride {

/// A partition moved (a takeover without a failure) or a worker released to the spare pool.
struct PartitionMove {
  int partition = -1, from = -1, to = -1;
  bool joins = false;  ///< `to` was a spare: it joins the group
};

class LoadScaling {
 public:
  /// independent_frames: the task keeps no state across a stream's frames (task::Info::state is
  /// not per_stream), so its partitions move first.
  LoadScaling(const JobConfig& cfg, bool independent_frames, int max_workers);
  ~LoadScaling();
  void on_worker_metrics(int rank, const WorkerMetrics& m) { loads_[rank].now = m; }
  /// Due every scaling.interval_s (else nothing). Moves update the assignment (new epochs) and
  /// the group; releases put workers back in the pool; both are recorded as scaling events.
  std::vector<PartitionMove> step(JobModel& model, double now, double job_s);

 private:
  const JobConfig& cfg_;
  bool independent_frames_;
  std::unique_ptr<plan::ScalingPolicy> policy_;
  struct Load {
    WorkerMetrics now, then;  ///< latest sample, and the one at the last decision
  };
  std::map<int, Load> loads_;
  std::map<int, std::uint64_t> last_end_;  ///< partition end offsets at the last decision
  double next_s_ = 0, last_s_ = 0;
};

}  // namespace ride
