#!/usr/bin/env bash
# Runs test_mpi_transport on 3 ranks under a real mpirun (oversubscribed) and checks each rank's
# verdict file. usage: mpi_transport.sh TEST DIR fast|tolerant|dead-peer
#   fast, tolerant: the message tests in that receive mode (fast also runs the group tests);
#                   every rank must pass, and mpirun exit 0
#   dead-peer:      under --enable-recovery (as ride runs) rank 2 SIGKILLs itself; ranks 0 and 1
#                   must pass (mpirun exits 0 whatever happened there: only the verdicts count)
set -uo pipefail
test=$1 dir=$2 mode=$3
rm -rf "$dir" && mkdir -p "$dir"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 GTEST_COLOR=no
case $mode in
  fast) filter='ReceiveModes/Messages.*/Fast:Groups.*' ;;
  tolerant) filter='ReceiveModes/Messages.*/TolerateDyingSenders' ;;
  dead-peer) filter='' ;;
  *) echo "mpi_transport: unknown mode '$mode'" >&2; exit 2 ;;
esac
if [ "$mode" = dead-peer ]; then
  timeout -k 5 100 mpirun --enable-recovery --oversubscribe -np 3 "$test" --verdicts "$dir" --dead-peer \
    --send-timeout 2 2>&1 | grep -v 'PMIX ERROR: BAD-PARAM'
  survivors="0 1"
  [ ! -e "$dir/rank-2" ] || { echo "mpi_transport: rank 2 should have died" >&2; exit 1; }
else
  timeout -k 5 110 mpirun --oversubscribe -np 3 "$test" --verdicts "$dir" --gtest_filter="$filter"
  rc=$?
  [ "$rc" -eq 0 ] || { echo "mpi_transport: mpirun exited $rc" >&2; exit 1; }
  survivors="0 1 2"
fi
for r in $survivors; do
  grep -q '^PASS' "$dir/rank-$r" 2>/dev/null || { echo "mpi_transport: rank $r: $(cat "$dir/rank-$r" 2>/dev/null || echo 'no verdict')" >&2; exit 1; }
done
echo "mpi_transport: ranks $survivors passed"
