#!/usr/bin/env bash
# One MPI integration case: run `ride run` under a real mpirun (oversubscribed, recovery on),
# then check the run from the outside with verify_run.
# usage: run_job.sh RIDE VERIFY NP WORKDIR [ride run options...] [--verify verify_run options...]
#   EXPECT_RC=n   the job's expected exit code (default 0)
#   EXPECT_OUTPUT='RE && RE'  regexes the output must each match (' && ' separates them)
#   SPILL_TMPFS_MB=n  mount a tmpfs of n MB as $WORKDIR/spill first (a small, really full disk);
#                 the case is skipped (exit 77) where mounting is not permitted
set -euo pipefail
# shellcheck source=tests/integration/job_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/job_common.sh"
job_args 4 "$@"
rm -rf "$dir" && mkdir -p "$dir"
cleanup() { :; }
if [ -n "${SPILL_TMPFS_MB:-}" ]; then
  mkdir -p "$dir/spill"
  if ! mount -t tmpfs -o size="${SPILL_TMPFS_MB}m" tmpfs "$dir/spill" 2>/dev/null; then
    echo "run_job: cannot mount a tmpfs here (not permitted): skipped"
    exit 77
  fi
  cleanup() { umount "$dir/spill" 2>/dev/null || umount -l "$dir/spill" 2>/dev/null || true; }
fi
trap cleanup EXIT
launcher=$(cd "$(dirname "$0")/../../scripts" && pwd)/ride-mpirun
# ride-mpirun returns the job's own exit code (mpirun --enable-recovery always returns 0).
set +e
RIDE=$ride timeout -k 5 150 "$launcher" --oversubscribe -np "$np" -- \
  --summary "$dir/summary.json" --output.path="$dir/results.h5" "${ride_args[@]}" >"$dir/out.log" 2>&1
rc=$?
set -e
cat "$dir/out.log"
if [ "$rc" -ne "${EXPECT_RC:-0}" ]; then
  echo "run_job: ride run exited $rc, expected ${EXPECT_RC:-0}" >&2
  exit 1
fi
grep -q "rank  role" "$dir/out.log" || { echo "run_job: no role table printed" >&2; exit 1; }
grep -q "\[ride\] t=" "$dir/out.log" || { echo "run_job: no progress line printed" >&2; exit 1; }
if [ -n "${EXPECT_OUTPUT:-}" ]; then
  # Each ' && '-separated regex must match a line of the output.
  rest=$EXPECT_OUTPUT
  while [ -n "$rest" ]; do
    want=${rest%% && *}
    if [ "$want" = "$rest" ]; then rest=""; else rest=${rest#* && }; fi
    grep -Eq -- "$want" "$dir/out.log" || { echo "run_job: output does not match '$want'" >&2; exit 1; }
  done
fi
"$verify" "$dir/summary.json" "$dir/results.h5" "$np" "${verify_args[@]}"
