#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Worker rank: owns the partitions the master assigns (with epochs); loops FETCH →
/// process → send results to the sink → COMMIT once the sink says they are durable.
int run_worker(RoleContext& ctx);
/// @brief Spare rank: a worker without partitions, heartbeating and sleeping until the master
/// promotes it by assigning it the partitions of a failed worker.
int run_spare(RoleContext& ctx);
}  // namespace ride
