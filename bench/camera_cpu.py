#!/usr/bin/python3
"""Ingest CPU per camera-second for 1,000 JPEG snapshot cameras (#15): ride's ingest rank (the
camera hub: one libcurl I/O thread and 2 libjpeg decoders) against the Python/OpenCV poller a
user would write (bench/peers/opencv_poller.py: urllib + cv2.imdecode, a thread per camera, and
the same with a pool of 32 threads), interleaved run by run against the same camera server
(tests/integration/snapshot_cameras.py: distinct gray JPEGs changing every 2 s), cameras at
0.5, 0.75 or 1 fps from a camera list.

ride's figure is its ingest process's CPU from START on (every camera's fetches and decodes, and
publishing the frames to the broker: more work than the poller, which drops each frame); the
poller's is its process's CPU over its run. Each is divided by cameras x duration. eta (achieved
/ desired rate) is reported beside it: a poller that falls behind saves CPU by missing ticks.
Every ride run is checked (status ok, nothing lost or duplicated). Writes
results/camera_cpu.json.

usage: bench/camera_cpu.py [--cameras 1000] [--duration 20] [--repeat 2] [--size 160x120]
"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, CameraServer, medians, parse_args, ratios, ride_camera_job, write_comparison  # noqa: E402

RATES = (0.5, 0.75, 1.0)


def ride_run(tmp, csv, duration, cameras, extra=()):
    s, cpu = ride_camera_job(tmp, csv, duration, extra)
    return {"cpu_s": round(cpu, 2), "eta": round(s["ingest"]["eta"], 4), "frames": s["frames"]["ingested"],
            "threads": s["ingest"]["threads"], "cpu_s_per_camera_s": cpu / cameras / duration}


def poller_run(csv, duration, cameras, threads):
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "peers", "opencv_poller.py"), csv,
                        "--duration", str(duration), "--threads", str(threads)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"poller failed ({p.returncode}):\n{p.stderr[-3000:]}")
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return {"cpu_s": round(r["cpu_s"], 2), "eta": round(r["eta"], 4), "frames": r["frames"], "threads": r["threads"],
            "errors": r["errors"], "cpu_s_per_camera_s": r["cpu_s"] / cameras / duration}


def main():
    a = parse_args(cameras=1000, duration=(float, 20), repeat=2, size="160x120")
    w, h = a.size.split("x")
    # ride_jpeg: ingest.encoding = jpeg, the JPEGs go to the workers undecoded (ingest only checks
    # they are whole); the pollers and "ride" decode every frame at ingest.
    modes = {"ride": None, "ride_jpeg": None, "python_thread_per_camera": 0, "python_pool_32": 32}
    res = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmp, CameraServer(tmp, a.cameras, w, h, slot_s=2) as cams:
        csv = cams.camera_list(lambda i: RATES[i % 3])
        for i in range(a.repeat):
            for m, threads in modes.items():
                if m == "ride":
                    row = ride_run(tmp, csv, a.duration, a.cameras)
                elif m == "ride_jpeg":
                    row = ride_run(tmp, csv, a.duration, a.cameras, ["--ingest.encoding=jpeg"])
                else:
                    row = poller_run(csv, a.duration, a.cameras, threads)
                res[m].append(row)
                print(f"run {i + 1} {m}: {row}", flush=True)
    # per frame too: a poller that misses ticks does less work
    med = medians(res, ("cpu_s", "eta", "frames", "threads", "cpu_s_per_camera_s"),
                  per_frame=("cpu_ms_per_frame", "cpu_s", "frames"))
    over = {f"{r}_over_{p}": ratios(med, r, p, ("cpu_s_per_camera_s", "cpu_ms_per_frame", "eta"))
            for r in ("ride", "ride_jpeg") for p in med if p.startswith("python")}
    write_comparison("camera_cpu", f"{a.cameras} JPEG snapshot cameras ({a.size} gray, changing every 2 s) at "
                     f"0.5/0.75/1 fps for {a.duration} s; ride: 5 ranks (1 broker, 1 ingest, 2 workers), no-op task",
                     res, med, "ratios", over)


if __name__ == "__main__":
    main()
