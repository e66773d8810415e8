#pragma once
/// @brief The scaling policy (CAM² Sec. 4.4), pure logic: keep every worker (an "instance")
/// between the under- and over-utilization thresholds by moving partitions (the unit a worker
/// owns: its streams) and releasing or adding workers.
///
///  - Over-utilized (CPU or memory above `high`, default 90 %): move one partition off it to the
///    worker that would stay lowest after taking it, if that stays at or below `target`
///    (default 70 %, the packing target), else onto a spare (scale out). The partition is chosen
///    in CAM²'s preference order: streams whose frames are analysed independently (stateless
///    tasks: no model is lost), then low frame rate (a short gap matters least), then
///    resource-heavy (relieves the most), then high resolution, then the most recently moved.
///  - Under-utilized (CPU and memory below `low`, default 50 %) for `low_for_s`: if all its
///    partitions fit on the other workers within `target`, move them there and release it (it
///    becomes a spare).
/// At most one over-utilized worker and one release are handled per decision, so each step's
/// effect is measured before the next.
#include <string>
#include <vector>

namespace ride {

struct ScalingThresholds {
  double high = 0.9, low = 0.5, target = 0.7;
  double low_for_s = 10;
};

struct PartitionLoad {
  int partition = -1;
  double rate_fps = 0;     ///< frames per second it receives
  double pixels = 0;       ///< frame size (width * height)
  bool stateful = false;   ///< its task keeps a model per stream
  double moved_at = -1e9;  ///< when it last changed owner
};

struct WorkerLoad {
  int rank = -1;
  double cpu = 0;              ///< utilization in [0, ...): busy time over wall time
  double mem = 0;              ///< utilization of its memory budget; 0 when not tracked
  double under_since = -1;     ///< since when it has been under `low` (-1: it is not)
  std::vector<PartitionLoad> partitions;
};

struct ScalingAction {
  enum class Kind { migrate, release } kind = Kind::migrate;
  int partition = -1;  ///< migrate: which
  int from = -1, to = -1;
  bool to_spare = false;  ///< migrate: `to` is a spare that joins the workers
  std::string why;
};

/// The next actions for the given loads; `spares` are idle ranks that may join.
std::vector<ScalingAction> decide_scaling(const std::vector<WorkerLoad>& workers,
                                          const std::vector<int>& spares,
                                          const ScalingThresholds& t, double now);

}  // namespace ride
