#!/usr/bin/env bash
# Master loss -> resume (#14): run a job, SIGKILL its master mid-run (kill_job.sh: every other
# rank must then exit on its own), then run the same command with --job.resume=true on the same
# output path and check that run from the outside: every key exactly once, some kept from the
# first run and the rest processed by the second.
# usage: resume_job.sh RIDE VERIFY NP WORKDIR ACTIONS [ride run options...] [--verify options...]
#   ACTIONS: kill_job.sh's, killing master0 (e.g. processing+0.5:kill:master0)
# Before the real resume, a resume with a changed configuration must be refused (exit 2, the key
# named) and leave the journal as it was.
set -euo pipefail
# shellcheck source=tests/integration/job_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/job_common.sh"
job_args 5 "$@"
here=$(cd "$(dirname "$0")" && pwd)
launcher=$(cd "$here/../../scripts" && pwd)/ride-mpirun

echo "resume_job: first run, its master SIGKILLed ($actions)"
EXPECT_RC=1 EXPECT_OUTPUT='the master has been silent' \
  "$here/kill_job.sh" "$ride" "$verify" "$np" "$dir" "$actions" "${ride_args[@]}"
# kill_job.sh waited for mpirun: no rank of the first run may be left.
for pid in $("$here/rank_pids.py" "$dir/summary.ranks.json" --all); do
  if kill -0 "$pid" 2>/dev/null; then echo "resume_job: rank pid $pid of the first run is still alive" >&2; exit 1; fi
done
journal=$dir/results.h5.journal
[ -s "$journal" ] || { echo "resume_job: the first run left no journal" >&2; exit 1; }
sum_before=$(md5sum <"$journal")

echo "resume_job: a resume with another configuration is refused"
set +e
RIDE=$ride timeout -k 5 60 "$launcher" --oversubscribe -np "$np" -- \
  --summary "$dir/refused.json" --output.path="$dir/results.h5" "${ride_args[@]}" --ingest.seed=4242 \
  --job.resume=true >"$dir/refused.log" 2>&1
rc=$?
set -e
cat "$dir/refused.log"
[ "$rc" -eq 2 ] || { echo "resume_job: a mismatched resume exited $rc, expected 2" >&2; exit 1; }
grep -q 'job.resume.*ingest.seed' "$dir/refused.log" || { echo "resume_job: the refusal does not name ingest.seed" >&2; exit 1; }
[ "$(md5sum <"$journal")" = "$sum_before" ] || { echo "resume_job: the refused resume changed the journal" >&2; exit 1; }

echo "resume_job: the same command with --job.resume=true"
set +e
RIDE=$ride timeout -k 5 150 "$launcher" --oversubscribe -np "$np" -- \
  --summary "$dir/summary.json" --output.path="$dir/results.h5" "${ride_args[@]}" --job.resume=true \
  >"$dir/resumed.log" 2>&1
rc=$?
set -e
cat "$dir/resumed.log"
[ "$rc" -eq 0 ] || { echo "resume_job: the resumed run exited $rc" >&2; exit 1; }
grep -Eq '\[ride\] resuming: [0-9]+ result row' "$dir/resumed.log" || { echo "resume_job: no resume line" >&2; exit 1; }
"$verify" "$dir/summary.json" "$dir/results.h5" "$np" --expect-resumed "${verify_args[@]}"
