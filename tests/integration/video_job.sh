#!/usr/bin/env bash
# MPI cases with real inputs (ingest.source = video): video files made here with ffmpeg, and
# live MJPEG-over-HTTP cameras served by ffmpeg on 127.0.0.1; then run_job.sh runs the job and
# verify_run decodes every file again and checks each result against its decoded frame.
#
# usage: video_job.sh CASE RIDE VERIFY WORKDIR
#   files_batch   two files (MJPEG AVI 160x120 x 30, MPEG-4 MP4 96x72 x 20) and an image folder
#                 (two photographs, a truncated JPEG that is skipped and reported), batch mode,
#                 std-dev with output images: every pixel of every frame checked against a naive
#                 filter
#   files_stream  the same files in stream mode at 40 fps, keyed, BGR frames through IA
#   loop          a file and an image folder looped (ingest.loop) at 30 fps for 2 s
#   live          a camera that drops after ~1.5 s and comes back (a second server on the same
#                 port), a camera nobody serves, and a file, sampled at 5 fps for 4 s: the
#                 unreachable one is retried and reported, the dropped one reconnects, the
#                 others go on, nothing lost, every rank exits
#   ingest_failover  two ingest ranks read three files in stream mode at 20 fps; the first is
#                 SIGKILLed mid-run (kill_job.sh): its files move to the other, which passes over
#                 the frames already published and goes on; every frame exactly once (#14)
#   resume_files  two files, an image folder and an HDF5 replay in a batch job whose master is SIGKILLed
#                 mid-processing, then resumed (--job.resume=true): every frame exactly once (#14)
#   snapshot_cameras  1,000 JPEG snapshot cameras from a camera list on one ingest rank for 20 s
#                 (#15): every frame is one its camera served, eta >= 0.95, threads bounded, two
#                 cameras that die and come back, one serving corrupt JPEGs
#   mjpeg_cameras  100 MJPEG cameras through the camera hub, one answering 503 for 3 s, then the
#                 whole camera server SIGKILLed and restarted: every camera reconnects, every frame
#                 is one its camera sent, threads bounded (#15)
#   jpeg_encoding  ingest.encoding = jpeg: image folders of JPEGs raw and jpeg with spill, results
#                 equal and far fewer bytes per frame; 100 snapshot cameras with jpeg (#15)
#   rtsp_transports  RTSP/H.264 cameras of odd and even sizes read over TCP, then UDP, through the
#                 stream pool; then six cameras on one pool decoder, threads bounded (#15)
#   cold_rtsp     three RTSP cameras (GStreamer's RTSP server on 127.0.0.1) with the video
#                 module's libraries evicted from the page cache first, default timeouts, twice:
#                 no rank declared dead, every camera publishes (a cold H.264 decoder on a busy
#                 machine may miss most of the first seconds' ticks), nothing lost
set -euo pipefail
case_name=$1 ride=$2 verify=$3 dir=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v ffmpeg >/dev/null || { echo "video_job: ffmpeg is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
rm -rf "$dir" && mkdir -p "$dir"
media=$dir/media
mkdir -p "$media"
ff() { ffmpeg -hide_banner -loglevel error -nostdin -y "$@"; }
ff -f lavfi -i testsrc=size=160x120:rate=10 -frames:v 30 -c:v mjpeg -q:v 3 "$media/a.avi"
ff -f lavfi -i testsrc2=size=96x72:rate=10 -frames:v 20 -c:v mpeg4 "$media/b.mp4"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$dir"/*.pid; do if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi; done  # started by subshells
  wait 2>/dev/null || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waiting for a server to be ready, never for a time that is usually enough.
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"; }  # PID runs (not a zombie)
# PORT PID: PID has a TCP socket listening on PORT, read from /proc/net/tcp{,6} and matched by inode
# with PID's own sockets. Nothing connects: ffmpeg's -listen 1 serves one client, a probe would be it.
listens() {
  local inodes
  inodes=$(readlink /proc/"$2"/fd/* 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p') || true
  [ -n "$inodes" ] || return 1
  awk -v port="$(printf ':%04X' "$1")" -v inodes="$inodes" '
    BEGIN { n = split(inodes, a, "\n"); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
    FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == port && ($10 in mine) { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6
}
wait_listen() {  # PORT PID: until PID listens on PORT (polled every 10 ms, up to 30 s); fails if it ends first
  local _
  for _ in $(seq 3000); do
    listens "$1" "$2" && return 0
    alive "$2" || return 1
    sleep 0.01
  done
  return 1
}
wait_port_file() {  # FILE PID WHAT: until server PID has written its port to FILE (it does once it listens)
  local _
  for _ in $(seq 600); do
    [ -s "$1" ] && return 0
    alive "$2" || break
    sleep 0.05
  done
  [ -s "$1" ] && return 0
  echo "video_job: $3 did not start (it $(alive "$2" && echo "wrote no port within 30 s" || echo ended))" >&2
  return 1
}

case "$case_name" in
  files_batch)
    # and an image folder: two photographs, a truncated JPEG (skipped, reported) and a text file
    skdata=/usr/lib/python3/dist-packages/skimage/data
    mkdir -p "$media/photos"
    if [ -f "$skdata/camera.png" ]; then
      cp "$skdata/camera.png" "$media/photos/1_camera.png"
      cp "$skdata/coins.png" "$media/photos/2_coins.png"
      cp "$skdata/truncated.jpg" "$media/photos/3_truncated.jpg"
    else  # python3-skimage missing: frames made here instead
      ff -f lavfi -i testsrc=size=64x48 -frames:v 1 "$media/photos/1.png"
      ff -f lavfi -i testsrc2=size=48x36 -frames:v 1 "$media/photos/2.png"
      printf 'not an image' >"$media/photos/3_truncated.jpg"
    fi
    echo "notes" >"$media/photos/readme.txt"
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --job.mode=batch --ingest.source=video \
      --ingest.inputs="$media/a.avi,$media/b.mp4,$media/photos" --output.images=true --params.window=3
    grep -q "input 2 (.*photos): ended, 2 frames published of 2 read, .*1 image file(s) that did not decode skipped" \
      "$dir/run/out.log" || { echo "video_job: the image folder's line is wrong" >&2; exit 1; }
    ;;
  files_stream)
    printf '# two files, named\n%s  first file\n\n%s second  # comment\n' a.avi b.mp4 >"$media/inputs.txt"
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --ingest.source=video \
      --ingest.inputs="@$media/inputs.txt" --ingest.fps=40 --ingest.partitioning=key \
      --ingest.color=bgr --task.name=ia
    grep -q "input 0 (first file): ended, 30 frames published of 30 read" "$dir/run/out.log" ||
      { echo "video_job: no line for input 0 by its name" >&2; exit 1; }
    ;;
  ingest_failover)
    ff -f lavfi -i testsrc=size=160x120:rate=10 -frames:v 100 -c:v mjpeg -q:v 3 "$media/c.avi"
    ff -f lavfi -i testsrc2=size=96x72:rate=10 -frames:v 90 -c:v mpeg4 "$media/d.mp4"
    ff -f lavfi -i testsrc=size=128x96:rate=10 -frames:v 80 -c:v mjpeg -q:v 3 "$media/e.avi"
    # streams 0 and 2 are read by ingest rank 2 (ingest0), stream 1 by rank 3
    EXPECT_OUTPUT="rank 2 \\(ingest\\) silent.*stream 0 -> ingest rank 3 from sequence && takes over stream 2 \\(" \
      "$here/kill_job.sh" "$ride" "$verify" 8 "$dir/run" "1.5:kill:ingest0" --ingest.source=video \
      --ingest.inputs="$media/c.avi,$media/d.mp4,$media/e.avi" --ingest.fps=20 --job.ingest=2 \
      --verify --expect-failures 1
    ;;
  resume_files)
    # Master loss -> resume (#14) with real inputs: two files, an image folder and an HDF5 replay;
    # the master is SIGKILLed mid-processing, the same command with --job.resume=true reads the
    # inputs again, passes over the frames the first run finished and processes the rest: every
    # frame exactly once, each checked against its decoded frame.
    ff -f lavfi -i testsrc=size=160x120:rate=10 -frames:v 100 -c:v mjpeg -q:v 3 "$media/c.avi"
    ff -f lavfi -i testsrc2=size=96x72:rate=10 -frames:v 90 -c:v mpeg4 "$media/d.mp4"
    mkdir -p "$media/seq"
    ff -f lavfi -i testsrc=size=80x60:rate=10 -frames:v 40 "$media/seq/%03d.png"
    # and an HDF5 replay: 60 random 8-bit frames (n, h, w)
    /usr/bin/python3 -c 'import h5py, numpy as np, sys
with h5py.File(sys.argv[1], "w") as f: f["frames"] = np.random.default_rng(5).integers(0, 255, (60, 48, 64), dtype=np.uint8)' \
      "$media/replay.h5"
    "$here/resume_job.sh" "$ride" "$verify" 6 "$dir/run" "processing+0.6:kill:master0" --ingest.source=video \
      --ingest.inputs="$media/c.avi,$media/d.mp4,$media/seq,$media/replay.h5#/frames" --job.mode=batch \
      --faults.task_ms=30 --worker.batch_kb=0 --status.interval_s=0.2
    ;;
  snapshot_cameras)
    # Camera scale (#15): 1,000 JPEG snapshot cameras (Python's HTTP server on 127.0.0.1, each
    # showing a distinct image that changes every 2 s) in a camera list at 0.5-1 fps each, on one
    # ingest rank for 20 s. Cameras 3 and 7 answer 503 from 6 s to 10 s and come back; camera 11
    # serves a truncated JPEG every other slot (counted, skipped). verify_run decodes every JPEG
    # the server served and checks that each result is one of its camera's, in slot order; η over
    # the cameras >= 0.95; the ingest rank's threads bounded (the camera hub: one I/O thread and
    # two decoders, not a thread per camera); nothing lost.
    served=$dir/served
    /usr/bin/python3 "$here/snapshot_cameras.py" --port-file "$dir/port" --served "$served" --cameras 1000 \
      --width 96 --height 72 --slot-s 2 --dying 3,7 --die-at 6 --back-at 10 --corrupt 11 &
    pids+=($!)
    wait_port_file "$dir/port" $! "the camera server" || exit 1
    port=$(cat "$dir/port")
    # id,url,fps: fps 0.5, 0.75 or 1 by camera; the ids are the server's camera numbers
    rates=(0.5 0.75 1)
    { echo "id,url,fps"; for i in $(seq 0 999); do echo "$i,http://127.0.0.1:$port/cam/$i.jpg,${rates[i % 3]}"; done; } \
      >"$dir/cameras.csv"
    EXPECT_OUTPUT="stream 3 \\(3, .*HTTP 503.*retrying && cameras: eta" \
      "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --ingest.source=video --ingest.inputs=@"$dir/cameras.csv" \
      --ingest.duration_s=20 --job.spares=0 --ingest.retry_s=0.5 --ingest.retry_max_s=1 \
      --verify --served-jpegs "$served" --min-eta 0.95 --max-ingest-threads 16
    ;;
  jpeg_encoding)
    # ingest.encoding = jpeg (#15): frames that arrive as JPEG travel through the brokers and spill
    # as their JPEG bytes and are decoded on the worker. Two image folders of JPEGs (161x97 with a
    # truncated file that is skipped, and 640x480) in a batch job with std-dev output images, run
    # raw and then jpeg with a broker ring so small that most frames spill (JPEGs of many sizes):
    # both runs verified frame by frame, their results (checksums, scalars, images) equal, and the
    # bytes per frame through the brokers far smaller. Then 100 snapshot cameras (one serving
    # truncated JPEGs, found whole-or-not at ingest) with jpeg for 8 s: every result is a JPEG its
    # camera served, decoded by a worker. And a pipeline forwarding JPEG frames (below).
    mkdir -p "$media/odd" "$media/vga"
    ff -f lavfi -i testsrc=size=161x97:rate=10 -frames:v 40 "$media/odd/%03d.jpg"
    ff -f lavfi -i testsrc2=size=640x480:rate=10 -frames:v 30 -q:v 4 "$media/vga/%03d.jpg"
    head -c 3000 "$media/vga/001.jpg" >"$media/odd/020_truncated.jpg"
    for enc in raw jpeg; do
      "$here/run_job.sh" "$ride" "$verify" 5 "$dir/$enc" --job.mode=batch --ingest.source=video \
        --ingest.inputs="$media/odd,$media/vga" --output.images=true --params.window=3 --ingest.encoding=$enc \
        --broker.ring_mb=0.2
    done
    /usr/bin/python3 - "$dir/raw" "$dir/jpeg" <<'PYEOF2'
import h5py, json, sys
import numpy as np
raw, jpeg = sys.argv[1], sys.argv[2]
def rows(d):
    with h5py.File(d + "/results.h5", "r") as f:
        fr = f["frames"][:]
        images = {}
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset): images[name] = obj[()]
        f["images"].visititems(visit)
    keyed = {(int(r["stream"]), int(r["sequence"])): (int(r["input_checksum"]), float(r["mean"]), float(r["min"]), float(r["max"]))
             for r in fr}
    return keyed, images
a, ai = rows(raw)
b, bi = rows(jpeg)
assert len(a) == 70 and a == b, (len(a), len(b), [k for k in a if a.get(k) != b.get(k)][:5])
assert ai.keys() == bi.keys() and all(np.array_equal(ai[k], bi[k]) for k in ai), "output images differ"
sa, sb = (json.load(open(d + "/summary.json")) for d in (raw, jpeg))
ra, rb = sa["ingest"], sb["ingest"]
assert rb["encoding"] == "jpeg" and rb["jpeg_frames"] == 70 and rb["jpeg_decoded_by_workers"] == 70, rb
assert ra["jpeg_frames"] == 0 and ra["bytes_per_frame"] == ra["decoded_bytes_per_frame"], ra
ratio = rb["bytes_per_frame"] / ra["bytes_per_frame"]
spilled = [sum(x.get("peak_spill_bytes", 0) for x in s["brokers"]) for s in (sa, sb)]
print(f"video_job: {len(a)} results equal raw and jpeg; bytes per frame through the brokers "
      f"{ra['bytes_per_frame']:.0f} raw, {rb['bytes_per_frame']:.0f} jpeg ({ratio:.3f}x); peak spill {spilled[0]} vs {spilled[1]} bytes")
assert ratio < 0.3, ratio
assert spilled[1] > 0, "the jpeg run spilled nothing: the spill of JPEG frames went untested"
PYEOF2
    # ingest.jpeg_encode: frames that do not arrive as JPEG (an MJPEG AVI and an MPEG-4 file decoded
    # by OpenCV, a folder of PNGs at an odd size) JPEG-encoded at ingest at quality 85, through a
    # ring small enough to spill: verify_run checks every result against its file frame sent through
    # the same libjpeg round trip; every frame travelled as a JPEG, in far fewer bytes.
    mkdir -p "$media/png"
    ff -f lavfi -i testsrc2=size=161x97:rate=10 -frames:v 12 "$media/png/%03d.png"
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/encoded" --job.mode=batch --ingest.source=video \
      --ingest.inputs="$media/a.avi,$media/b.mp4,$media/png" --ingest.encoding=jpeg --ingest.jpeg_encode=85 \
      --broker.ring_mb=0.05
    python3 - "$dir/encoded/summary.json" <<'PYEOF2'
import json, sys
s = json.load(open(sys.argv[1]))
i = s["ingest"]
print(f"video_job: encoded at ingest (quality {i['jpeg_encode']}): {i['jpeg_frames']} of {s['frames']['ingested']} frames as JPEG, "
      f"{i['bytes_per_frame']:.0f} bytes per frame for {i['decoded_bytes_per_frame']:.0f} decoded")
assert i["jpeg_encode"] == 85 and i["jpeg_frames"] == s["frames"]["ingested"] == 62, i
assert i["jpeg_decoded_by_workers"] == 62 and i["bytes_per_frame"] < 0.5 * i["decoded_bytes_per_frame"], i
assert sum(b.get("peak_spill_bytes", 0) for b in s["brokers"]) > 0, "nothing spilled"
PYEOF2
    # A JPEG frame a stage forwards goes on as its JPEG (the next stage decodes it again): the two-stage
    # pipeline over the same folders gives the same second-stage results raw and jpeg.
    grep -v '^\(streams\|width\|height\|forward\) ' "$here/pipelines/two_stages.ini" >"$dir/two_stages.ini"
    for enc in raw jpeg; do
      mkdir -p "$dir/pipe_$enc"
      RIDE=$ride timeout -k 5 100 "$here/../../scripts/ride-mpirun" --oversubscribe -np 6 -- --config "$dir/two_stages.ini" --job.mode=batch \
        --ingest.source=video --ingest.inputs="$media/odd,$media/vga" --ingest.encoding=$enc "--stage.first.forward=mean > 3" \
        --output.path="$dir/pipe_$enc/results.h5" --output.summary="$dir/pipe_$enc/summary.json" >"$dir/pipe_$enc/out.log" 2>&1 ||
        { cat "$dir/pipe_$enc/out.log"; echo "video_job: the $enc pipeline failed" >&2; exit 1; }
    done
    /usr/bin/python3 - "$dir/pipe_raw" "$dir/pipe_jpeg" <<'PYEOF2'
import h5py, json, sys
def second(d):
    s = json.load(open(d + "/summary.json"))
    assert s["status"] == "ok", s["status"]
    with h5py.File(d + "/results.h5", "r") as f:
        fr = f["stages/second/frames"][:]
    return s, sorted((int(r["stream"]), int(r["sequence"]), int(r["input_checksum"]), int(r["keypoints"]),
                      float(r["first.mean"])) for r in fr)
(sa, a), (sb, b) = second(sys.argv[1]), second(sys.argv[2])
print(f"video_job: pipeline: {len(a)} of 70 frames forwarded to the second stage, raw and jpeg equal: {a == b}")
assert 0 < len(a) < 70 and a == b
assert sb["stages"]["second"]["processed"] == len(b) and sb["ingest"]["jpeg_decoded_by_workers"] == 70 + len(b), sb["ingest"]
PYEOF2
    served=$dir/served
    /usr/bin/python3 "$here/snapshot_cameras.py" --port-file "$dir/port" --served "$served" --cameras 100 \
      --width 160 --height 120 --slot-s 1 --corrupt 11 &
    pids+=($!)
    wait_port_file "$dir/port" $! "the camera server" || exit 1
    port=$(cat "$dir/port")
    { echo "id,url,fps"; for i in $(seq 0 99); do echo "$i,http://127.0.0.1:$port/cam/$i.jpg,1"; done; } >"$dir/cameras.csv"
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/cameras" --ingest.source=video --ingest.inputs=@"$dir/cameras.csv" \
      --ingest.duration_s=8 --job.spares=0 --ingest.encoding=jpeg --broker.ring_mb=0.05 \
      --verify --served-jpegs "$served" --min-eta 0.8 --max-ingest-threads 16
    python3 - "$dir/cameras/summary.json" <<'PYEOF2'
import json, sys
s = json.load(open(sys.argv[1]))
ing = s["ingest"]
cam = s["inputs"][11]
print(f"video_job: cameras with jpeg: {ing['jpeg_frames']} JPEG frames, {ing['bytes_per_frame']:.0f} of "
      f"{ing['decoded_bytes_per_frame']:.0f} bytes per frame; camera 11: {cam['corrupt_frames']} corrupt, {cam['frames_published']} published")
assert ing["jpeg_frames"] == s["frames"]["ingested"] > 0 and ing["jpeg_decoded_by_workers"] == s["frames"]["processed"], ing
assert cam["corrupt_frames"] >= 1 and cam["frames_published"] >= 1, cam
PYEOF2
    ;;
  mjpeg_cameras)
    # 100 MJPEG cameras (the same server: multipart/x-mixed-replace at 5 fps each, images changing
    # every second) sampled at 1 fps through the camera hub for 12 s: one I/O thread for all the
    # open streams. Camera 5 answers 503 from 3 s to 6 s; then the whole server is SIGKILLed at
    # ~7 s (every stream cut, connections refused) and started again on the same port 2 s later:
    # the hub reconnects every camera. Every result is a JPEG its camera sent, in order; threads
    # bounded; every camera reconnected.
    served=$dir/served
    port=0
    camserver() {  # NAME: a camera server on $port (0: a free one, which $port is then), its pid in $dir/NAME.pid
      /usr/bin/python3 "$here/snapshot_cameras.py" --port "$port" --port-file "$dir/port" --t0-file "$dir/t0" \
        --served "$served" --cameras 100 --width 64 --height 48 --slot-s 1 --mjpeg-fps 5 --dying 5 --die-at 3 \
        --back-at 6 >/dev/null 2>&1 &
      echo $! >"$dir/$1.pid"
      wait_port_file "$dir/port" $! "the camera server" || exit 1
      port=$(cat "$dir/port")
    }
    camserver first
    { echo "id,url,fps"; for i in $(seq 0 99); do echo "$i,http://127.0.0.1:$port/mjpeg/$i,1"; done; } >"$dir/cameras.csv"
    # (the sleeps here are the scenario, not waits: the server dies ~1.5 s into the job's 6th
    # second, and connections are refused for 2 s before it comes back)
    ( until grep -q '\[ride\] t=   5' "$dir/run/out.log" 2>/dev/null; do sleep 0.1; done
      sleep 1.5; kill -KILL "$(cat "$dir/first.pid")"; echo "video_job: camera server SIGKILLed"; rm -f "$dir/port"
      sleep 2; camserver second; echo "video_job: camera server started again" ) &
    restarter=$!
    EXPECT_OUTPUT="stream 5 \\(5, .*(ended its MJPEG stream|HTTP 503).*retrying && cameras: eta" \
      "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --ingest.source=video --ingest.inputs=@"$dir/cameras.csv" \
      --ingest.duration_s=12 --job.spares=0 --ingest.retry_s=0.3 --ingest.retry_max_s=0.6 \
      --verify --served-jpegs "$served" --min-eta 0.7 --max-ingest-threads 16
    kill "$restarter" 2>/dev/null || true
    kill "$(cat "$dir/second.pid" 2>/dev/null)" 2>/dev/null || true
    python3 - "$dir/run/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
cam = s["inputs"][5]
print(f"video_job: camera 5 {cam['frames_published']} frames, {cam['reconnects']} reconnects, eta {cam['eta']}")
assert cam["reconnects"] >= 1 and cam["frames_published"] > 0, cam
back = sum(1 for c in s["inputs"] if c["reconnects"] >= 1)
print(f"video_job: {back} of {len(s['inputs'])} cameras reconnected after the server's restart; eta {s['ingest']['eta']:.3f}")
assert back >= 95, back
EOF
    ;;
  loop)
    # a 20-frame file and a 2-image folder, looped at 30 fps for 2 s: 60 frames each, every one
    # checked against the decoded frame it repeats
    mkdir -p "$media/two"
    ff -f lavfi -i testsrc=size=64x48 -frames:v 1 "$media/two/a.png"
    ff -f lavfi -i testsrc2=size=48x36 -frames:v 1 "$media/two/b.png"
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --ingest.source=video --ingest.loop=true \
      --ingest.inputs="$media/b.mp4,$media/two" --ingest.fps=30 --ingest.duration_s=2 \
      --output.images=true --params.window=3
    grep -Eq "input 0 .*: stopped, (5[5-9]|60) frames published" "$dir/run/out.log" ||
      { echo "video_job: the looping file did not publish ~60 frames" >&2; exit 1; }
    ;;
  live)
    down=$(free_port)  # nobody serves it
    serve() {  # SECONDS: one MJPEG client on $up for that long; its pid in $server
      ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc=size=128x96:rate=10 -t "$1" -f mpjpeg \
        -listen 1 "http://127.0.0.1:$up/cam.mjpg" &
      server=$!
      pids+=($server)
    }
    # the first server, once it listens (another process may take a free port first: then another)
    for try in 1 2 3 4 5; do
      up=$(free_port)
      serve 1.5
      wait_listen "$up" "$server" && break
      [ "$try" = 5 ] && { echo "video_job: ffmpeg did not listen on a free port (5 tries)" >&2; exit 1; }
    done
    # A second server on the same port, started once the first one's client has connected (with
    # -listen 1 ffmpeg then closes its listening socket): when the first ends after 1.5 s, the
    # input must reconnect, to it.
    ( while listens "$up" "$server"; do sleep 0.05; done
      exec ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc=size=128x96:rate=10 \
        -t 8 -f mpjpeg -listen 1 "http://127.0.0.1:$up/cam.mjpg" ) &
    pids+=($!)
    t0=$SECONDS
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run" --ingest.source=video \
      --ingest.inputs="http://127.0.0.1:$up/cam.mjpg,http://127.0.0.1:$down/none.mjpg,$media/a.avi" \
      --ingest.fps=5 --ingest.duration_s=4 --ingest.retry_s=0.2 --ingest.retry_max_s=0.5 \
      --ingest.timeout_s=2 --verify --expect-unreachable 1 --min-live-frames 5
    echo "video_job: the job took $((SECONDS - t0)) s"
    grep -q "input 1 (http://127.0.0.1:$down/none.mjpg): unreachable" "$dir/run/out.log" ||
      { echo "video_job: the unreachable camera is not reported" >&2; exit 1; }
    grep -q "warning: 1 input(s) never reached" "$dir/run/out.log" ||
      { echo "video_job: no warning line for the unreachable camera" >&2; exit 1; }
    python3 - "$dir/run/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
cam, none, f = s["inputs"]
print(f"video_job: camera {cam['state']}, {cam['frames_published']} frames, {cam['reconnects']} reconnects,"
      f" {cam['skipped_ticks']} ticks without a new frame; unreachable after {none['attempts']} attempts")
assert cam["reconnects"] >= 1, cam          # it dropped and came back
assert cam["attempts"] >= 2, cam
assert none["attempts"] >= 3 and none["frames_published"] == 0, none
assert f["state"] == "ended" and f["frames_published"] == 30, f
EOF
    ;;
  rtsp_transports)
    # RTSP/H.264 cameras of odd sizes (GStreamer's RTSP server, H.264 High 4:4:4 at 321x241 and
    # 4:2:0 at 352x288) read over TCP, then over UDP (ingest.rtsp_transport): every camera
    # publishes frames of its own size, nothing lost; the summary reports each camera's CPU.
    /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null ||
      { echo "video_job: GStreamer's RTSP server is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
    /usr/bin/python3 "$here/rtsp_server.py" 1 321 241 15 >"$dir/odd.port" 2>"$dir/odd.log" &
    pids+=($!)
    /usr/bin/python3 "$here/rtsp_server.py" 1 352 288 15 >"$dir/even.port" 2>"$dir/even.log" &
    pids+=($!)
    wait_port_file "$dir/odd.port" "${pids[-2]}" "the RTSP server" || { cat "$dir/odd.log"; exit 1; }
    wait_port_file "$dir/even.port" "${pids[-1]}" "the RTSP server" || { cat "$dir/even.log"; exit 1; }
    odd=$(head -1 "$dir/odd.port") even=$(head -1 "$dir/even.port")
    for transport in tcp udp; do
      "$here/run_job.sh" "$ride" "$verify" 5 "$dir/$transport" --ingest.source=video \
        --ingest.inputs="rtsp://127.0.0.1:$odd/cam0,rtsp://127.0.0.1:$even/cam0" --ingest.rtsp_transport=$transport \
        --ingest.fps=5 --ingest.duration_s=8 --verify --min-live-frames 5
      python3 - "$dir/$transport/summary.json" "$transport" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
a, b = s["inputs"]
print(f"video_job: over {sys.argv[2]}: {a['width']}x{a['height']} {a['frames_published']} frames, cpu {a['cpu_s']:.2f} s;"
      f" {b['width']}x{b['height']} {b['frames_published']} frames, cpu {b['cpu_s']:.2f} s;"
      f" per camera {1000 * s['ingest']['cpu_s_per_camera_per_s']:.1f} ms/s")
assert (a["width"], a["height"]) == (321, 241), a
assert (b["width"], b["height"]) == (352, 288), b
assert a["cpu_s"] > 0 and b["cpu_s"] > 0, (a, b)
EOF
    done
    # Six cameras on one decoder of the stream pool (ingest.stream_decoders=1): a reader thread
    # each and one decoder, not a capture thread with FFmpeg's frame threads per camera; every
    # camera publishes, each camera's CPU and any packets dropped are reported.
    /usr/bin/python3 "$here/rtsp_server.py" 6 160 120 15 >"$dir/six.port" 2>"$dir/six.log" &
    pids+=($!)
    wait_port_file "$dir/six.port" $! "the RTSP server" || { cat "$dir/six.log"; exit 1; }
    six=$(head -1 "$dir/six.port")
    inputs=$(for i in 0 1 2 3 4 5; do printf 'rtsp://127.0.0.1:%s/cam%s,' "$six" "$i"; done)
    "$here/run_job.sh" "$ride" "$verify" 5 "$dir/pool" --ingest.source=video --ingest.inputs="${inputs%,}" \
      --ingest.rtsp_transport=tcp --ingest.stream_decoders=1 --ingest.fps=2 --ingest.duration_s=6 \
      --verify --min-live-frames 3 --max-ingest-threads 16
    python3 - "$dir/pool/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"video_job: 6 cameras on one stream decoder: {s['ingest']['threads']} ingest threads, "
      f"{sum(i['frames_read'] for i in s['inputs'])} frames decoded, "
      f"{sum(i['dropped_packets'] for i in s['inputs'])} packets dropped, "
      f"{1000 * s['ingest']['cpu_s_per_camera_per_s']:.1f} ms/s per camera")
for i in s["inputs"]:
    assert (i["width"], i["height"]) == (160, 120) and i["cpu_s"] > 0 and i["frames_read"] > i["frames_published"], i
    assert "dropped_packets" in i, i
EOF
    ;;
  cold_rtsp)
    # #11's second defect: three RTSP cameras, the video module and its ~190 libraries out of the
    # page cache (as after an install, or on a cluster's shared filesystem): loading them takes
    # the ingest rank seconds; with the default timeouts no rank may be declared dead. Twice.
    /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null ||
      { echo "video_job: GStreamer's RTSP server is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
    /usr/bin/python3 "$here/rtsp_server.py" 3 320 240 25 >"$dir/rtsp.port" 2>"$dir/rtsp.log" &
    pids+=($!)
    wait_port_file "$dir/rtsp.port" $! "the RTSP server" || { cat "$dir/rtsp.log"; exit 1; }
    port=$(head -1 "$dir/rtsp.port")
    module=$(dirname "$ride")/libride_video.so
    for run in 1 2; do
      # Evict the module and every library it loads from the page cache (POSIX_FADV_DONTNEED).
      /usr/bin/python3 - "$module" <<'EOF'
import os, re, subprocess, sys
libs = [sys.argv[1]] + re.findall(r"=> (/\S+)", subprocess.run(["ldd", sys.argv[1]], capture_output=True, text=True).stdout)
for path in libs:
    try:
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    except OSError:
        pass
print(f"video_job: {len(libs)} files evicted from the page cache")
EOF
      # (the second run through OpenCV's capture thread per camera, ingest.stream_decoders=0)
      "$here/run_job.sh" "$ride" "$verify" 5 "$dir/run$run" --ingest.source=video \
        --ingest.inputs="rtsp://127.0.0.1:$port/cam0,rtsp://127.0.0.1:$port/cam1,rtsp://127.0.0.1:$port/cam2" \
        --ingest.fps=5 --ingest.duration_s=5 --ingest.stream_decoders=$((run == 1 ? 2 : 0)) --verify --min-live-frames 1
      if grep -q "failure: rank" "$dir/run$run/out.log"; then
        echo "video_job: a rank was declared dead during a cold start" >&2; exit 1
      fi
    done
    ;;
  *) echo "video_job: unknown case '$case_name'" >&2; exit 2 ;;
esac
