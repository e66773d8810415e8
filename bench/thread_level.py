#!/usr/bin/env python3
"""What the heartbeat thread costs the broker path (#11): MPI_THREAD_MULTIPLE (the default since
heartbeats come from a thread) against MPI_THREAD_FUNNELED (RIDE_MPI_THREADS=funneled: heartbeats
from the roles' loops), the same build, runs interleaved. The job is broker_throughput's: no-op
task, 4 ranks, one stream at no rate limit, a 256 MB ring with spill off; every run verified
(nothing lost or duplicated). Writes results/thread_level.json; the figure is the ratio of the
median throughputs.

usage: bench/thread_level.py [--repeat 5]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))
SIZES = [("64KB", 256, 256, 20000), ("810KB", 900, 900, 5000)]


def run(tmp, level, w, h, frames):
    summary = os.path.join(tmp, "s.json")
    env = dict(os.environ, RIDE=os.path.join(BUILD, "ride"))
    if level == "funneled":
        env["RIDE_MPI_THREADS"] = "funneled"
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "4", "--",
           "--summary", summary, f"--output.path={os.path.join(tmp, 'r.h5')}", "--status.interval_s=30",
           "--task.name=noop", f"--ingest.width={w}", f"--ingest.height={h}", "--ingest.streams=1",
           "--ingest.fps=1e6", f"--ingest.frames={frames}", "--broker.spill=false", "--broker.ring_mb=256"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if p.returncode != 0:
        sys.exit(f"thread_level: {level} run exited {p.returncode}:\n{p.stdout[-2000:]}")
    s = json.load(open(summary))
    f = s["frames"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
    return s["throughput_fps"], " ".join(cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ride-threads-") as tmp:
        for name, w, h, frames in SIZES:
            fps = {"multiple": [], "funneled": []}
            for _ in range(a.repeat):
                for level in ("multiple", "funneled"):
                    v, cmd = run(tmp, level, w, h, frames)
                    fps[level].append(v)
            m, f = statistics.median(fps["multiple"]), statistics.median(fps["funneled"])
            rows.append({"frame": name, "multiple_fps": round(m, 1), "funneled_fps": round(f, 1),
                         "ratio_multiple_over_funneled": round(m / f, 3),
                         "runs": {k: [round(x, 1) for x in v] for k, v in fps.items()}, "command": cmd})
            print(f"{name}: MPI_THREAD_MULTIPLE {m:.0f} fps, FUNNELED {f:.0f} fps: {m / f:.2f}x "
                  f"(runs {fps})", flush=True)
    out = {"benchmark": "thread_level", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/thread_level.py " + " ".join(sys.argv[1:]), "repeat": a.repeat, "rows": rows}
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", "thread_level.json"), "w") as fh:
        json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
