#!/usr/bin/env bash
# `ride plan` as users call it: the 5,310-camera Scenario 3 (CAM² Table 12) with the default
# catalog, JSON out, well under a second; and a scenario row without requirements is an error
# naming the file and line.
set -euo pipefail
ride=$1 dir=$2 src=$3
rm -rf "$dir" && mkdir -p "$dir"
start=$(date +%s.%N)
"$ride" plan --requirements "$src/requirements_cam2_derived.csv" --scenario "$src/scenario_table12.csv" \
  --strategy st5 --solver hybrid --json "$dir/plan.json" --sbatch "$dir/plan.sbatch" --quiet
end=$(date +%s.%N)
/usr/bin/python3 - "$dir/plan.json" "$start" "$end" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
secs = float(sys.argv[3]) - float(sys.argv[2])
assert p["hourly_cost"] > 0, p["hourly_cost"]
assert sum(i["count"] for i in p["instances"]) > 0
cams = sum(c["cameras"] for c in p["classes"])
assert cams == 5310, cams
assert secs < 1.0, f"ride plan took {secs:.3f} s (process start included)"
print(f"plan_cli: 5,310 cameras -> ${p['hourly_cost']:.3f}/h on "
      + ", ".join(f"{i['count']} {i['type']}" for i in p["instances"]) + f" in {secs:.3f} s")
PY
grep -q '^#SBATCH' "$dir/plan.sbatch"
printf 'program,fps,cameras,width,height\nXX,1,10,640,480\n' > "$dir/bad.csv"
if "$ride" plan --requirements "$src/requirements_cam2_derived.csv" --scenario "$dir/bad.csv" \
     2> "$dir/err.txt"; then
  echo "plan_cli: an unknown program was accepted" >&2; exit 1
fi
grep -q "bad.csv:2" "$dir/err.txt" || { echo "plan_cli: error does not name bad.csv:2:"; cat "$dir/err.txt"; exit 1; }
echo "plan_cli: $(cat "$dir/err.txt")"
