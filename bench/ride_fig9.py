#!/usr/bin/python3
"""Reproduction of RIDE Fig. 9: the execution time of RIDE's four applications - the standard
deviation filter, SURF (ride's `hessian`: the fast-Hessian detector), matrix multiplication and
FFT - on 24,160 x 25,720 images stored in three broker nodes, in CPU-only mode and in
heterogeneous mode (GPU workers). RIDE (Sec. 5): heterogeneous mode is "much better" than
CPU-only; the figure's values are only in its plot, not in the text we have.

Each bar is one batch job (bench/ride_fig10.py's run_point: every image stored in the brokers
first, then processed; checked: status ok, nothing lost, duplicated or failed, every image
processed), 1 master + 3 brokers + 1 ingest + W workers, one partition per worker; the time is
the summary's processing_s. GPU bars run only where the ride binary sees a CUDA device;
elsewhere they are marked "not run".

--quick: 6,040 x 6,430 (a quarter of each side; 38.8 MB frames), 4 images, 2 workers: this 2-core
machine. Full: RIDE's 24,160 x 25,720 (621 MB frames), 6 images, 6 workers (RIDE's Table 1):
for a cluster or a GPU box with the memory for it.
Writes results/ride_fig9[_quick].{json,csv,png}.

usage: bench/ride_fig9.py [--quick] [--images N] [--workers W] [--size WxH] [--apps stddev,hessian,matmul,fft]
                         [--out-prefix results/ride_fig9]
"""
import argparse, csv, os, sys, tempfile, textwrap, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, commit, cuda_devices, machine  # noqa: E402
import ride_fig10  # noqa: E402

