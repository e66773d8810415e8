#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Worker rank: owns the partitions the master assigns (with epochs); loops FETCH →
/// process → send results to the sink → COMMIT once the sink says they are durable.
int run_worker(RoleContext& ctx);
/// @brief Spare rank: waits (sleeping) to be promoted; until then only answers shutdown.
int run_spare(RoleContext& ctx);
}  // namespace ride
