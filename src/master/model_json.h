#pragma once
/// @brief Records of the job model as JSON, shared by the run summary and /status so that the
/// two never describe a failure or a scaling decision differently.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "master/job_model.h"

namespace ride {

/// The rank table: rank, the role it started as, host and pid of each rank (the summary's
/// `ranks`, and the ranks file written at start-up for tools that signal ranks); with `at_end`
/// also whether it was alive at the end, its role then, and whether it was spawned.
nlohmann::json ranks_json(const JobModel& model, bool at_end);

/// Where the ranks file goes: the summary's path without ".json", plus ".ranks.json" (empty when
/// there is no summary path).
std::string ranks_file_path(const std::string& summary_path);

/// Every scaling decision (grow, shrink, move): what, on whom, why.
nlohmann::json scaling_json(const JobModel& model);
/// Every failure: cause, when it was last heard / detected / recovered (wall clock from
/// `t0_ns` at steady `t0`), the partitions moved and the frames re-processed.
nlohmann::json failures_json(const JobModel& model, std::int64_t t0_ns, double t0);

}  // namespace ride
