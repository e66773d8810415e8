#!/usr/bin/env bash
# Runs fault_domain_drill under a real mpirun --enable-recovery and checks every survivor's
# verdict file (mpirun itself exits 0 whatever happened).
set -uo pipefail
drill=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
timeout -k 5 90 mpirun --enable-recovery --oversubscribe -np 4 "$drill" "$dir" 2>&1 | grep -v 'PMIX ERROR: BAD-PARAM'
for r in 0 1 2; do
  grep -q '^PASS' "$dir/rank-$r" 2>/dev/null || { echo "drill: rank $r: $(cat "$dir/rank-$r" 2>/dev/null || echo 'no verdict')" >&2; exit 1; }
done
grep -q 'PASS spawn' "$dir/rank-0" || { echo "drill: rank 0 did not spawn" >&2; exit 1; }
[ ! -e "$dir/rank-3" ] || { echo "drill: rank 3 should have died" >&2; exit 1; }
echo "drill: survivors shrank and a replacement was spawned after a real SIGKILL"
