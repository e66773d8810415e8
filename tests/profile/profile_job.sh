#!/usr/bin/env bash
# ride profile end to end: three real jobs at 5, 10 and 20 fps, then the requirements row; a
# second task below the same header; and a profile on real (looped) video frames.
# usage: profile_job.sh RIDE DIR
set -euo pipefail
ride=$1 dir=$2
rm -rf "$dir" && mkdir -p "$dir"
"$ride" profile --task stddev --width 320 --height 240 --streams 2 --fps 5,10,20 --duration-s 2 \
  --out "$dir/requirements.csv" --work "$dir/runs" | tee "$dir/out.log"
# A second task appends below the same header.
"$ride" profile --task noop --program ia_like --width 320 --height 240 --streams 2 --fps 5,20 \
  --duration-s 2 --out "$dir/requirements.csv" --work "$dir/runs2" >/dev/null
# On real frames: a short 200x150 video, looped so each rate runs its whole duration.
ffmpeg -hide_banner -loglevel error -nostdin -y -f lavfi -i testsrc2=size=200x150:rate=10 -frames:v 10 \
  -c:v mjpeg "$dir/clip.avi"
"$ride" profile --task stddev --program stddev_video --inputs "$dir/clip.avi,$dir/clip.avi" --fps 5,15 \
  --duration-s 2 --out "$dir/requirements.csv" --work "$dir/runs3" | tee "$dir/out3.log"
grep -q "on the inputs" "$dir/out3.log"
cat "$dir/requirements.csv"
/usr/bin/python3 - "$dir/requirements.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["program"] for r in rows] == ["stddev", "ia_like", "stddev_video"], rows
for r in rows[:2]:
    assert r["width"] == "320" and r["height"] == "240", r
assert rows[2]["width"] == "200" and rows[2]["height"] == "150", rows[2]   # the video's own size
for r in rows:
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
