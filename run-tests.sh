#!/usr/bin/env bash
# Sets up, builds (warnings are errors), and runs the whole test suite: unit tests, MPI
# integration tests (real mpirun, oversubscribed), and GPU tests (which skip without a GPU).
# Long soak and benchmark cases carry the labels "soak" and "bench" and are not run here.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/scripts/setup.sh"
"$root/scripts/check-format.sh"  # changed C++ lines follow .clang-format (CI fails on drift)
cd "${RIDE_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j2 --label-exclude 'soak|bench' "$@"
