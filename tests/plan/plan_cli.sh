#!/usr/bin/env bash
# `ride plan` as users call it: the 5,310-camera Scenario 3 (CAM² Table 12) with the default
# catalog, JSON out, well under a second; its sbatch script, dry-run; and a scenario row
# without requirements is an error naming the file and line.
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
# The sbatch is a runnable job: one allocation of every instance (a count constraint per type),
# one step per stream class. A dry run of it with one host name per plan node shows each step's
# mpirun: ranks on the hosts of the nodes the plan put the class on, every camera in some step.
sb=$dir/plan.sbatch
grep -q '^#SBATCH --job-name=ride-plan$' "$sb"
grep -q '^#SBATCH --exclusive$' "$sb"
/usr/bin/python3 - "$dir/plan.json" "$sb" <<'PY'
import json, re, sys
p = json.load(open(sys.argv[1]))
sb = open(sys.argv[2]).read()
n = sum(i["count"] for i in p["instances"])
assert f"#SBATCH --nodes={n}\n" in sb, f"no --nodes={n}"
want = "&".join(f"{i['type']}*{i['count']}" for i in p["instances"])
m = re.search(r"^#SBATCH --constraint=\[(.*)\]$", sb, re.M)
assert m, "no --constraint for a plan of several types"
assert sorted(m.group(1).split("&")) == sorted(want.split("&")), (m.group(1), want)
PY
nodes=$(grep -c '^# node [0-9]' "$sb")
hosts=$(seq -s ' ' -f 'h%g' 0 $((nodes - 1)))
RIDE_PLAN_DRY_RUN=1 RIDE_PLAN_HOSTS="$hosts" bash "$sb" --ingest.duration_s=60 >"$dir/dry.txt"
/usr/bin/python3 - "$dir/plan.json" "$dir/dry.txt" <<'PY'
import json, re, sys
p = json.load(open(sys.argv[1]))
dry = open(sys.argv[2]).read()
cmds = [l for l in dry.splitlines() if "ride-mpirun" in l]
assert len(cmds) == len(p["classes"]), (len(cmds), len(p["classes"]))
# which plan nodes hold each class, from the JSON placement
nodes_of = {}
for k, inst in enumerate(p["placement"]):
    for st in inst["streams"]:
        key = (st["program"], st["width"], st["height"], st["fps"])
        nodes_of.setdefault(key, []).append((k, st["count"]))
cams = 0
for c in cmds:
    arg = lambda k: re.search(r"--" + re.escape(k) + r"=(\S+)", c).group(1)
    key = (arg("task.name").upper(), int(arg("ingest.width")), int(arg("ingest.height")), float(arg("ingest.fps")))
    hosts = re.search(r"--host (\S+)", c).group(1).replace("\\,", ",")
    used = [h.split(":")[0] for h in hosts.split(",")]
    assert used == [f"h{k}" for k, _ in nodes_of[key]], (key, used, nodes_of[key])
    slots = sum(int(h.split(":")[1]) for h in hosts.split(","))
    np_ = int(re.search(r"-np (\d+)", c).group(1))
    w, b, i, s = (int(arg(f"job.{r}")) for r in ("workers", "brokers", "ingest", "spares"))
    assert np_ == slots == 1 + b + i + w + s, (np_, slots, w, b, i, s)
    assert int(arg("ingest.streams")) == sum(n for _, n in nodes_of[key])
    assert arg("ingest.duration_s") == "60"
    cams += int(arg("ingest.streams"))
assert cams == 5310, cams
print(f"plan_cli: sbatch dry run: {len(cmds)} steps, {cams} cameras on {len(p['placement'])} nodes")
PY
# keys the plan sets per step are refused with the reason, before anything starts
if bash "$sb" --ingest.fps=3 2>"$dir/err.txt"; then
  echo "plan_cli: the plan's job accepted --ingest.fps" >&2; exit 1
fi
grep -q "ingest.fps is set by the plan" "$dir/err.txt" || { cat "$dir/err.txt"; exit 1; }
printf 'program,fps,cameras,width,height\nXX,1,10,640,480\n' > "$dir/bad.csv"
if "$ride" plan --requirements "$src/requirements_cam2_derived.csv" --scenario "$dir/bad.csv" \
     2> "$dir/err.txt"; then
  echo "plan_cli: an unknown program was accepted" >&2; exit 1
fi
grep -q "bad.csv:2" "$dir/err.txt" || { echo "plan_cli: error does not name bad.csv:2:"; cat "$dir/err.txt"; exit 1; }
echo "plan_cli: $(cat "$dir/err.txt")"
