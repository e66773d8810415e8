#pragma once
/// @brief `ride plan` command-line entry (no MPI needed).
#include <iosfwd>
#include <string>
#include <vector>

namespace ride::plan {

/// Runs `ride plan ARGS...`. `args` are the words after `plan`. Writes the terminal table to
/// `out` (unless --quiet), files named by --json/--csv/--sbatch, errors on `err`.
/// Returns 0 on success, 2 on bad usage or bad input (message on `err` naming file:line:column
/// where it applies). `--help` prints usage on `out` and returns 0.
int plan_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// The usage text.
const char* plan_usage();

}  // namespace ride::plan
