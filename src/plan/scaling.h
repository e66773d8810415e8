#pragma once
/// @brief CAM² Sec. 4.4 scaling policy as pure logic (no clocks, no I/O): given per-instance
/// utilization samples and the current placement, decide migrations, releases and allocations.
/// Shared with `ride run` later. Threading: a ScalingPolicy object is not thread-safe (it keeps
/// per-instance "under-utilized since" times); use one per controller.
#include <string>
#include <vector>

#include "plan/model.h"

namespace ride::plan {

/// A stream as the policy sees it.
struct StreamState {
  std::string id;
  std::string program;
  bool independent_frames = false;  ///< frames analysed independently (no temporal state lost)
  double fps = 0;
  int width = 0, height = 0;
  double cpu = 0;     ///< estimated cores this stream uses
  double mem_gb = 0;  ///< estimated GB
  double started_at = 0;  ///< time its analysis started on this instance (larger = more recent)
};

/// One running instance and its latest utilization sample (fractions of raw capacity, 0..1+).
struct InstanceState {
  std::string id;
  std::string type;  ///< name in the catalog
  double cpu_util = 0;
  double mem_util = 0;
  std::vector<StreamState> streams;
};

struct ScalingAction {
  enum class Kind { kMigrate, kRelease, kAllocate };
  Kind kind = Kind::kMigrate;
  std::string stream;  ///< kMigrate: the stream id
  std::string from;    ///< kMigrate: source instance; kRelease: the instance
  std::string to;      ///< kMigrate: destination instance (may be a new id from a kAllocate)
  std::string type;    ///< kAllocate: the type to start; `to` = the new instance id
};

struct ScalingConfig {
  double over = 0.9;     ///< CPU or memory above this: over-utilized
  double under = 0.5;    ///< CPU and memory below this ...
  double under_for_s = 300;  ///< ... continuously for this long: consider releasing
  double target = 0.7;   ///< migrations stop / destinations accept up to this utilization
};

/// Decisions, in CAM²'s rules:
///  - Over-utilized instance (cpu_util > over or mem_util > over): streams are migrated off it, in
///    the preference order (1) independent-frame streams first, (2) lower fps, (3) more
///    resource-heavy (larger max(cpu/vcpus, mem/mem_gb) of the instance), (4) higher resolution
///    (width*height), (5) most recently started; until its projected utilization (sample minus the
///    moved streams' estimates) is <= target in both dimensions. Each migrating stream goes to
///    the first other instance (input order; not over-utilized, not being released) whose
///    projected utilization stays <= target in both dimensions; if none, a new instance of the
///    cheapest catalog type that holds the stream at target is allocated (kAllocate before the
///    kMigrate; ids "new-0", "new-1", ...; later streams may share it; per-type limits counted).
///  - Under-utilized instance (cpu_util < under and mem_util < under) for at least under_for_s
///    (measured from the first step() that saw it under): if all its streams fit on other
///    instances (first fit, projected <= target, no new allocation), emit their migrations and a
///    kRelease. At most the instances that can be emptied are released, emptiest first; an
///    instance receiving streams in this step is not released in the same step.
/// Throws ride::Error for an instance whose type is not in the catalog.
class ScalingPolicy {
 public:
  ScalingPolicy(std::vector<InstanceType> catalog, ScalingConfig cfg = {});
  std::vector<ScalingAction> step(double now, const std::vector<InstanceState>& instances);

 private:
  std::vector<InstanceType> catalog_;
  ScalingConfig cfg_;
  std::vector<std::pair<std::string, double>> under_since_;
  int next_id_ = 0;
};

}  // namespace ride::plan
