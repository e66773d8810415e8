#!/usr/bin/python3
"""How fast a job gets over the SIGKILL of each kind of rank (#14), side by side in one run,
interleaved: a worker (the takeover of #4, the reference), the leader broker of busy partitions
(broker failover: an in-sync follower promoted, ingest's unacknowledged frames sent again), and
an ingest rank (its streams resumed by the other). Each job: 4 synthetic streams of 160x120 at
30 fps for 5 s, 2 brokers (2 copies of each partition), 2 ingest ranks, 2 workers and a spare;
the rank is killed 1.5 s after the first progress line by tests/integration/kill_job.sh, and
every run is verified by verify_run (every key exactly once, checksums and values against the
reference). From the summary's `failures`: detected_after_s (last heard -> declared dead) and
recovered_after_s (last heard -> frames flowing again: the first results of a moved partition,
or the new ingest rank's first frame of each moved stream, which it reports at once). Writes results/failover_recovery.json.

usage: bench/failover_recovery.py [--repeat 5]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = [("worker", "worker0"), ("broker", "broker0"), ("ingest", "ingest0")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    res = {k: {"detected_after_s": [], "recovered_after_s": [], "frames_reprocessed": []} for k, _ in KINDS}
    job = ["--ingest.width=160", "--ingest.height=120", "--ingest.streams=4", "--ingest.fps=30",
           "--ingest.duration_s=5", "--job.brokers=2", "--job.ingest=2", "--job.workers=2", "--job.spares=1"]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat):
            for kind, target in KINDS:
                d = os.path.join(tmp, f"{kind}{i}")
                cmd = [os.path.join(ROOT, "tests", "integration", "kill_job.sh"), os.path.join(ROOT, "build", "ride"),
                       os.path.join(ROOT, "build", "tests", "integration", "verify_run"), "8", d,
                       f"1.5:kill:{target}"] + job + ["--verify", "--expect-failures", "1"]
                p = subprocess.run(cmd, capture_output=True, text=True)
                if p.returncode != 0:
                    sys.exit(f"run {i + 1} ({kind}) failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}")
                s = json.load(open(os.path.join(d, "summary.json")))
                f = s["failures"][0]
                assert f["role"] == kind and f["recovered_after_s"] is not None, f
                for key in res[kind]:
                    res[kind][key].append(round(f[key], 4))
                print(f"run {i + 1} {kind}: detected after {f['detected_after_s']:.3f} s, "
                      f"flowing after {f['recovered_after_s']:.3f} s, {f['frames_reprocessed']} re-processed", flush=True)
    med = {k: {key: statistics.median(v) for key, v in r.items()} for k, r in res.items()}
    ref = med["worker"]["recovered_after_s"]
    out = {"benchmark": "failover_recovery", "commit": commit(), "machine": machine(),
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "command": "bench/failover_recovery.py " + " ".join(sys.argv[1:]),
           "job": "8 ranks (2 brokers with 2 copies of each partition, 2 ingest, 2 workers, 1 spare), "
                  "4 streams of 160x120 at 30 fps for 5 s, std-dev task; SIGKILL 1.5 s after the first progress line",
           "runs": res, "median": med,
           "recovered_ratio_to_worker": {k: round(med[k]["recovered_after_s"] / ref, 3) for k in med}}
    for k in med:
        print(f"{k}: median detected {med[k]['detected_after_s']:.3f} s, flowing {med[k]['recovered_after_s']:.3f} s "
              f"({out['recovered_ratio_to_worker'][k]:.2f}x the worker takeover)")
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    json.dump(out, open(os.path.join(ROOT, "results", "failover_recovery.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
