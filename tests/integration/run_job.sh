#!/usr/bin/env bash
# One MPI integration case: run `ride run` under a real mpirun (oversubscribed, recovery on),
# then check the run from the outside with verify_run.
# usage: run_job.sh RIDE VERIFY NP WORKDIR [ride run options...]
set -euo pipefail
ride=$1 verify=$2 np=$3 dir=$4
shift 4
rm -rf "$dir" && mkdir -p "$dir"
launcher=$(cd "$(dirname "$0")/../../scripts" && pwd)/ride-mpirun
# ride-mpirun returns the job's own exit code (mpirun --enable-recovery always returns 0).
set +e
RIDE=$ride timeout -k 5 150 "$launcher" --oversubscribe -np "$np" -- \
  --summary "$dir/summary.json" --output.path="$dir/results.h5" "$@" >"$dir/out.log" 2>&1
rc=$?
set -e
cat "$dir/out.log"
if [ "$rc" -ne 0 ]; then
  echo "run_job: ride run exited $rc" >&2
  exit 1
fi
grep -q "rank  role" "$dir/out.log" || { echo "run_job: no role table printed" >&2; exit 1; }
grep -q "\[ride\] t=" "$dir/out.log" || { echo "run_job: no progress line printed" >&2; exit 1; }
"$verify" "$dir/summary.json" "$dir/results.h5" "$np"
