#!/usr/bin/env bash
# Measures CAM²'s five programs on this machine with `ride profile` (real jobs at several frame
# rates, CPU = a*fps + b fit) at the two resolutions of CAM²'s scenarios, writes
# results/cam2_requirements_measured.csv, and plans Scenario 3 (Table 12) with it.
#   bench/plan/profile_cam2.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
ride=$build/ride
out=$root/results/cam2_requirements_measured.csv
work=$(mktemp -d /tmp/ride-cam2-profile.XXXXXX)
rm -f "$out"
# Frame rates per program: around CAM²'s scenario rates, within what 2 cores keep up with.
declare -A rates=([ia]=1,2,4 [me]=0.5,1,2 [mod]=0.5,1,2 [ft]=2,5,10 [hd]=0.2,0.5,1)
for res in 640x480 1280x720; do
  w=${res%x*} h=${res#*x}
  for prog in ia me mod ft hd; do
    echo "== $prog $res"
    "$ride" profile --task "$prog" --program "${prog^^}" --width "$w" --height "$h" --streams 2 \
      --fps "${rates[$prog]}" --duration-s 6 --out "$out" --work "$work/$prog-$res"
  done
done
echo "== requirements measured here"
cat "$out"
echo "== Scenario 3 (Table 12) planned with them"
"$ride" plan --requirements "$out" --scenario "$root/bench/plan/scenario_table12.csv" \
  --strategy st5 --solver hybrid --json "$root/results/cam2_plan_measured.json" --quiet
