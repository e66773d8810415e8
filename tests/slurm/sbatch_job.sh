#!/usr/bin/env bash
# Submits slurm/ride.sbatch (or ride-gpu.sbatch) to a real, private single-node Slurm started by
# start_slurm.sh, waits for the job by polling squeue, and checks what Slurm recorded.
#
# usage: sbatch_job.sh CASE RIDE_BINARY REPO_ROOT
#   ok          ride.sbatch with its #SBATCH defaults, RIDE_ROOT set, submitted from a temp dir:
#               output file ride-<id>.out has the role table and "lost 0", the summary says
#               status ok and processed == ingested, Slurm records COMPLETED and ExitCode=0:0
#   bad_key     ride.sbatch --ingest.fsp=1 submitted from the repository root (the script finds
#               the checkout through SLURM_SUBMIT_DIR): FAILED, ExitCode=2:0, the key named
#   gpu_script  ride-gpu.sbatch submitted from a temp dir without RIDE_ROOT (the checkout is
#               found from the path Slurm recorded): its GPU request is scheduled (on a fake
#               GPU), worker.device=auto falls back to the CPU path, ExitCode=0:0
#   plan        the script `ride plan --sbatch` writes for two programs on a one-node catalog,
#               submitted as it is, one class on synthetic cameras and one on real inputs (a
#               camera list in RIDE_PLAN_INPUTS): both classes' ride jobs account for every
#               frame (ingested = processed, lost 0), COMPLETED 0:0
#   requeue_resume  ride.sbatch (--requeue) in batch mode, its master SIGKILLed mid-processing:
#               FAILED; `scontrol requeue`: the second attempt resumes from the journal and
#               COMPLETES, every frame exactly once, some kept from the first attempt (#14)
#
# The node has fewer CPUs than the 6 tasks, so jobs are submitted with --overcommit (otherwise
# Slurm leaves them pending, Reason=PartitionConfig) and RIDE_OVERSUBSCRIBE=1.
# Every wait is bounded; the daemons are stopped and the temp dir removed on any exit.
set -uo pipefail
case_name=$1 ride=$2 root=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/start_slurm.sh
. "$here/start_slurm.sh"
slurm_require
[ -x "$ride" ] || { echo "sbatch_job: no ride binary at $ride" >&2; exit 1; }
ride=$(realpath "$ride") root=$(realpath "$root")
[ -x "$root/slurm/ride.sbatch" ] || { echo "sbatch_job: no slurm/ride.sbatch in $root" >&2; exit 1; }

