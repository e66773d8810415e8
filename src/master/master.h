#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Rank 0: prints the roles, assigns partitions (with epochs), hosts the result sink,
/// prints progress, decides when the job is done, verifies the results file against what was
/// ingested, and writes the run summary. Returns the job's exit code.
int run_master(RoleContext& ctx);
}  // namespace ride
