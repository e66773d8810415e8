#!/usr/bin/python3
"""Reproduction of RIDE Fig. 10 (CPU) and, with --device gpu, Fig. 11 (GPU): execution time of
the std-dev filter over 1000 stored images at 900x900, 1600x1600 and 2500x2500 as the number of
worker nodes grows, with the images stored in three broker nodes first (batch mode) and one
partition per worker. RIDE (Sec. 5): "the total execution time decreases as the number of
resources increases, but the overall efficiency is maximized ... when the number of worker nodes
is identical to that of the broker nodes, since a broker node is mainly in charge of only one
worker node."

The figures' numbers are not in the paper's text we have (the plots were lost), so this script
compares with RIDE's qualitative claim only and never with numbers.

Each point is one batch job, 1 master + B brokers + 1 ingest + W workers (N = B + W + 2 MPI
ranks, oversubscribed on this machine's cores), `--topic.partitions=W`, no spares. The
execution time is the summary's `processing_s` (bench/METRICS.md); speed-up T(W0)/T(W) and
scaling efficiency W0*T(W0)/(W*T(W)) are relative to the smallest worker count W0 (normally 1).
Every run is verified: status ok, lost = duplicates = failed = 0, processed = ingested = images.

Writes results/ride_fig10.{json,csv,png} (ride_fig11.* with --device gpu; ride_fig10_quick.*
with --quick; --out-prefix changes the path prefix).

usage: bench/ride_fig10.py [--quick] [--device cpu|gpu] [--images 1000] [--workers 1,2,3,4]
                           [--resolutions 900,1600,2500] [--brokers 3] [--streams 4]
                           [--repeat 1] [--out-prefix results/ride_fig10]
       bench/ride_fig10.py --replot results/ride_fig10.json   (redraws the PNG only)
"""
import argparse, csv, json, os, signal, statistics, subprocess, sys, tempfile, textwrap, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import commit, cuda_devices, machine, plot_caption  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("RIDE_BUILD_DIR", os.path.join(ROOT, "build"))
RIDE = os.path.join(BUILD, "ride")
PAPER_NOTE = ("RIDE's Fig. {fig} values are not in the text we have; the paper reports time "
              "falling with workers, efficiency best at workers = brokers (3)")


def ints(text):
    try:
        v = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}")
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError(f"need positive integers: {text!r}")
    return v


