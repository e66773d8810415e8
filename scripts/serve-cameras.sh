#!/usr/bin/env bash
# Test cameras for trying ride on live inputs: N MJPEG-over-HTTP streams served by ffmpeg on
# 127.0.0.1 (ports PORT .. PORT+N-1, path /camK.mjpg), each restarted after its client leaves
# so that a job may reconnect. Stop with Ctrl-C (or kill the script: it stops its servers).
#
#   scripts/serve-cameras.sh [N=2] [PORT=8081] [SIZE=640x480] [FPS=15]
#   then: scripts/ride-mpirun -np 5 -- --config configs/cameras.ini
set -uo pipefail
n=${1:-2} port=${2:-8081} size=${3:-640x480} fps=${4:-15}
command -v ffmpeg >/dev/null || { echo "serve-cameras: ffmpeg is not installed (scripts/setup.sh)" >&2; exit 2; }
# on exit, stop the loops and their ffmpeg servers (all in this process group)
trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; exit 0' INT TERM EXIT
for ((k = 0; k < n; k++)); do
  (
    while true; do
      ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi \
        -i "testsrc2=size=$size:rate=$fps" -c:v mjpeg -q:v 5 -f mpjpeg -listen 1 \
        "http://127.0.0.1:$((port + k))/cam$k.mjpg" || sleep 0.5
    done
  ) &
  echo "serve-cameras: camera $k at http://127.0.0.1:$((port + k))/cam$k.mjpg ($size, $fps fps)"
done
wait
