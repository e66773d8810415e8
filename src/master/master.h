#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Rank 0: prints the roles, assigns partitions (with epochs), hosts the result sink,
/// prints progress, decides when the job is done, verifies the results file against what was
/// ingested, and writes the run summary. Returns the job's exit code.
int run_master(RoleContext& ctx);
/// Rank 0, before the roles start: binds the HTTP status server (status.listen). Throws
/// ConfigError naming status.listen when the address cannot be bound (a port in use).
void open_status_server(const JobConfig& cfg);
/// After MPI_Finalize (no other rank waits on it): with status.linger_s, keeps serving the job's
/// final status `seconds` longer; then stops the server.
void linger_status_server(double seconds);
}  // namespace ride