def kill_session(sid):
    """SIGKILLs every process of session `sid` (the job's own): mpirun puts each rank in a
    process group of its own, so killing the launcher's group would leave the ranks running."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp session
        if int(fields[3]) == sid:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def run_point(a, res, workers, tmp, tag, task="stddev", height=None, device=None, who="ride_fig10"):
    """One batch job of a.images frames of res x (height or res) through `task` on `device` (default
    a.device); returns what the point needs from its summary. Exits on any failure (bench/ride_fig9.py
    uses it too)."""
    height = height or res
    device = device or a.device
    ranks = 1 + a.brokers + 1 + workers
    summary = os.path.join(tmp, f"{tag}.json")
    results = os.path.join(tmp, f"{tag}.h5")
    log = os.path.join(tmp, f"{tag}.log")
    args = ["--job.mode=batch", f"--job.brokers={a.brokers}", "--job.ingest=1",
            f"--job.workers={workers}", "--job.spares=0", f"--topic.partitions={workers}",
            f"--ingest.streams={a.streams}", f"--ingest.frames={a.images // a.streams}",
            f"--ingest.width={res}", f"--ingest.height={height}", f"--task.name={task}",
            f"--worker.device={device}", "--summary", summary, f"--output.path={results}"] + list(getattr(a, "extra", []))
    cmd = [os.path.join(ROOT, "scripts", "ride-mpirun"), "--oversubscribe", "-np", str(ranks),
           "--"] + args
    shown = " ".join(["scripts/ride-mpirun", "--oversubscribe", "-np", str(ranks), "--"] + args)

    def fail(why):
        tail = open(log).read()[-4000:] if os.path.exists(log) else "(no output)"
        sys.exit(f"{who}: {task} {res}x{height}, {workers} worker(s): {why}\n  command: {shown}\n"
                 f"--- job output (tail) ---\n{tail}")

    t = time.time()
    with open(log, "w") as out:
        # Own session, so that a job past its time limit is ended with all its ranks. TMPDIR:
        # the brokers' spill files (and the launcher's exit file) go to our temporary folder,
        # on the same disk as /tmp, and are removed with it even after a killed job.
        job = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                               env=dict(os.environ, RIDE=RIDE, TMPDIR=tmp))
        try:
            rc = job.wait(timeout=a.job_timeout)
        except subprocess.TimeoutExpired:
            kill_session(job.pid)
            job.wait()
            fail(f"no end after {a.job_timeout} s (killed)")
    wall = time.time() - t
    if rc != 0:
        fail(f"ride-mpirun exited {rc}")
    try:
        s = json.load(open(summary))
    except (OSError, ValueError) as e:
        fail(f"no readable summary ({e})")
    f = s["frames"]
    problems = []
    if s.get("status") != "ok":
        problems.append(f"status {s.get('status')!r}, errors {s.get('errors')}")
    for key in ("lost", "duplicates", "failed"):
        if f.get(key) != 0:
            problems.append(f"{key} = {f.get(key)}")
    if not (f.get("processed") == f.get("ingested") == a.images):
        problems.append(f"processed {f.get('processed')}, ingested {f.get('ingested')}, "
                        f"expected {a.images}")
    roles = [r["role"] for r in sorted(s["ranks"], key=lambda r: r["rank"])]
    if roles.count("worker") != workers or roles.count("broker") != a.brokers:
        problems.append(f"rank layout {roles}")
    if s.get("processing_s", 0) <= 0:
        problems.append(f"processing_s = {s.get('processing_s')}")
    if problems:
        fail("result check failed: " + "; ".join(problems))
    spilled = sum(pp.get("spilled_frames", 0) for b in s.get("brokers", [])
                  for pp in b.get("partitions", []))
    return {"execution_time_s": s["processing_s"], "ingest_s": s["ingest_s"],
            "elapsed_s": s["elapsed_s"], "wall_s": wall, "throughput_fps": s["throughput_fps"],
            "spilled_frames": spilled,
            "frames_per_worker": [w.get("processed") for w in sorted(s["workers"], key=lambda w: w["rank"])],
            "ranks": ranks, "layout": roles, "command": shown}


def plot(result, png):
    """Left: execution time vs workers, one line per resolution; right: scaling efficiency."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    st, rows = result["setup"], result["rows"]
    fig = 11 if result["device"] == "gpu" else 10
    workers, brokers, cores = st["workers"], st["brokers"], result["cores"]
    w0 = workers[0]
    fig_, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5.4))
    colors = {900: "tab:blue", 1600: "tab:orange", 2500: "tab:green"}
    for r in st["resolutions"]:
        rr = [row for row in rows if row["resolution"] == r]
        ws = [row["workers"] for row in rr]
        c = colors.get(r)
        ax1.plot(ws, [row["execution_time_s"] for row in rr], "o-", color=c, label=f"{r}x{r}")
        if st["repeat"] > 1:  # every run, behind the medians
            for row in rr:
                ax1.plot([row["workers"]] * len(row["runs_execution_time_s"]),
                         row["runs_execution_time_s"], ".", color=c, alpha=0.35)
        ax2.plot(ws, [row["efficiency"] for row in rr], "o-", color=c, label=f"{r}x{r}")
        for row in rr[1:]:  # the first is 1.00x by definition
            ax2.annotate(f"{row['speedup']:.2f}x", (row["workers"], row["efficiency"]),
                         textcoords="offset points", xytext=(6, 4), fontsize=7, color=c)
    for ax in (ax1, ax2):
        ax.set_xticks(workers)
        ax.set_xlabel("worker nodes (= partitions)")
        ax.grid(alpha=0.3)
        if min(workers) <= brokers <= max(workers):
            ax.axvline(brokers, color="gray", linestyle=":", linewidth=1)
    ax1.set_yscale("log")
    ax1.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax1.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.yaxis.set_minor_formatter(NullFormatter())
    ax1.set_ylabel(f"execution time (s, log scale) for {st['images']} images")
    ax1.set_title("execution time (median processing_s)")
    ax1.legend(title="resolution", loc="best", fontsize=8)
    ax2.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="ideal")
    ax2.set_ylabel(f"scaling efficiency  {w0}·T({w0}) / (W·T(W))" if w0 != 1
                   else "scaling efficiency  T(1) / (W·T(W))")
    ax2.set_ylim(0, max(1.15, max(row["efficiency"] for row in rows) * 1.1))
    ax2.set_title("scaling efficiency (labels: speed-up)")
    ax2.legend(loc="lower left", title="resolution", fontsize=8)
    if min(workers) <= brokers <= max(workers):
        right = brokers >= max(workers)
        ax2.text(brokers, 0.02, f" workers = brokers ({brokers}):\n paper's best efficiency ",
                 fontsize=7, color="gray", va="bottom", ha="right" if right else "left")
    fig_.suptitle(f"ride: RIDE Fig. {fig} reproduction ({result['profile']} profile): std-dev "
                  f"filter, {result['device'].upper()} workers, {st['images']} images stored in "
                  f"{brokers} brokers, batch mode", fontsize=11)
    lo, hi = min(row["ranks"] for row in rows), max(row["ranks"] for row in rows)
    caption = (f"{cores} cores for {lo}-{hi} MPI ranks (1 master + {brokers} brokers + 1 ingest + "
               f"W workers): ranks are oversubscribed, so speed-up beyond {cores} cores is not "
               "expected. Each partition keeps 512 MB of frames in memory and spills the rest to "
               "disk, so runs with fewer workers spill more. Shared machine: timings are noisy "
               f"(median of {st['repeat']} run{'s' if st['repeat'] > 1 else ''} per point). "
               + PAPER_NOTE.format(fig=fig) + ". "
               + plot_caption(result, f"{lo}-{hi} MPI ranks") + ".")
    fig_.text(0.5, 0.01, "\n".join(textwrap.wrap(caption, 150)), ha="center", va="bottom",
              fontsize=8)
    fig_.tight_layout(rect=(0, 0.09, 1, 0.97))
    fig_.savefig(png, dpi=110)
    plt.close(fig_)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200 images, workers 1,2,4")
    ap.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    ap.add_argument("--images", type=int, help="images per resolution (default 1000; quick 200)")
    ap.add_argument("--workers", type=ints, help="worker counts (default 1,2,3,4; quick 1,2,4)")
    ap.add_argument("--resolutions", type=ints, default=[900, 1600, 2500])
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--streams", type=int, default=4,
                    help="ingest streams; images = streams x frames per stream (round-robin "
                         "partitioning spreads frames evenly whatever the stream count)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per point; the median is used")
    ap.add_argument("--job-timeout", type=float, default=900, help="seconds per job")
    ap.add_argument("--out-prefix", help="default results/ride_fig10 (ride_fig11 on GPU; "
                                         "_quick appended with --quick)")
    ap.add_argument("--replot", metavar="JSON",
                    help="only redraw the PNG from a result file this script wrote (next to it)")
    a = ap.parse_args()
    if a.replot:
        plot(json.load(open(a.replot)), os.path.splitext(a.replot)[0] + ".png")
        return
    defaults = a.images is None and a.workers is None
    if a.images is None:
        a.images = 200 if a.quick else 1000
    if a.workers is None:
        a.workers = [1, 2, 4] if a.quick else [1, 2, 3, 4]
    a.workers = sorted(set(a.workers))
    if a.images % a.streams:
        ap.error(f"--images {a.images} is not a multiple of --streams {a.streams}")
    if a.brokers < 1 or a.repeat < 1:
        ap.error("--brokers and --repeat must be >= 1")
    profile = ("quick" if a.quick else "full") if defaults and a.resolutions == [900, 1600, 2500] \
        and a.brokers == 3 else "custom"
    fig = 11 if a.device == "gpu" else 10
    # A quick run never overwrites the full run's files.
    prefix = a.out_prefix or os.path.join(
        ROOT, "results", f"ride_fig{fig}" + ("_quick" if a.quick else ""))
    if not os.access(RIDE, os.X_OK):
        sys.exit(f"ride_fig10: no ride binary at {RIDE} (build first, or set RIDE_BUILD_DIR)")
    if a.device == "gpu":
        n, version = cuda_devices()
        if n == 0:
            sys.exit("ride_fig10: --device gpu needs a CUDA device, and this ride binary sees "
                     f"none ('ride version' says: {version!r}); the jobs would fail with "
                     "\"worker.device=gpu but host ... has no usable CUDA device\". Run it on a "
                     "GPU host, or without --device gpu for Fig. 10.")
    cores = os.cpu_count()
    t_start = time.time()
    load_start = os.getloadavg()
    runs = {(r, w): [] for r in a.resolutions for w in a.workers}
    print(f"ride_fig{fig}: {profile} profile, {a.device.upper()}, {a.images} images, "
          f"{a.brokers} brokers, workers {a.workers}, resolutions {a.resolutions}, "
          f"repeat {a.repeat}, {cores} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="ride-fig10-") as tmp:
        # Repeats are interleaved (all points, then all points again) so that a burst of load
        # from other work on the machine does not land on one point's repeats only.
        for k in range(a.repeat):
            for r in a.resolutions:
                for w in a.workers:
                    p = run_point(a, r, w, tmp, f"r{r}_w{w}_k{k}")
                    runs[(r, w)].append(p)
                    print(f"  {r}x{r} workers {w} ({p['ranks']} ranks) run {k + 1}/{a.repeat}: "
                          f"{p['execution_time_s']:.3f} s processing, {p['wall_s']:.1f} s wall, "
                          f"{p['spilled_frames']} frames spilled", flush=True)
    total_wall = time.time() - t_start
    w0 = a.workers[0]
    rows = []
    for r in a.resolutions:
        t0 = statistics.median(p["execution_time_s"] for p in runs[(r, w0)])
        for w in a.workers:
            ps = runs[(r, w)]
            t = statistics.median(p["execution_time_s"] for p in ps)
            rows.append({
                "device": a.device, "resolution": r, "workers": w, "brokers": a.brokers,
                "partitions": w, "ranks": ps[0]["ranks"], "images": a.images,
                "streams": a.streams, "frames_per_stream": a.images // a.streams,
                "execution_time_s": round(t, 4),
                "speedup": round(t0 / t, 4),
                "efficiency": round(w0 * t0 / (w * t), 4),
                "throughput_fps": round(a.images / t, 2),
                "runs_execution_time_s": [round(p["execution_time_s"], 4) for p in ps],
                "ingest_s_median": round(statistics.median(p["ingest_s"] for p in ps), 4),
                "wall_s_median": round(statistics.median(p["wall_s"] for p in ps), 3),
                "spilled_frames": [p["spilled_frames"] for p in ps],
                "frames_per_worker": ps[0]["frames_per_worker"],
                "layout": ps[0]["layout"], "command": ps[0]["command"]})
    oversub = max(row["ranks"] for row in rows) > cores
    result = {
        "benchmark": f"ride_fig{fig}", "figure": f"RIDE Fig. {fig}",
        "commit": commit(), "machine": machine(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(["bench/ride_fig10.py"] + sys.argv[1:]),
        "profile": profile, "device": a.device, "cores": cores,
        "oversubscribed": oversub,
        "setup": {"images": a.images, "resolutions": a.resolutions, "workers": a.workers,
                  "brokers": a.brokers, "ingest": 1, "spares": 0,
                  "partitions": "one per worker", "streams": a.streams,
                  "partitioning": "round_robin (default)", "task": "stddev (5x5, built-in)",
                  "mode": "batch: every image stored in the brokers first, then processed",
                  "repeat": a.repeat, "ranks": "1 master + brokers + 1 ingest + workers"},
        "metrics": {
            "execution_time_s": "median over --repeat runs of the summary's processing_s: the "
                                "workers' assignment (all images stored) to the last commit",
            "speedup": f"T({w0}) / T(W), per resolution",
            "efficiency": f"{w0} * T({w0}) / (W * T(W)), per resolution "
                          "(T(1) / (W * T(W)) when the smallest worker count is 1)"},
        "notes": [
            f"{cores} cores for up to {max(row['ranks'] for row in rows)} MPI ranks: ranks are "
            "oversubscribed, so speed-up beyond the core count is not expected here",
            "the machine is shared with other engineers' test runs: timings are noisy",
            "frames beyond a partition's 512 MB memory ring spill to HDF5 on disk "
            "(spilled_frames per run); reading them back is part of the execution time",
            PAPER_NOTE.format(fig=fig)],
        "paper": {"values": None,
                  "claim": "execution time decreases as workers increase; overall efficiency "
                           "is maximized when workers = brokers (3)",
                  "source": "RIDE Sec. 5, Figs. 10-11 (plots not in the text we have)"},
        "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "total_wall_s": round(total_wall, 1),
        "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    with open(prefix + ".json", "w") as fh:
        json.dump(result, fh, indent=2)
    cols = ["device", "resolution", "workers", "brokers", "partitions", "ranks", "images",
            "streams", "frames_per_stream", "execution_time_s", "speedup", "efficiency",
            "throughput_fps", "runs_execution_time_s", "ingest_s_median", "wall_s_median",
            "spilled_frames"]
    with open(prefix + ".csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(cols)
        for row in rows:
            wr.writerow([";".join(map(str, row[c])) if isinstance(row[c], list) else row[c]
                         for c in cols])

    plot(result, prefix + ".png")

    print(f"\n{'resolution':>10} {'workers':>7} {'ranks':>5} {'time_s':>9} {'speedup':>7} "
          f"{'effic.':>6} {'fps':>7}")
    for row in rows:
        print(f"{row['resolution']:>10} {row['workers']:>7} {row['ranks']:>5} "
              f"{row['execution_time_s']:>9.3f} {row['speedup']:>7.2f} {row['efficiency']:>6.2f} "
              f"{row['throughput_fps']:>7.1f}")
    print(f"\n{PAPER_NOTE.format(fig=fig)}.\n{cores} cores, ranks oversubscribed; shared machine, "
          f"noisy timings. Total {total_wall:.0f} s. Wrote {prefix}.json, .csv, .png")


if __name__ == "__main__":
    main()
