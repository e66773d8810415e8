#!/usr/bin/python3
"""Broker bytes per frame with ingest.encoding = jpeg against raw, for 640x480 camera frames (#15).

The same JPEG snapshot cameras (tests/integration/snapshot_cameras.py: distinct gray 640x480
JPEGs, changing every second) read by one ingest rank at 1 fps each, with ingest.encoding = raw
(decoded at ingest, pixels through the brokers) and = jpeg (the JPEG's bytes through the brokers,
decoded on the worker), interleaved run by run. Reports per mode: bytes per frame through the
brokers (ingest's published bytes over its frames), the brokers' peak memory ring, the CPU seconds
of the ingest process and of the workers, and eta; every run checked (status ok, nothing lost or
duplicated, every frame decoded where the mode says). Writes results/jpeg_encoding.json.

usage: bench/jpeg_encoding.py [--cameras 50] [--duration 10] [--repeat 2]
"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, CameraServer, medians, parse_args, ratios, write_comparison  # noqa: E402


def run(tmp, csv, mode, duration):
    summ = os.path.join(tmp, "s.json")
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "5", "--",
           "--ingest.source=video", f"--ingest.inputs=@{csv}", f"--ingest.duration_s={duration}",
           f"--ingest.encoding={mode}", "--job.spares=0", "--task.name=stddev", "--status.interval_s=30",
           "--summary", summ, f"--output.path={tmp}/r.h5"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
    if p.returncode != 0:
        sys.exit(f"{mode} run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    s = json.load(open(summ))
    f, ing = s["frames"], s["ingest"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
    assert ing["jpeg_frames"] == (f["ingested"] if mode == "jpeg" else 0), ing
    assert ing["jpeg_decoded_by_workers"] == (f["processed"] if mode == "jpeg" else 0), ing
    return {"frames": f["ingested"], "bytes_per_frame": round(ing["bytes_per_frame"]),
            "decoded_bytes_per_frame": round(ing["decoded_bytes_per_frame"]),
            "broker_peak_ring_MB": round(max(b["peak_ring_bytes"] for b in s["brokers"]) / 1e6, 2),
            "ingest_cpu_s": round(sum(r["cpu_s"] for r in ing["ranks"]), 2),
            "worker_cpu_s": round(sum(w.get("cpu_active_s", 0) for w in s["workers"]), 2),
            "eta": round(ing["eta"], 4)}


def main():
    a = parse_args(cameras=50, duration=(float, 10), repeat=2)
    res = {"raw": [], "jpeg": []}
    with tempfile.TemporaryDirectory() as tmp, CameraServer(tmp, a.cameras, 640, 480, slot_s=1) as cams:
        csv = cams.camera_list(lambda i: 1)
        for i in range(a.repeat):
            for mode in ("raw", "jpeg"):
                row = run(tmp, csv, mode, a.duration)
                res[mode].append(row)
                print(f"run {i + 1} {mode}: {row}", flush=True)
    med = medians(res, [k for k in res["raw"][0]])
    ratio = ratios(med, "jpeg", "raw", [k for k in ("bytes_per_frame", "broker_peak_ring_MB", "ingest_cpu_s",
                                                    "worker_cpu_s", "eta") if med["raw"][k]])
    write_comparison("jpeg_encoding", f"5 ranks (1 broker, 1 ingest, 2 workers), std-dev task, {a.cameras} JPEG "
                     f"snapshot cameras (640x480 gray) at 1 fps for {a.duration} s", res, med, "jpeg_over_raw", ratio)


if __name__ == "__main__":
    main()
