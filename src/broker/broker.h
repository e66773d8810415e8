#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Broker rank: holds its partitions' logs, answers FETCH/COMMIT with epoch fencing,
/// long-polls empty fetches, reports offsets to the master. Returns the process exit code.
int run_broker(RoleContext& ctx);
}  // namespace ride
