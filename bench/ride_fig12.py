#!/usr/bin/python3
"""Reproduction of RIDE Fig. 12 ("Performance of dynamic node scalability"): a 900x900 stream
through the std-dev filter while worker nodes join the running job, without a restart.

RIDE (Sec. 5): "Initially, each of three broker node has one partition which is processed by one
of three worker nodes ... Stream image data is not processed for 45 s after start of input
stream generation. At 45 s, one worker node starts to process the frames with processing speed
of 3.4 frames per second. After 80 s, two worker nodes process the frames with processing speed
of 7.8 frames per second. After 120 s, three nodes process the stream data with processing speed
of 11.89 frames per second. ... Stream data is generated until up to 167 s, and all the data is
processed about at 180 s with the red line converging to zero."

Here: 3 brokers with one partition each, 1 ingest rank, and a worker group that the master grows
by `scaling.schedule` (adaptive groups, #11): 0 workers, then 1, 2, 3 at the paper's times
multiplied by --time-scale (default 0.25: 11.25, 20, 30 s; generation ends at 41.75 s), so the
run fits this machine; the input rate and each worker's capacity keep the paper's proportions:
one worker slower than the input, two a little faster, three much faster. A worker's capacity is
fixed with faults.task_ms (each frame's task takes that much longer, sleeping), because 2 cores
shared by 8 ranks would otherwise set it. Workers fetch one frame at a time (worker.batch_frames
= 1), so a joining worker's first commit measures the hand-over plus one frame. Every frame is checked: processed == ingested, none
lost or duplicated, and the backlog must drain to zero.

Writes results/ride_fig12.{json,csv,png} (the unprocessed backlog and the processing rate per
second, the joins marked, the paper's rates beside ours).

usage: bench/ride_fig12.py [--time-scale 0.25] [--fps 30] [--worker-fps 18]
"""
import argparse, csv, json, os, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, machine, plot_caption  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))
PAPER_JOINS = [45.0, 80.0, 120.0]   # s: one, two, three workers
PAPER_END = 167.0                    # s: generation stops
PAPER_DONE = 180.0                   # s: everything processed
PAPER_FPS = [3.4, 7.8, 11.89]        # processing speed with 1, 2, 3 workers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-scale", type=float, default=0.25, help="the paper's times multiplied by this")
    ap.add_argument("--fps", type=float, default=30, help="input frames per second (one camera)")
    ap.add_argument("--worker-fps", type=float, default=18, help="one worker's capacity, frames per second")
    a = ap.parse_args()
    joins = [t * a.time_scale for t in PAPER_JOINS]
    end = PAPER_END * a.time_scale
    # The filter itself takes ~1 ms per 900x900 frame here; the rest of each frame's time sleeps.
    task_ms = max(0.0, 1000.0 / a.worker_fps - 1.0)
    schedule = "0:0," + ",".join(f"{t:g}:{n}" for n, t in enumerate(joins, start=1))
    with tempfile.TemporaryDirectory(prefix="ride-fig12-") as tmp:
        summary_path = os.path.join(tmp, "s.json")
        args = ["--job.brokers=3", "--job.ingest=1", "--job.workers=1", "--job.spares=2", "--topic.partitions=3",
                "--ingest.width=900", "--ingest.height=900", "--ingest.streams=1", f"--ingest.fps={a.fps:g}",
                f"--ingest.duration_s={end:g}", "--task.name=stddev", f"--faults.task_ms={task_ms:.3f}",
                "--scaling.adaptive=true", f"--scaling.schedule={schedule}", "--scaling.interval_s=0.25",
                "--broker.ring_mb=2048", "--job.stall_timeout_s=600", "--worker.batch_frames=1",
                "--summary", summary_path, f"--output.path={os.path.join(tmp, 'r.h5')}"]
        cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", "8", "--"] + args
        t_start = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=end * 4 + 300,
                           env=dict(os.environ, RIDE=os.path.join(BUILD, "ride"), TMPDIR=tmp))
        wall = time.time() - t_start
        if p.returncode != 0:
            sys.exit(f"fig12: ride exited {p.returncode}:\n{p.stdout[-4000:]}\n{p.stderr[-2000:]}")
        s = json.load(open(summary_path))
    f = s["frames"]
    if not (f["lost"] == 0 and f["duplicates"] == 0 and f["processed"] == f["ingested"] and s["status"] == "ok"):
        sys.exit(f"fig12: the run lost or duplicated frames: {f}\n{p.stdout[-3000:]}")
    tl = s["timeline"]
    t = [row["t"] + 1 for row in tl]  # the end of each second
    produced = [row["produced_total"] for row in tl]
    processed = [row["processed_total"] for row in tl]
    per_s = [row["processed"] for row in tl]
    backlog = [g - q for g, q in zip(produced, processed)]
    if backlog[-1] != 0:
        sys.exit(f"fig12: the backlog did not drain: {backlog[-1]} frames left")
    grows = [e for e in s["scaling"] if e["action"] == "grow"]
    join_t = [e["t_s"] for e in grows]
    done_t = next(tt for tt, b, g in zip(t, backlog, produced) if b == 0 and g == f["ingested"])
    # Processing speed in each phase: frames committed per second between one join and the next
    # (or, for the last, until the backlog is gone), from the per-second timeline.
    bounds = join_t + [done_t]
    phases = []
    for n in range(len(join_t)):
        lo, hi = bounds[n], bounds[n + 1]
        secs = [i for i, tt in enumerate(t) if lo + 1 <= tt <= hi]  # whole seconds after the join
        fps = sum(per_s[i] for i in secs) / len(secs) if secs else None
        phases.append({"workers": n + 1, "from_s": round(lo, 2), "to_s": round(hi, 2),
                       "processed_fps": None if fps is None else round(fps, 2),
                       "paper_fps": PAPER_FPS[n] if n < len(PAPER_FPS) else None})
    result = {
        "benchmark": "ride_fig12", "commit": commit(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": os.environ.get("RIDE_BENCH_PROFILE", "standalone"), "device": "cpu",
        "machine": machine(), "cores": os.cpu_count(),
        "command": "bench/ride_fig12.py " + " ".join(sys.argv[1:]),
        "ride_command": " ".join(cmd),
        "setup": {"ranks": 8, "brokers": 3, "partitions": 3, "ingest": 1, "worker_group": "0 -> 1 -> 2 -> 3 by scaling.schedule",
                  "resolution": "900x900", "task": "stddev 5x5", "input_fps": a.fps, "worker_capacity_fps": a.worker_fps,
                  "faults.task_ms": round(task_ms, 3), "time_scale": a.time_scale,
                  "note": "the paper's times multiplied by time_scale; the input rate and the workers' "
                          "capacity keep the paper's proportions (1 worker < input < 2 workers)"},
        "frames": f, "wall_s": round(wall, 1),
        "joins_s": [round(x, 3) for x in join_t], "scheduled_joins_s": joins,
        "first_commit_after_join_s": [e.get("first_commit_after_s") for e in grows],
        "generation_end_s": end, "all_processed_s": done_t, "peak_backlog_frames": max(backlog),
        "phases": phases,
        "paper": {"joins_s": PAPER_JOINS, "generation_end_s": PAPER_END, "all_processed_s": PAPER_DONE,
                  "processing_fps": PAPER_FPS,
                  "scaled_joins_s": joins, "scaled_generation_end_s": end,
                  "scaled_all_processed_s": PAPER_DONE * a.time_scale},
    }
    os.makedirs(os.path.join(ROOT, "results"), exist_ok=True)
    with open(os.path.join(ROOT, "results", "ride_fig12.json"), "w") as fh:
        json.dump(result, fh, indent=2)
    with open(os.path.join(ROOT, "results", "ride_fig12.csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["t_s", "produced_total", "processed_total", "unprocessed", "processed_per_s"])
        for row in zip(t, produced, processed, backlog, per_s):
            w.writerow(row)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5.2))
    ax.plot(t, backlog, color="tab:red", label="unprocessed frames (produced - processed)")
    ax.set_xlabel("seconds since the start (paper's times x %g)" % a.time_scale)
    ax.set_ylabel("unprocessed frames", color="tab:red")
    ax2 = ax.twinx()
    ax2.plot(t, per_s, color="tab:cyan", label="processed frames per second")
    ax2.set_ylabel("processed frames / s", color="tab:cyan")
    for n, jt in enumerate(join_t, start=1):
        ax.axvline(jt, color="gray", linewidth=0.8)
        ph = phases[n - 1]
        ax.text(jt, max(backlog) * (1.02 - 0.07 * n), f" {n} worker{'s' if n > 1 else ''}: ours "
                f"{ph['processed_fps']} fps\n paper {PAPER_FPS[n - 1]} fps (at {PAPER_JOINS[n - 1]:g} s)",
                fontsize=8, va="top")
    for n, pj in enumerate(joins, start=1):
        ax.axvline(pj, color="black", linestyle=":", linewidth=0.8)
    ax.axvline(end, color="tab:blue", linestyle="--", linewidth=0.8)
    ax.axvline(PAPER_DONE * a.time_scale, color="tab:green", linestyle=":", linewidth=1)
    ax.text(end, max(backlog) * 0.3, " generation ends", fontsize=8, color="tab:blue")
    ax.text(PAPER_DONE * a.time_scale, max(backlog) * 0.15, " paper: all processed\n (scaled)", fontsize=8,
            color="tab:green")
    ax.set_ylim(bottom=0)
    ax2.set_ylim(bottom=0)
    ax.set_title(f"ride: RIDE Fig. 12 reproduction: 900x900 at {a.fps:g} fps, workers join a running job\n"
                 f"(CPU, {os.cpu_count()} cores, 8 ranks; 1 worker = {a.worker_fps:g} fps via faults.task_ms; "
                 f"dotted: paper's joins scaled; all processed at {done_t} s)", fontsize=9)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
    ax.legend(lines, labels, loc="upper left", fontsize=8)
    fig.text(0.5, 0.005, plot_caption(result, "8 MPI ranks (1 master + 3 brokers + 1 ingest + 0-3 workers), oversubscribed"), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(os.path.join(ROOT, "results", "ride_fig12.png"), dpi=110)
    print(f"joins at {', '.join(f'{x:.2f}' for x in join_t)} s (scheduled {', '.join(f'{x:g}' for x in joins)}); "
          f"peak backlog {max(backlog)} frames; all processed at {done_t} s (paper scaled: "
          f"{PAPER_DONE * a.time_scale:g} s); phases: " +
          "; ".join(f"{ph['workers']} worker(s) {ph['processed_fps']} fps (paper {ph['paper_fps']})" for ph in phases) +
          f"; first commit after each join: {result['first_commit_after_join_s']}; frames {f['ingested']} ingested, "
          f"{f['processed']} processed, lost {f['lost']}, duplicates {f['duplicates']}")


if __name__ == "__main__":
    main()
