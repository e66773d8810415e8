#!/usr/bin/python3
"""The cost of a hop through the brokers (issue #12): a two-stage pipeline against the same two
tasks fused into one stage, side by side in one run.

Batch jobs of 900x900 frames (stored first, then processed; RIDE's execution time):
  fused:     one stage, task `fused` (bench/task/fused_task.cpp: the first task, then the
             second, on every frame, in one worker), W workers, W partitions;
  two-stage: stage a = the first task (forward = every frame), stage b = the second task, reading
             a, W workers each ("enough workers": neither stage waits on the other for want of
             workers; the machine's cores are shared by all ranks as in the fused job).
Each run is checked: status ok, nothing lost or duplicated in any stage, every frame through
both tasks. The figure is frames through both tasks per second (summary: frames / processing_s),
two-stage over fused, median of --repeat interleaved runs.

Writes results/pipeline_hop.json (results/pipeline_hop_TAG.json with --tag TAG).

usage: bench/pipeline_hop.py [--repeat 3] [--workers 2] [--streams 4] [--frames 30]
                             [--first stddev] [--second hessian] [--size 900] [--tag TAG]
"""
import os, statistics, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, parse_args, result_head, ride_mpirun, write_result  # noqa: E402

LIBRARY = os.path.join(BUILD, "bench", "task", "libride_fused_task.so")


def run(tmp, kind, a, k):
    summary = os.path.join(tmp, f"{kind}_{k}.json")
    common = ["--job.mode=batch", "--job.spares=0", "--job.brokers=1", "--job.ingest=1",
              f"--ingest.streams={a.streams}", f"--ingest.frames={a.frames}",
              f"--ingest.width={a.size}", f"--ingest.height={a.size}",
              "--summary", summary, f"--output.path={os.path.join(tmp, f'{kind}_{k}.h5')}"]
    if kind == "fused":
        np_ = 3 + a.workers
        args = [f"--job.workers={a.workers}", f"--topic.partitions={a.workers}", f"--task.library={LIBRARY}",
                "--task.name=fused", f"--params.first={a.first}", f"--params.second={a.second}"]
    else:
        np_ = 3 + 2 * a.workers
        args = ["--job.stages=a,b", f"--stage.a.task={a.first}", f"--stage.a.workers={a.workers}",
                f"--stage.b.task={a.second}", "--stage.b.input=a", f"--stage.b.workers={a.workers}"]
    s, cmd = ride_mpirun(np_, common + args, summary, tmp, 1800, f"pipeline_hop: {kind} run")
    f = s["frames"]
    frames = a.streams * a.frames
    ok = s["status"] == "ok" and f["lost"] == 0 and f["duplicates"] == 0 and f["ingested"] == frames
    through = f["processed"]
    if kind == "two-stage":
        st = s["stages"]
        ok = ok and all(v["lost"] == 0 and v["duplicates"] == 0 for v in st.values())
        through = st["b"]["processed"]
    if not ok or through != frames:
        sys.exit(f"pipeline_hop: {kind} run lost, duplicated or skipped frames: {f} {s.get('stages')}")
    return s, through / s["processing_s"], " ".join(cmd)


def main():
    a = parse_args(repeat=3, workers=2, streams=4, frames=(int, 30, "frames per stream"), size=900,
                   first="stddev", second="hessian", tag="")
    if not os.path.exists(LIBRARY):
        sys.exit(f"pipeline_hop: {LIBRARY} is missing: build the project first (scripts/setup.sh)")
    rows = {"fused": [], "two-stage": []}
    with tempfile.TemporaryDirectory(prefix="ride-hop-") as tmp:
        for k in range(a.repeat):
            for kind in ("fused", "two-stage"):  # interleaved: the machine's noise hits both
                s, fps, cmd = run(tmp, kind, a, k)
                rows[kind].append({"fps": fps, "processing_s": s["processing_s"], "command": cmd,
                                   "stages": {n: {"processed": v["processed"], "fps": v["fps"]}
                                              for n, v in s["stages"].items()}})
                print(f"{kind:9s} run {k + 1}: {fps:.2f} frames/s through both tasks "
                      f"({s['processing_s']:.2f} s)", flush=True)
    fu = statistics.median(r["fps"] for r in rows["fused"])
    two = statistics.median(r["fps"] for r in rows["two-stage"])
    ratios = [t["fps"] / f["fps"] for f, t in zip(rows["fused"], rows["two-stage"])]
    result = {
        **result_head("pipeline_hop", cores=os.cpu_count()),
        "setup": {"frame": f"{a.size}x{a.size}", "streams": a.streams, "frames_per_stream": a.frames,
                  "first": a.first, "second": a.second, "workers_fused": a.workers,
                  "workers_per_stage": a.workers, "mode": "batch", "repeat": a.repeat, "device": "cpu"},
        "fused_fps_median": round(fu, 3), "two_stage_fps_median": round(two, 3),
        "ratio_two_stage_over_fused_median": round(two / fu, 3),
        "ratios": [round(r, 3) for r in ratios],
        "runs": rows,
        "aim": ">= 0.8 (issue #12)",
        "note": "frames through both tasks per second of processing; the two-stage job moves every frame "
                "through a second topic (broker, worker, results) and commits stage a only after stage b's "
                "broker took the frame",
    }
    write_result(result, "pipeline_hop" + (f"_{a.tag}" if a.tag else ""))
    print(f"fused {fu:.2f} frames/s, two-stage {two:.2f} frames/s (medians of {a.repeat}): two-stage keeps "
          f"{100 * two / fu:.0f} % of the fused rate (runs: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
