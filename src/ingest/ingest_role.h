#pragma once
#include "transport/role_runtime.h"

namespace ride {
/// @brief Ingest rank: generates its share of the synthetic streams (stream s belongs to ingest
/// rank s mod I) at the frame rate (stream mode) or as fast as the brokers accept (batch mode),
/// publishes them to partitions, and reports exactly what it produced.
int run_ingest(RoleContext& ctx);
}  // namespace ride
