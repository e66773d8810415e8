#!/usr/bin/python3
"""What a second copy of every frame costs (#14): the broker path (ingest -> leader broker ->
worker, no-op task, stream mode without a rate limit, 256 MB ring, spill off — as
bench/broker_throughput.py) with topic.replication 1 and 2 on the same two brokers, interleaved
run by run so that the machine's noise hits both. With 2 copies a produce is acknowledged, and
fetched, only once the follower holds it too (one more 810 KB transfer per frame, to the other
broker). Every run is checked (status ok, nothing lost or duplicated). Writes
results/replication_throughput.json.

usage: bench/replication_throughput.py [--repeat 3] [--frames 3000] [--size 900]
"""
import json, os, statistics, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, parse_args, result_head, write_result  # noqa: E402


def main():
    a = parse_args(repeat=3, frames=3000, size=900)
    res = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeat):
            for r in (1, 2):
                summ = os.path.join(tmp, "s.json")
                cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "5", "--",
                       "--job.brokers=2", "--job.workers=1", "--job.spares=0", "--topic.partitions=2",
                       f"--topic.replication={r}", "--task.name=noop", f"--ingest.width={a.size}",
                       f"--ingest.height={a.size}", "--ingest.streams=1", "--ingest.fps=1e6",
                       f"--ingest.frames={a.frames}", "--broker.spill=false", "--broker.ring_mb=256",
                       "--status.interval_s=30", "--summary", summ, f"--output.path={tmp}/r.h5"]
                subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, RIDE=os.path.join(ROOT, "build", "ride")))
                s = json.load(open(summ))
                f = s["frames"]
                assert s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"], f
                res[r].append(round(s["throughput_fps"], 1))
                print(f"run {i + 1} replication {r}: {s['throughput_fps']:.1f} frames/s", flush=True)
    m1, m2 = statistics.median(res[1]), statistics.median(res[2])
    mb = a.size * a.size / 1e6
    out = {**result_head("replication_throughput"),
           "job": f"5 ranks (2 brokers, 1 ingest, 1 worker), no-op task, {a.frames} frames of {a.size}x{a.size} ({mb:.2f} MB)",
           "frames_per_s": {"replication_1": res[1], "replication_2": res[2]},
           "median_fps": {"replication_1": m1, "replication_2": m2},
           "ratio_2_over_1": round(m2 / m1, 3)}
    print(f"medians: replication 1 {m1:.1f}, replication 2 {m2:.1f} frames/s: {m2 / m1:.3f}x")
    write_result(out)


if __name__ == "__main__":
    main()
