#!/bin/bash
# CPU per frame of the broker path, separated from start-up: the no-op 4-rank job of
# bench/broker_throughput.py (WxW u8 frames, spill off, 256 MB ring) under `perf stat -e
# task-clock` (CPU ms of mpirun and every rank), at two frame counts; the slope is the CPU per
# frame, the intercept the start-up. Used to compare two builds (results/broker_cpu_per_frame.md).
#
#   bench/cpu_per_frame.sh RIDE_BINARY FRAMES W   -> "instructions task_clock_ms throughput_fps"
# (instructions read "<not supported>" on VMs without a PMU)
bin=$1 frames=$2 w=$3
out=$(RIDE=$bin perf stat -x, -e instructions,task-clock -- "$(cd "$(dirname "$0")/.." && pwd)/scripts/ride-mpirun" --oversubscribe -np 4 -- \
  --summary ${TMPDIR:-/tmp}/cpf.json --output.path=${TMPDIR:-/tmp}/cpf.h5 --status.interval_s=30 --task.name=noop \
  --ingest.width=$w --ingest.height=$w --ingest.streams=1 --ingest.fps=1e6 --ingest.frames=$frames \
  --broker.spill=false --broker.ring_mb=256 2>&1 >/dev/null)
ins=$(echo "$out" | grep ",instructions" | cut -d, -f1)
clk=$(echo "$out" | grep ",task-clock" | cut -d, -f1)
fps=$(python3 -c "import json;print(round(json.load(open('${TMPDIR:-/tmp}/cpf.json'))['throughput_fps']))")
echo "$ins $clk $fps"
