#!/usr/bin/env bash
# Sets up, builds, and runs the built-in default job: synthetic camera streams through a local
# mpirun (6 ranks unless RIDE_NP says otherwise), a live progress line, a summary at the end.
# Extra arguments go to `ride run` (e.g. --config job.ini, --ingest.streams=8).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$root/scripts/setup.sh"
cd "$root"
exec "$root/scripts/ride-mpirun" --oversubscribe -np "${RIDE_NP:-6}" -- \
  --summary ride_summary.json "$@"
