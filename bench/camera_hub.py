#!/usr/bin/python3
"""Many cameras on few threads (#15): the same MJPEG cameras read by one ingest rank through the
camera hub (ingest.http = hub: one libcurl I/O thread + 2 JPEG decoders) and through a thread
per camera (ingest.http = ffmpeg: OpenCV/FFmpeg, today's reference), interleaved run by run.
The cameras are tests/integration/snapshot_cameras.py's MJPEG streams (multipart at 5 fps, 64x48
gray JPEGs changing every second), sampled at 1 fps for 15 s. (With a thread per camera the
ingest rank's heartbeat starves past the default 0.3 s timeout here and the job ends: both modes
run with ft.heartbeat_timeout_ms = 5000.) Reports per mode the ingest rank's
threads, its process CPU seconds, and eta over the cameras; every run is checked (status ok,
nothing lost or duplicated). Writes results/camera_hub.json.

usage: bench/camera_hub.py [--cameras 200] [--repeat 2] [--duration 15]
"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, CameraServer, medians, parse_args, ratios, write_comparison  # noqa: E402


def main():
    a = parse_args(cameras=200, repeat=2, duration=(float, 15))
    res = {"hub": [], "ffmpeg": []}
    with tempfile.TemporaryDirectory() as tmp, \
            CameraServer(tmp, a.cameras, 64, 48, slot_s=1, extra=["--mjpeg-fps", "5"]) as cams:
        csv = cams.camera_list(lambda i: 1, kind="mjpeg")
        for i in range(a.repeat):
            for mode in ("hub", "ffmpeg"):
                summ = os.path.join(tmp, "s.json")
                cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "5", "--",
                       "--ingest.source=video", f"--ingest.inputs=@{csv}", f"--ingest.http={mode}",
                       f"--ingest.duration_s={a.duration}", "--job.spares=0", "--task.name=noop",
                       # 200 FFmpeg threads on 2 cores starve the rank's heartbeat past the
                       # default 0.3 s (measured): both modes get 5 s, so they can be compared
                       "--ft.heartbeat_timeout_ms=5000", "--ft.straggler_timeout_s=30",
                       "--status.interval_s=30", "--summary", summ, f"--output.path={tmp}/r.h5"]
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
                if p.returncode != 0:
                    sys.exit(f"{mode} run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
                s = json.load(open(summ))
                f = s["frames"]
                assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
                rank = s["ingest"]["ranks"][0]
                row = {"threads": s["ingest"]["threads"], "ingest_cpu_s": round(rank["cpu_s"], 2),
                       "eta": round(s["ingest"]["eta"], 4), "frames": f["ingested"]}
                res[mode].append(row)
                print(f"run {i + 1} {mode}: {row}", flush=True)
    # CPU per frame published too: the modes deliver different frame counts
    med = medians(res, ("threads", "ingest_cpu_s", "eta", "frames"),
                  per_frame=("cpu_ms_per_frame", "ingest_cpu_s", "frames"))
    write_comparison("camera_hub", f"5 ranks (1 broker, 1 ingest, 2 workers), no-op task, {a.cameras} MJPEG cameras "
                     f"at 5 fps (64x48), sampled at 1 fps for {a.duration} s", res, med, "ratio_hub_over_ffmpeg",
                     ratios(med, "hub", "ffmpeg", ("threads", "ingest_cpu_s", "eta", "cpu_ms_per_frame")))


if __name__ == "__main__":
    main()
