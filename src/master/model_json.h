#pragma once
/// @brief Records of the job model as JSON, shared by the run summary and /status so that the
/// two never describe a failure or a scaling decision differently.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "master/job_model.h"

namespace ride {

/// Every scaling decision (grow, shrink, move): what, on whom, why.
nlohmann::json scaling_json(const JobModel& model);
/// Every failure: cause, when it was last heard / detected / recovered (wall clock from
/// `t0_ns` at steady `t0`), the partitions moved and the frames re-processed.
nlohmann::json failures_json(const JobModel& model, std::int64_t t0_ns, double t0);

}  // namespace ride