fail() { echo "sbatch_job[$case_name]: FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ride-slurm.XXXXXX")
cleanup() {
  local rc=$? src=0
  trap - EXIT INT TERM
  slurm_stop || src=$?
  rm -rf "$tmp"
  if [ "$src" -ne 0 ]; then
    echo "sbatch_job[$case_name]: stopping Slurm needed force (see above)" >&2
    [ "$rc" -eq 0 ] && rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t_start=$SECONDS
slurm_start "$tmp" || fail "Slurm did not start"
export RIDE=$ride

# submit DIR [env assignments...] -- [sbatch options and script and its arguments]
# Runs sbatch in DIR (the job's submit dir), prints the job id.
submit() {
  local dir=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  (cd "$dir" && env -u RIDE_ROOT "${envs[@]}" RIDE_OVERSUBSCRIBE=1 sbatch --parsable --overcommit "$@")
}

# wait_gone ID LIMIT_S: poll squeue until the job has left the queue (it is finished).
wait_gone() {
  local id=$1 limit=$2 t0=$SECONDS out
  while [ $((SECONDS - t0)) -lt "$limit" ]; do
    if out=$(squeue -h -j "$id" -o %T 2>&1); then
      [ -z "$out" ] && return 0
    fi
    sleep 0.2
  done
  echo "sbatch_job: job $id still queued after ${limit} s (state: $out)" >&2
  scontrol show job "$id" >&2
  return 1
}

# job_field ID KEY: one field of `scontrol show job` (e.g. JobState, ExitCode, NumTasks).
job_field() {
  scontrol show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# check_summary FILE [KEY...] <<'EOF' (Python checks) EOF: loads the ride summary FILE as s (its
# frames as f), prints its status, the top-level KEYs and the frames, asserts status ok, then runs
# the checks read from stdin; the case fails when one does not hold.
check_summary() {
  python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
f = s["frames"]
status, keys = s["status"], "".join(f", {k} {s[k]}" for k in sys.argv[2:])
print(f"summary: status {status}{keys}, frames {f}")
assert s["status"] == "ok", s["status"]
exec(sys.stdin.read())
' "$@" || fail "summary check failed"
}

# run_case NAME SUBMIT_DIR OUT_DIR ENV... -- SBATCH_ARGS...: submit, wait, show the output.
# Sets: id, out (the job's output file), state, exit_code.
run_case() {
  local sub=$1 outdir=$2; shift 2
  local t0=$SECONDS
  id=$(submit "$sub" "$@") || fail "sbatch refused the job"
  [[ "$id" =~ ^[0-9]+$ ]] || fail "sbatch printed '$id', not a job id"
  wait_gone "$id" 40 || fail "job $id did not finish"
  out=$outdir/${out_prefix:-ride}-$id.out
  state=$(job_field "$id" JobState)
  exit_code=$(job_field "$id" ExitCode)
  echo "----- job $id: JobState=$state ExitCode=$exit_code, $((SECONDS - t0)) s; $out:"
  cat "$out" 2>/dev/null || fail "no output file $out (the #SBATCH --output default)"
  echo "-----"
}

case "$case_name" in
  ok)
    mkdir -p "$tmp/ok"
    run_case "$tmp/ok" "$tmp/ok" RIDE_ROOT="$root" -- "$root/slurm/ride.sbatch" \
      --ingest.duration_s=2 --ingest.width=64 --ingest.height=48 \
      --summary "$tmp/ok/s.json" --output.path="$tmp/ok/results.h5"
    [ "$(job_field "$id" JobName)" = ride ] || fail "job name is not 'ride'"
    [ "$(job_field "$id" NumTasks)" = 6 ] || fail "NumTasks is not the default 6"
    grep -q "rank  role" "$out" || fail "no role table in $out"
    grep -q "\[ride\] 6 ranks:" "$out" || fail "ride did not get 6 ranks"
    grep -q "lost 0," "$out" || fail "no 'lost 0' in $out"
    grep -q "checkout $root," "$out" || fail "the script did not use RIDE_ROOT=$root"
    check_summary "$tmp/ok/s.json" <<'EOF'
assert f["ingested"] > 0 and f["processed"] == f["ingested"], f
assert f["lost"] == 0 and f["duplicates"] == 0, f
EOF
    [ "$state" = COMPLETED ] || fail "JobState=$state, expected COMPLETED"
    [ "$exit_code" = 0:0 ] || fail "ExitCode=$exit_code, expected 0:0"
    ;;
  bad_key)
    mkdir -p "$tmp/bad"
    # Submitted from the repository root without RIDE_ROOT; --chdir keeps the output file out
    # of the checkout (SLURM_SUBMIT_DIR stays the directory sbatch ran in).
    run_case "$root" "$tmp/bad" -- --chdir="$tmp/bad" "$root/slurm/ride.sbatch" --ingest.fsp=1
    grep -q "unknown key 'ingest.fsp'" "$out" || fail "the output does not name the key ingest.fsp"
    grep -q "checkout $root," "$out" || fail "the script did not find the checkout from SLURM_SUBMIT_DIR"
    [ "$state" = FAILED ] || fail "JobState=$state, expected FAILED"
    [ "$exit_code" = 2:0 ] || fail "ExitCode=$exit_code, expected 2:0 (configuration error)"
    ;;
  gpu_script)
    mkdir -p "$tmp/gpu"
    run_case "$tmp/gpu" "$tmp/gpu" -- "$root/slurm/ride-gpu.sbatch" \
      --ingest.duration_s=1 --ingest.width=64 --ingest.height=48 --output.path="$tmp/gpu/results.h5"
    scontrol show job "$id" | grep -q "TresPerNode=gres:gpu:1" ||
      fail "the job did not request one GPU per node (TresPerNode)"
    grep -q "checkout $root," "$out" || fail "the script did not find the checkout from Slurm's Command="
    grep -q -- "--worker.device=auto" "$out" || fail "the script did not select worker.device=auto"
    grep -q "lost 0," "$out" || fail "no 'lost 0' in $out"
    [ "$state" = COMPLETED ] || fail "JobState=$state, expected COMPLETED"
    [ "$exit_code" = 0:0 ] || fail "ExitCode=$exit_code, expected 0:0"
    ;;
  plan)
    # `ride plan --sbatch` on a one-node catalog (this node) for two programs, then the script it
    # wrote is submitted as it is: one ride job per stream class, both must account for every frame.
    d=$tmp/plan
    mkdir -p "$d"
    printf 'name,vcpus,mem_gb,gpus,hourly_usd,max_count\nlocal,2,4,0,0.1,0\n' >"$d/catalog.csv"
    printf 'program,width,height,cpu_per_fps,cpu_base,mem_gb\nstddev,96,64,0.02,0.02,0.1\nnoop,64,48,0.01,0.01,0.05\n' >"$d/req.csv"
    printf 'program,fps,cameras,width,height\nstddev,4,6,96,64\nnoop,2,5,64,48\n' >"$d/scenario.csv"
    "$ride" plan --catalog "$d/catalog.csv" --requirements "$d/req.csv" --scenario "$d/scenario.csv" \
      --sbatch "$d/plan.sbatch" --json "$d/plan.json" || fail "ride plan failed"
    grep -q '^#SBATCH --nodes=1$' "$d/plan.sbatch" || fail "the plan's script does not ask for 1 node"
    grep -q '^#SBATCH --ntasks-per-node=2$' "$d/plan.sbatch" || fail "no --ntasks-per-node=2"
    # the noop class reads real inputs: five video files (4 frames each) named in a camera list
    mkdir -p "$d/cams"
    ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc=size=64x48:rate=10 -frames:v 4 \
      -c:v mjpeg "$d/cams/clip.avi" || fail "ffmpeg could not make a test video"
    for k in 1 2 3 4 5; do echo "clip.avi camera-$k"; done >"$d/cams/noop@64x48@2fps.txt"
    out_prefix=ride-plan run_case "$d" "$d" RIDE_PLAN_INPUTS="$d/cams" -- "$d/plan.sbatch" --ingest.duration_s=2
    [ "$(job_field "$id" JobName)" = ride-plan ] || fail "job name is not 'ride-plan'"
    grep -q "ride-plan-run: done, exit 0" "$out" || fail "the plan's steps did not all exit 0"
    python3 - "$d" "$id" <<'EOF2' || fail "summary check failed"
