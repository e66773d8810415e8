#!/usr/bin/python3
"""Two builds of ride side by side on the broker path (ingest -> broker -> worker, no-op task,
4 ranks, stream mode without a rate limit, 256 MB ring, spill off — as bench/broker_throughput.py),
interleaved run by run so that the machine's noise hits both. Every run is checked (status ok,
nothing lost). Writes results/ab_builds.json.

usage: bench/ab_builds.py BEFORE_RIDE AFTER_RIDE [--repeat 7] [--label TEXT]
  e.g. git worktree add /tmp/base 9054e15 && cmake -S /tmp/base -B /tmp/base/build
       -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/base/build --target ride
       bench/ab_builds.py /tmp/base/build/ride build/ride --repeat 7
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = [("64KB", 256, 20000), ("810KB", 900, 3000)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    builds = {"before": a.before, "after": a.after}
    out = {"benchmark": "ab_builds", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/ab_builds.py " + " ".join(sys.argv[1:]), "label": a.label, "sizes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for size, w, frames in SIZES:
            res = {k: [] for k in builds}
            for _ in range(a.repeat):
                for name, exe in builds.items():
                    summ = os.path.join(tmp, "s.json")
                    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "4", "--",
                           "--task.name=noop", f"--ingest.width={w}", f"--ingest.height={w}", "--ingest.streams=1",
                           "--ingest.fps=1e6", f"--ingest.frames={frames}", "--broker.spill=false",
                           "--broker.ring_mb=256", "--status.interval_s=30", "--summary", summ,
                           f"--output.path={tmp}/r.h5"]
                    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, RIDE=exe))
                    s = json.load(open(summ))
                    f = s["frames"]
                    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0, f
                    res[name].append(round(s["throughput_fps"], 1))
            b, af = statistics.median(res["before"]), statistics.median(res["after"])
            out["sizes"][size] = {"before_fps": res["before"], "after_fps": res["after"],
                                  "before_median": b, "after_median": af, "ratio_after_over_before": round(af / b, 3)}
            print(f"{size}: before {b:.0f}, after {af:.0f} frames/s (medians of {a.repeat}): "
                  f"{af / b:.3f}x; runs before {res['before']}, after {res['after']}", flush=True)
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    json.dump(out, open(os.path.join(ROOT, "results", "ab_builds.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
