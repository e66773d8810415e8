#!/usr/bin/env python3
"""Frames/s of the runtime spine at 900x900 (RIDE's Fig. 10-12 resolution), std-dev filter.

Batch mode (RIDE Fig. 10): every frame stored in the topic first, then processed; reports the
processing time and frames/s. Stream mode (RIDE Fig. 12): frames produced at an offered rate
while workers process; reports the processed rate, latency and the backlog left when ingest
stopped. Writes results/spine_900_npN.json and .csv stamped with commit and machine.

usage: bench/spine_900.py [--np 6] [--frames 250] [--quick]
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(np, args, tmp):
    summary = os.path.join(tmp, "s.json")
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(np), "--",
           "--summary", summary, f"--output.path={os.path.join(tmp, 'r.h5')}",
           "--status.interval_s=5"] + args
    t = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    s = json.load(open(summary))
    f = s["frames"]
    # A benchmark checks what it timed: every frame processed once.
    assert f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
    s["_wall_s"] = time.time() - t
    s["_cmd"] = " ".join(cmd[:5] + ["--"] + args)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--np", type=int, default=6)
    ap.add_argument("--frames", type=int, default=250, help="frames per stream, 4 streams (batch)")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    size = ["--ingest.width=900", "--ingest.height=900", "--ingest.streams=4"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        s = run(a.np, size + ["--job.mode=batch", f"--ingest.frames={a.frames}"], tmp)
        rows.append({"mode": "batch", "ranks": a.np, "workers": len(s["workers"]),
                     "offered_fps": "", "frames": s["frames"]["processed"],
                     "seconds": round(s["processing_s"], 3),
                     "fps": round(s["throughput_fps"], 1), "MBps": round(s["throughput_MBps"], 1),
                     "p50_ms": "", "p99_ms": "", "command": s["_cmd"]})
        for fps in ([30] if a.quick else [15, 60, 120, 240, 480]):
            dur = 5 if a.quick else 10
            s = run(a.np, size + ["--job.mode=stream", f"--ingest.fps={fps}",
                                  f"--ingest.duration_s={dur}"], tmp)
            rows.append({"mode": "stream", "ranks": a.np, "workers": len(s["workers"]),
                         "offered_fps": 4 * fps, "frames": s["frames"]["processed"],
                         "seconds": round(s["elapsed_s"], 3),
                         "fps": round(s["throughput_fps"], 1),
                         "MBps": round(s["throughput_MBps"], 1),
                         "p50_ms": round(s["latency_ms"]["p50"], 1),
                         "p99_ms": round(s["latency_ms"]["p99"], 1), "command": s["_cmd"]})
    out = {"benchmark": "spine_900", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/spine_900.py " + " ".join(sys.argv[1:]), "rows": rows}
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", f"spine_900_np{a.np}.json"), "w") as fh:
        json.dump(out, fh, indent=2)
    with open(os.path.join(ROOT, "results", f"spine_900_np{a.np}.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"{'mode':7} {'offered':>8} {'frames':>7} {'seconds':>8} {'fps':>8} {'MB/s':>7} {'p50ms':>6} {'p99ms':>6}")
    for r in rows:
        print(f"{r['mode']:7} {str(r['offered_fps']):>8} {r['frames']:>7} {r['seconds']:>8} "
              f"{r['fps']:>8} {r['MBps']:>7} {str(r['p50_ms']):>6} {str(r['p99_ms']):>6}")


if __name__ == "__main__":
    main()
