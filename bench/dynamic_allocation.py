#!/usr/bin/python3
"""Dynamic against static partition allocation (RIDE Sec. 3.2, issue #11), side by side in one run.

One batch job — W workers, P partitions (more partitions than workers), frames stored first —
with one worker slowed X times (faults.slow_rank / faults.slow_factor: its task takes X times as
long), run with topic.allocation = static (partitions dealt round-robin once: the slow worker
holds its share to the end) and = dynamic (a worker that drains a partition is given the next;
at the end the slow worker's last partition moves to a faster idle one). Each run is checked:
status ok, nothing lost or duplicated, processed == ingested. The figure is the ratio of the
execution times (summary processing_s), median of --repeat runs, and each worker's time idle
while work waited (dynamic).

Writes results/dynamic_allocation.json.

usage: bench/dynamic_allocation.py [--repeat 3] [--workers 2] [--partitions 8] [--slow 4]
"""
import os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import parse_args, result_head, ride_mpirun, write_result  # noqa: E402


def run(tmp, alloc, a, k):
    summary = os.path.join(tmp, f"{alloc}_{k}.json")
    np_ = 3 + a.workers
    args = ["--job.mode=batch", f"--job.workers={a.workers}", "--job.spares=0", "--job.brokers=1", "--job.ingest=1",
            f"--topic.partitions={a.partitions}", f"--topic.allocation={alloc}",
            f"--ingest.streams={a.partitions}", f"--ingest.frames={a.frames}",
            f"--ingest.width={a.width}", f"--ingest.height={a.width * 3 // 4}", f"--task.name={a.task}",
            "--faults.slow_rank=3", f"--faults.slow_factor={a.slow:g}",
            "--summary", summary, f"--output.path={os.path.join(tmp, f'{alloc}_{k}.h5')}"]
    s, cmd = ride_mpirun(np_, args, summary, tmp, 900, f"dynamic_allocation: {alloc} run")
    f = s["frames"]
    if not (s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"]):
        sys.exit(f"dynamic_allocation: {alloc} run lost or duplicated frames: {f}")
    return s, " ".join(cmd)


def main():
    a = parse_args(repeat=3, workers=2, partitions=8, frames=(int, 60, "frames per partition"), width=640,
                   task="hessian", slow=4.0)
    rows = {"static": [], "dynamic": []}
    with tempfile.TemporaryDirectory(prefix="ride-alloc-") as tmp:
        for k in range(a.repeat):
            for alloc in ("static", "dynamic"):  # interleaved: the machine's noise hits both
                s, cmd = run(tmp, alloc, a, k)
                rows[alloc].append({"processing_s": s["processing_s"], "moves": s["allocation"]["moves"],
                                    "idle_while_work_waits_s": s["allocation"]["idle_while_work_waits_s"],
                                    "per_worker": {str(w["rank"]): w["processed"] for w in s["workers"]},
                                    "command": cmd})
                print(f"{alloc:8s} run {k + 1}: {s['processing_s']:.3f} s, moves {s['allocation']['moves']}, "
                      f"frames per worker {rows[alloc][-1]['per_worker']}", flush=True)
    st = statistics.median(r["processing_s"] for r in rows["static"])
    dy = statistics.median(r["processing_s"] for r in rows["dynamic"])
    ratios = [x["processing_s"] / y["processing_s"] for x, y in zip(rows["static"], rows["dynamic"])]
    # Two workers, one X times slower, equal shares: static takes X/2 of the work at full speed,
    # perfectly balanced work takes 1/(1 + 1/X): the bound on the ratio is (X + 1) / 2.
    bound = (a.slow + 1) / 2 if a.workers == 2 else None
    result = {
        **result_head("dynamic_allocation", cores=os.cpu_count()),
        "setup": {"workers": a.workers, "partitions": a.partitions, "frames_per_partition": a.frames,
                  "frame": f"{a.width}x{a.width * 3 // 4}", "task": a.task, "slow_rank": 3, "slow_factor": a.slow,
                  "mode": "batch", "repeat": a.repeat},
        "static_s_median": round(st, 3), "dynamic_s_median": round(dy, 3),
        "ratio_static_over_dynamic_median": round(st / dy, 3),
        "ratios": [round(r, 3) for r in ratios],
        "runs": rows,
        "aim": ">= 1.5 (issue #11)",
        "bound_two_workers": bound,
        "note": f"with {a.workers} workers, one {a.slow:g}x slower, static waits for the slow worker's share; "
                "dynamic hands partitions to whichever worker is free",
    }
    write_result(result)
    print(f"static {st:.3f} s, dynamic {dy:.3f} s (medians of {a.repeat}): dynamic {st / dy:.2f}x sooner "
          f"(runs: {', '.join(f'{r:.2f}' for r in ratios)})" + (f"; perfect balance would give {bound:.2f}x" if bound else ""))


if __name__ == "__main__":
    main()
