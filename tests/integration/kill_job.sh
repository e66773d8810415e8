#!/usr/bin/env bash
# A fault-tolerance case: run `ride run` under a real mpirun --enable-recovery, kill (SIGKILL)
# or freeze (SIGSTOP) real rank processes while it runs, then check the run from the outside.
# usage: kill_job.sh RIDE VERIFY NP WORKDIR ACTIONS [ride run options...] [--verify options...]
# ACTIONS: '|'-separated WHEN:SIGNAL:TARGETS, or none
#   WHEN     seconds after the first progress line, "start+S" (S seconds after the master
#            printed the job's mode line, before any progress line), "processing+S" (S seconds
#            after the first progress line with a processed frame), "takeover" (right after the master
#            reports moving a failed worker's partitions), or "grow" (right after the master
#            reports spares joining the worker group), or "rebuilt" (once every partition copy the
#            master's last broker failover set out to rebuild is back in its in-sync replicas)
#   SIGNAL   kill | stop | cont
#   TARGETS  ','-separated role+index (worker0, spare1, broker0, ingest0, master0),
#            "replacement" (the rank that took over in the last reported takeover), or "grown"
#            (the first rank that joined in the last reported grow)
# EXPECT_RC (default 0): the job's exit code; EXPECT_OUTPUT: regexes the output must each match,
# separated by ' && '.
# With EXPECT_RC != 0 and no --verify options, verify_run is not run (the job failed on purpose).
set -euo pipefail
ride=$1 verify=$2 np=$3 dir=$4 actions=$5
shift 5
ride_args=() verify_args=() have_verify=0
while [ $# -gt 0 ]; do
  if [ "$1" = "--verify" ]; then shift; verify_args=("$@"); have_verify=1; break; fi
  ride_args+=("$1"); shift
done
rm -rf "$dir" && mkdir -p "$dir"
here=$(cd "$(dirname "$0")" && pwd)
log=$dir/out.log
launcher=$(cd "$(dirname "$0")/../../scripts" && pwd)/ride-mpirun
RIDE=$ride timeout -k 5 120 "$launcher" --oversubscribe -np "$np" -- \
  --summary "$dir/summary.json" --output.path="$dir/results.h5" "${ride_args[@]}" >"$log" 2>&1 &
job=$!
stopped=()
cleanup() {
  for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  kill "$job" 2>/dev/null || true
}
trap cleanup EXIT

# wait_until WHAT SECONDS COMMAND...: runs COMMAND every 20 ms until it succeeds; the test fails
# (log printed) when SECONDS pass or the job ends first. A COMMAND may set `detail` to say what
# is still missing.
wait_until() {
  local what=$1 deadline=$((SECONDS + $2))
  shift 2
  detail=""
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "kill_job: $what never happened${detail:+ ($detail)}" >&2; cat "$log"; exit 1; }
    kill -0 "$job" 2>/dev/null || { echo "kill_job: the job ended before $what${detail:+ ($detail)}" >&2; cat "$log"; exit 1; }
    sleep 0.02
  done
}
wait_for() { wait_until "'$1'" "$2" grep -Eq -- "$1" "$log"; }  # wait_for REGEX SECONDS
# Every copy named in the master's last "new copies of P, Q being rebuilt" is back in sync: a
# "partition P: broker B rejoins the in-sync replicas" line after it, for each P.
copies_rebuilt() {
  local line list p
  line=$(grep -En -- 'new copies of [0-9, ]+ being rebuilt' "$log" | tail -1)
  [ -n "$line" ] || { detail="no copies being rebuilt yet"; return 1; }
  list=$(sed -E 's/.*new copies of ([0-9, ]+) being rebuilt.*/\1/' <<<"$line" | tr -d ' ' | tr ',' ' ')
  detail=""
  for p in $list; do
    tail -n +"${line%%:*}" "$log" | grep -Eq -- "replication: partition $p: broker [0-9]+ rejoins" ||
      detail+="${detail:+, }partition $p not rebuilt"
  done
  [ -z "$detail" ]
}
wait_rebuilt() { wait_until "the rebuilding of new copies" "$1" copies_rebuilt; }  # wait_rebuilt SECONDS
# Pids come from the ranks file the master writes beside the summary at start-up (rank_pids.py).
ranks_file=$dir/summary.ranks.json
pid_of() {  # pid_of worker0 | replacement | grown
  local target=$1
  if [ "$target" = grown ]; then
    local rank
    rank=$(grep -Eo -- 'grow: rank\(s\) [0-9]+' "$log" | tail -1 | awk '{print $3}')
    "$here/rank_pids.py" "$ranks_file" --rank "$rank" --wait 10
    return
  fi
  if [ "$target" = replacement ]; then
    local rank
    rank=$(grep -Eo -- '-> rank [0-9]+' "$log" | tail -1 | awk '{print $3}')
    "$here/rank_pids.py" "$ranks_file" --rank "$rank" --wait 10
    return
  fi
  local role=${target%%[0-9]*} index=${target##*[a-z]}
  "$here/rank_pids.py" "$ranks_file" --role "$role" --index "$index" --wait 10
}

if [ "$actions" != none ] && [[ "$actions" != start+* ]] && [[ "$actions" != processing+* ]]; then wait_for '\[ride\] t=' 60; fi
if [[ "$actions" == start+* ]]; then wait_for '\[ride\] (stream|batch) mode:' 60; fi
if [[ "$actions" == processing+* ]]; then wait_for '\[ride\] t=.* processed +[1-9]' 60; fi
t0=$(date +%s.%N)
[ "$actions" = none ] && actions=""
IFS='|' read -ra steps <<<"$actions"
for step in "${steps[@]}"; do
  [ -n "$step" ] || continue
  IFS=':' read -r when sig targets <<<"$step"
  if [ "$when" = takeover ]; then
    wait_for 'failure: rank .* -> rank' 30
  elif [ "$when" = grow ]; then
    wait_for 'scaling: grow: rank' 60
  elif [ "$when" = rebuilt ]; then
    wait_rebuilt 30
  else
    when=${when#start+}
    when=${when#processing+}
    now=$(date +%s.%N)
    delay=$(echo "$t0 + $when - $now" | bc -l)
    if [ "$(echo "$delay > 0" | bc -l)" = 1 ]; then sleep "$delay"; fi
  fi
  IFS=',' read -ra ts <<<"$targets"
  pids=()
  for t in "${ts[@]}"; do
    p=$(pid_of "$t")
    [ -n "$p" ] || { echo "kill_job: no pid for $t" >&2; cat "$log"; exit 1; }
    pids+=("$p")
  done
  case $sig in
    kill) kill -KILL "${pids[@]}" ;;
    stop) kill -STOP "${pids[@]}"; stopped+=("${pids[@]}") ;;
    cont) kill -CONT "${pids[@]}" ;;
  esac
  echo "kill_job: $(date +%s.%N) SIG${sig^^} ${targets} (pids ${pids[*]})"
done
set +e
wait "$job"
rc=$?
set -e
trap - EXIT
for p in "${stopped[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
cat "$log"
if [ "$rc" -ne "${EXPECT_RC:-0}" ]; then
  echo "kill_job: ride run exited $rc, expected ${EXPECT_RC:-0}" >&2
  exit 1
fi
rest=${EXPECT_OUTPUT:-}
while [ -n "$rest" ]; do
  want=${rest%% && *}
  if [ "$want" = "$rest" ]; then rest=""; else rest=${rest#* && }; fi
  grep -Eq -- "$want" "$log" || { echo "kill_job: output does not match '$want'" >&2; exit 1; }
done
if [ "${EXPECT_RC:-0}" -ne 0 ] && [ "$have_verify" = 0 ]; then exit 0; fi
"$verify" "$dir/summary.json" "$dir/results.h5" "$np" "${verify_args[@]}"
