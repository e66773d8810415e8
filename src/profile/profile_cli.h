#pragma once
/// @brief `ride profile`: measure what one stream of a task needs on this machine by running the
/// task through the framework (real jobs under scripts/ride-mpirun) at several frame rates, fit
/// CPU = a * fps + b (cores per stream) and memory = constant (GB per stream), and append the
/// result to a requirements CSV (`program,width,height,cpu_per_fps,cpu_base,mem_gb`) that
/// `ride plan` reads.
#include <iosfwd>
#include <string>
#include <vector>

namespace ride::profile {

/// args: what follows `ride profile`; `self` is the ride executable. Returns the exit code (0 ok,
/// 1 a run failed, 2 bad arguments).
int profile_main(const std::vector<std::string>& args, const std::string& self, std::ostream& out,
                 std::ostream& err);

}  // namespace ride::profile
