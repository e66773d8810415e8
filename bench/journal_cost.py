#!/usr/bin/python3
"""What the results journal costs (#14): the sink appends every stored RESULTS body to
<output.path>.journal and fdatasyncs it before acknowledging; without it (output.journal=false)
it fsyncs the HDF5 file instead. The same batch job with the journal on and off, interleaved run
by run so the machine's noise hits both, for two result shapes:

  scalars  stddev on 160x120 frames, no output images: many small results (the sink's per-batch
           cost: one fdatasync per group commit either way)
  images   stddev on 320x240 frames with output.images=true: every result carries a 307 KB float
           image, written twice with the journal (HDF5 and journal)

Every run is checked (status ok, nothing lost or duplicated). Also measures how long a resume
takes to rebuild the results file from a journal of the images run. Writes
results/journal_cost.json.

usage: bench/journal_cost.py [--repeat 3]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = {
    "scalars": ["--ingest.width=160", "--ingest.height=120", "--ingest.streams=4", "--ingest.frames=6000"],
    "images": ["--ingest.width=320", "--ingest.height=240", "--ingest.streams=4", "--ingest.frames=500",
               "--output.images=true"],
}


def run(tmp, shape, journal, extra=()):
    summ = os.path.join(tmp, "s.json")
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "5", "--",
           "--job.mode=batch", "--job.spares=0", "--task.name=stddev", f"--output.journal={journal}",
           "--status.interval_s=30", "--summary", summ, f"--output.path={tmp}/r.h5", *SHAPES[shape], *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
    if p.returncode != 0:
        sys.exit(f"run failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
    s = json.load(open(summ))
    f = s["frames"]
    assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    fps = {sh: {"journal": [], "no_journal": []} for sh in SHAPES}
    journal_mb = {}
    rebuild = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat):
            for sh in SHAPES:
                for j in (True, False):
                    s = run(tmp, sh, "true" if j else "false")
                    key = "journal" if j else "no_journal"
                    fps[sh][key].append(round(s["throughput_fps"], 1))
                    if j:
                        journal_mb[sh] = round(os.path.getsize(f"{tmp}/r.h5.journal") / 1e6, 2)
                    print(f"run {i + 1} {sh} {key}: {s['throughput_fps']:.1f} frames/s", flush=True)
        # A resume of a finished images run: every key is kept, nothing is processed again; the
        # summary's rebuild_s is reading the journal and rewriting the results file.
        run(tmp, "images", "true")
        s = run(tmp, "images", "true", ["--job.resume=true"])
        rebuild = {"rows": s["resume"]["rows_rebuilt"], "journal_mb": round(os.path.getsize(f"{tmp}/r.h5.journal") / 1e6, 2),
                   "rebuild_s": round(s["resume"]["rebuild_s"], 3), "resumed": s["resumed"]}
        print(f"resume of the images run: {rebuild}")
    out = {"benchmark": "journal_cost", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/journal_cost.py " + " ".join(sys.argv[1:]),
           "job": "5 ranks (1 broker, 1 ingest, 2 workers), batch, stddev; " +
                  "; ".join(f"{k}: {' '.join(v)}" for k, v in SHAPES.items()),
           "frames_per_s": fps, "journal_mb": journal_mb, "resume_rebuild": rebuild, "median_fps": {}, "ratio_journal_over_none": {}}
    for sh in SHAPES:
        mj, mn = statistics.median(fps[sh]["journal"]), statistics.median(fps[sh]["no_journal"])
        out["median_fps"][sh] = {"journal": mj, "no_journal": mn}
        out["ratio_journal_over_none"][sh] = round(mj / mn, 3)
        print(f"{sh}: journal {mj:.1f}, none {mn:.1f} frames/s: {mj / mn:.3f}x")
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    json.dump(out, open(os.path.join(ROOT, "results", "journal_cost.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