import json, sys
d, job = sys.argv[1], sys.argv[2]
want = {"stddev": 6 * 4 * 2, "noop": 5 * 4}   # 6 synthetic cameras x 4 fps x 2 s; 5 files x 4 frames
for step in (0, 1):
    s = json.load(open(f"{d}/ride-plan-{job}-{step}.json"))
    f = s["frames"]
    print(f"step {step}: task {s['task']}, status {s['status']}, frames {f}")
    assert s["status"] == "ok", s["status"]
    assert f["ingested"] > 0 and f["processed"] == f["ingested"], f
    assert f["lost"] == 0 and f["duplicates"] == 0, f
    if s["task"] == "noop":
        names = [i["name"] for i in s["inputs"]]
        assert names == [f"camera-{k}" for k in range(1, 6)], names
        assert all(i["state"] == "ended" and i["frames_published"] == 4 for i in s["inputs"]), s["inputs"]
    assert f["ingested"] == want.pop(s["task"]), (s["task"], f["ingested"])
assert not want, f"no step ran {want}"
EOF2
    [ "$state" = COMPLETED ] || fail "JobState=$state, expected COMPLETED"
    [ "$exit_code" = 0:0 ] || fail "ExitCode=$exit_code, expected 0:0"
    ;;
  requeue_resume)
    # Master loss -> requeue -> resume (#14): a batch job submitted with the script's --requeue;
    # its master rank is SIGKILLed mid-processing (worker.batch_kb=0: batches of 8 small frames,
    # not a megabyte's worth, so that processing is still under way), the attempt fails (every rank exits), and
    # `scontrol requeue` runs it again: the second attempt (SLURM_RESTART_COUNT = 1) resumes from
    # the journal (--job.resume=auto), keeps what the first stored and processes the rest.
    d=$tmp/requeue
    mkdir -p "$d"
    id=$(submit "$d" RIDE_ROOT="$root" -- "$root/slurm/ride.sbatch" --job.mode=batch --ingest.streams=3 \
      --ingest.frames=300 --ingest.width=64 --ingest.height=48 --faults.task_ms=8 --worker.batch_kb=0 --status.interval_s=0.2 \
      --summary "$d/s.json" --output.path="$d/results.h5") || fail "sbatch refused the job"
    out=$d/ride-$id.out
    t0=$SECONDS
    until grep -Eq '\[ride\] t=.* processed +[1-9]' "$out" 2>/dev/null; do
      [ $((SECONDS - t0)) -lt 40 ] || { cat "$out"; fail "the first attempt never processed a frame"; }
      sleep 0.05
    done
    sleep 0.5
    master=$("$root/tests/integration/rank_pids.py" "$d/s.ranks.json" --role master --wait 10) ||
      { cat "$out"; fail "no master pid in the ranks file $d/s.ranks.json"; }
    kill -KILL "$master" || fail "could not SIGKILL the master (pid $master)"
    echo "sbatch_job: SIGKILLed the master (pid $master) of job $id"
    wait_gone "$id" 40 || fail "the first attempt did not end after its master died"
    state=$(job_field "$id" JobState)
    echo "sbatch_job: first attempt ended $state $(job_field "$id" ExitCode)"
    [ "$state" = FAILED ] || fail "JobState=$state after the master died, expected FAILED"
    [ -s "$d/results.h5.journal" ] || fail "the first attempt left no journal"
    # requeue_now: `scontrol requeue`, then a start now (Slurm holds a requeued job back, BeginTime
    # ~2 min; the operator, here the test, lets it start at once). First slurmd must be done with
    # the ended attempt (the node idle again) and the clock one second past that: slurmd revokes
    # an ended job's credential, and a launch whose credential was made in the same second as the
    # revocation is refused ("Job credential revoked", "Job 1 already killed, do not launch batch
    # job" in the daemons' logs): the requeued attempt then fails before it starts, without a line
    # of output (the suite's slow and flaky slurm.requeue_resume).
    requeue_now() {
      local t=$SECONDS s
      until [ "$(sinfo -h -n localhost -o %T 2>/dev/null)" = idle ]; do
        [ $((SECONDS - t)) -lt 20 ] || { sinfo -h -n localhost -o %T >&2; fail "the node did not become idle after job $id ended"; }
        sleep 0.1
      done
      s=$(date +%s)
      while [ "$(date +%s)" -le "$s" ]; do sleep 0.05; done
      scontrol requeue "$id" || fail "scontrol requeue $id refused"
      scontrol update JobId="$id" StartTime=now || fail "scontrol update StartTime=now refused"
    }
    requeue_now
    t0=$SECONDS
    # Done when a later attempt has run to its end: the attempt Slurm counts now (Restarts + 1)
    # has its first line in the output, and the job is in an end state again. Every `scontrol
    # requeue` counts in Restarts, whether its attempt started or not: an attempt that ends without
    # its line never ran (a launch still refused), and the job is requeued again. Each poll reads
    # the job once.
    while :; do
      [ $((SECONDS - t0)) -lt 90 ] || { scontrol show job "$id"; cat "$out"; fail "the requeued job did not run to its end"; }
      info=$(scontrol show job "$id" | tr ' ' '\n')
      n=$(sed -n 's/^Restarts=//p' <<<"$info" | head -n 1)
      jstate=$(sed -n 's/^JobState=//p' <<<"$info" | head -n 1)
      started=false
      [ -n "$n" ] && [ "$n" -ge 1 ] && grep -Eq "attempt $((n + 1))(,|\$)" "$out" 2>/dev/null && started=true
      case "$jstate" in
        COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)
          $started && break
          echo "sbatch_job: t+$((SECONDS - t0)) s: attempt $((n + 1)) ended $jstate before it started; requeued again" >&2
          requeue_now ;;
      esac
      sleep 0.2
    done
    state=$(job_field "$id" JobState)
    exit_code=$(job_field "$id" ExitCode)
    echo "----- job $id after requeue: JobState=$state ExitCode=$exit_code; $out:"
    cat "$out"
    echo "-----"
    grep -Eq "attempt ([2-9]|[1-9][0-9]+), --job.resume=auto" "$out" || fail "the requeued attempt did not add --job.resume=auto"
    grep -q "job.resume = auto: resuming from $d/results.h5.journal" "$out" || fail "ride did not resume"
    check_summary "$d/s.json" resumed <<'EOF'
assert f["ingested"] == 900 and f["processed"] == 900, f
assert f["lost"] == 0 and f["duplicates"] == 0 and f["result_rows"] == 900, f
assert 0 < s["resumed"] < 900, s["resumed"]
assert f["committed"] == 900 - s["resumed"], f
EOF
    [ "$state" = COMPLETED ] || fail "JobState=$state, expected COMPLETED"
    [ "$exit_code" = 0:0 ] || fail "ExitCode=$exit_code, expected 0:0"
    ;;
  *) fail "unknown case '$case_name' (ok | bad_key | gpu_script | plan | requeue_resume)" ;;
esac
echo "sbatch_job[$case_name]: ok in $((SECONDS - t_start)) s"
