#!/usr/bin/env bash
# Dynamic against static allocation (#11, RIDE Sec. 3.2), one batch job run both ways with one
# worker slowed faults.slow_factor times: both runs are verified frame by frame; the dynamic
# one must finish MIN_RATIO times sooner (the ratio is printed), and no worker may sit idle
# while a partition waits for longer than the allocation's reaction (MAX_IDLE_PER_MOVE_S per
# partition it was handed, from the summary's allocation.idle_while_work_waits_s).
# usage: allocation_compare.sh RIDE VERIFY NP WORKDIR [ride run options...]
#   MIN_RATIO (default 1.5), MAX_IDLE_PER_MOVE_S (default 0.5)
set -euo pipefail
ride=$1 verify=$2 np=$3 dir=$4
shift 4
run_job=$(dirname "$0")/run_job.sh
for alloc in static dynamic; do
  "$run_job" "$ride" "$verify" "$np" "$dir/$alloc" --job.mode=batch --topic.allocation=$alloc "$@" --verify
done
/usr/bin/python3 - "$dir" "${MIN_RATIO:-1.5}" "${MAX_IDLE_PER_MOVE_S:-0.5}" <<'PY'
import json, sys
d, min_ratio, max_idle = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
s = {a: json.load(open(f"{d}/{a}/summary.json")) for a in ("static", "dynamic")}
ratio = s["static"]["processing_s"] / s["dynamic"]["processing_s"]
print(f"allocation_compare: static {s['static']['processing_s']:.3f} s, dynamic "
      f"{s['dynamic']['processing_s']:.3f} s: dynamic is {ratio:.2f}x sooner (need >= {min_ratio})")
alloc = s["dynamic"]["allocation"]
assert alloc["mode"] == "dynamic" and alloc["moves"] > 0, alloc
moves_to = {}
for e in s["dynamic"]["scaling"]:
    assert e["action"] == "move" and e["reason"], e
    moves_to[e["worker"]] = moves_to.get(e["worker"], 0) + 1
for rank, idle in alloc["idle_while_work_waits_s"].items():
    allowed = max_idle * (moves_to.get(int(rank), 0) + 1)
    print(f"allocation_compare: rank {rank} idle {idle:.3f} s while work waited "
          f"({moves_to.get(int(rank), 0)} partitions handed to it; allowed {allowed:.2f} s)")
    assert idle <= allowed, f"rank {rank} idle {idle:.3f} s while work waited"
assert s["static"]["allocation"]["moves"] == 0 and not s["static"]["scaling"], s["static"]["allocation"]
assert ratio >= min_ratio, f"dynamic allocation only {ratio:.2f}x sooner than static"
PY
