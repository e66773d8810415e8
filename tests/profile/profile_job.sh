#!/usr/bin/env bash
# ride profile end to end: three real jobs at 5, 10 and 20 fps, then the requirements row.
# usage: profile_job.sh RIDE DIR
set -euo pipefail
ride=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
"$ride" profile --task stddev --width 320 --height 240 --streams 2 --fps 5,10,20 --duration-s 2 \
  --out "$dir/requirements.csv" --work "$dir/runs" | tee "$dir/out.log"
# A second task appends below the same header.
"$ride" profile --task noop --program ia_like --width 320 --height 240 --streams 2 --fps 5,20 \
  --duration-s 2 --out "$dir/requirements.csv" --work "$dir/runs2" >/dev/null
cat "$dir/requirements.csv"
/usr/bin/python3 - "$dir/requirements.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["program"] for r in rows] == ["stddev", "ia_like"], rows
for r in rows:
    assert r["width"] == "320" and r["height"] == "240", r
    a, b, m = float(r["cpu_per_fps"]), float(r["cpu_base"]), float(r["mem_gb"])
    assert a >= 0 and b >= 0 and m >= 0, r
# std-dev of 320x240 costs real CPU per frame: the slope must be positive and, at 20 fps, the
# modelled need below one core per stream on any machine that kept up.
s = rows[0]
a, b = float(s["cpu_per_fps"]), float(s["cpu_base"])
assert a > 0, s
assert a * 20 + b < 1.0, s
print("profile_job: requirements rows check out")
PY