APPS = [("stddev", "std-dev filter"), ("hessian", "SURF (fast-Hessian)"), ("matmul", "matrix multiplication"),
        ("fft", "FFT")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--images", type=int)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--size")
    ap.add_argument("--job-timeout", type=float, default=None)
    ap.add_argument("--apps", default=",".join(t for t, _ in APPS), help="a subset of " + ",".join(t for t, _ in APPS))
    ap.add_argument("--out-prefix", help="JSON/CSV/PNG path without extension (default results/ride_fig9[_quick])")
    a = ap.parse_args()
    apps = [(t, label) for t, label in APPS if t in a.apps.split(",")]
    if not apps:
        sys.exit(f"ride_fig9: --apps names none of {','.join(t for t, _ in APPS)}")
    a.brokers = 3
    a.size = a.size or ("6040x6430" if a.quick else "24160x25720")
    a.images = a.images or (4 if a.quick else 6)
    a.workers = a.workers or (2 if a.quick else 6)
    a.streams = 2 if a.images % 2 == 0 else 1
    a.job_timeout = a.job_timeout or (300 if a.quick else 7200)
    w, h = (int(v) for v in a.size.split("x"))
    frame_mb = w * h / 1e6
    # the memory ring must hold a few frames; beyond it they spill to HDF5 as usual
    a.extra = [f"--broker.ring_mb={max(256, int(4 * frame_mb))}"]
    a.device = "cpu"
    n_gpu, _ = cuda_devices()
    profile = os.environ.get("RIDE_BENCH_PROFILE", "quick" if a.quick else "full")
    rows, out_rows = [], []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ride-fig9-") as tmp:
        for task, label in apps:
            for device in ("cpu", "gpu"):
                if device == "gpu" and n_gpu == 0:
                    rows.append({"task": task, "application": label, "device": device, "execution_time_s": None,
                                 "note": "not run: no CUDA device seen by this ride binary"})
                    continue
                p = ride_fig10.run_point(a, w, a.workers, tmp, f"{task}_{device}", task=task, height=h, device=device,
                                         who="ride_fig9")
                rows.append({"task": task, "application": label, "device": device,
                             "execution_time_s": round(p["execution_time_s"], 3), "ingest_s": round(p["ingest_s"], 3),
                             "frames_per_worker": p["frames_per_worker"], "ranks": p["ranks"], "command": p["command"]})
                print(f"ride_fig9: {label} on {device}: {p['execution_time_s']:.2f} s", flush=True)
    for task, label in apps:
        cpu = next(r for r in rows if r["task"] == task and r["device"] == "cpu")
        gpu = next(r for r in rows if r["task"] == task and r["device"] == "gpu")
        ours = f"CPU-only {cpu['execution_time_s']:.2f} s; heterogeneous " + \
               (f"{gpu['execution_time_s']:.2f} s" if gpu["execution_time_s"] is not None else "not run (no GPU)")
        out_rows.append({"quantity": f"{label}, {a.images} images of {w}×{h}, {a.workers} workers: execution time",
                         "paper": "heterogeneous much faster than CPU-only (values only in the plot)", "ours": ours,
                         "compare": (f"CPU / GPU = {cpu['execution_time_s'] / gpu['execution_time_s']:.1f}×"
                                     if gpu["execution_time_s"] else "–")})
    name = "ride_fig9" + ("_quick" if a.quick else "")
    result = {"benchmark": "ride_fig9", "figure": "RIDE Fig. 9", "commit": commit(), "machine": machine(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": "bench/ride_fig9.py " + " ".join(sys.argv[1:]), "profile": profile,
              "device": "cpu+gpu" if n_gpu else "cpu",
              "setup": {"size": a.size, "frame_mb": round(frame_mb, 1), "images": a.images, "workers": a.workers,
                        "brokers": a.brokers, "ingest": 1, "partitions": a.workers, "mode": "batch",
                        "ranks": 1 + a.brokers + 1 + a.workers, "cuda_devices": n_gpu},
              "paper": {"values": None, "claim": "heterogeneous mode performs much better than CPU-only mode",
                        "source": "RIDE Sec. 5, Fig. 9 (plot not in the text we have)"},
              "rows": rows, "readme_rows": out_rows, "wall_s": round(time.monotonic() - t0, 1)}
    import json
    out = os.path.join(ROOT, a.out_prefix) if a.out_prefix else os.path.join(ROOT, "results", name)
    json.dump(result, open(out + ".json", "w"), indent=2)
    with open(out + ".csv", "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["application", "device", "execution_time_s"])
        for r in rows:
            wr.writerow([r["application"], r["device"], r["execution_time_s"] if r["execution_time_s"] is not None else "not run"])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    fig, ax = plt.subplots(figsize=(9, 5.2))
    x = np.arange(len(apps))
    cpu = [next(r["execution_time_s"] for r in rows if r["task"] == t and r["device"] == "cpu") for t, _ in apps]
    gpu = [next(r["execution_time_s"] for r in rows if r["task"] == t and r["device"] == "gpu") for t, _ in apps]
    ax.bar(x - 0.2, cpu, 0.4, label="CPU-only mode", color="tab:blue")
    ax.bar(x + 0.2, [g or 0 for g in gpu], 0.4, label="heterogeneous mode (GPU workers)", color="tab:green")
    for k, g in enumerate(gpu):
        if g is None:
            ax.text(x[k] + 0.2, max(cpu) * 0.02, "not run\n(no GPU)", ha="center", va="bottom", fontsize=8, rotation=90)
    ax.set_xticks(x)
    ax.set_xticklabels([label for _, label in apps])
    ax.set_ylabel("execution time (s): stored images processed")
    ax.legend(fontsize=8)
    ax.set_title(f"ride: RIDE Fig. 9 reproduction ({profile} profile): {a.images} images of {w}×{h} in 3 brokers, "
                 f"{a.workers} workers\nRIDE: heterogeneous much better than CPU-only (its values are only in its plot)",
                 fontsize=10)
    m = result["machine"]
    caption = (f"{profile} profile on {m.get('host')} ({m.get('cpu_model')}, {m.get('cpus')} cores, "
               f"{n_gpu} CUDA device(s)); {result['setup']['ranks']} MPI ranks (1 master + 3 brokers + 1 ingest + "
               f"{a.workers} workers), oversubscribed; batch mode, execution time = the summary's processing_s; commit "
               f"{result['commit']}. RIDE's cluster: 6 workers with i7-7700 and GTX 1070, 24,160 x 25,720 images.")
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap(caption, 150)), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(out + ".png", dpi=110)
    print(f"ride_fig9: wrote {os.path.relpath(out, ROOT)}.{{json,csv,png}} in {result['wall_s']} s")


if __name__ == "__main__":
    main()
