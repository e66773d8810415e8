#!/usr/bin/python3
"""CAM² Fig. 7 and Fig. 9 reproduced with `ride profile` (#16): real ride jobs run CAM²'s
analysis programs on synthetic streams at several frame rates and resolutions, and the worker's
CPU (cores) and memory per stream are measured (CAM² Sec. 4.2: CPU = a x fps + b, memory
constant).

Fig. 7 (CAM²: "the effect of the desired frame rate on both the CPU and memory utilization of an
m4.xlarge instance"): (a) one 704x480 stream through IA, ME, MOD and FT at increasing frame
rates, CPU linear in the rate, and the highest rate each keeps up with (eta >= 0.9; CAM²: FT up
to 9 FPS, MOD up to 21 FPS on an m4.xlarge); (b) many 640x480 streams at low rates through IA,
ME and MOD, memory flat in the rate; (c) where a program turns from memory- to CPU-intensive on
an m4.xlarge (4 vCPU, 16 GB): CPU share (a f + b) / 4 = memory share m / 16 at f = (4m/16 - b) / a
(CAM²: MOD between 0.15 and 0.2 FPS, ME between 0.4 and 0.45 FPS).
Fig. 9 (CAM²: "the effect of the camera resolution on the CPU utilization ... at 10 FPS"): one
stream at 320x240, 640x480 and 800x600 through IA, ME, MOD and FT at 10 FPS; CAM²'s values are
only in its plot: its text says the requirements are "significantly different".

Every run is checked: status ok, nothing lost, duplicated or failed (each run's summary).
Writes results/cam2_fig{7,9}[_quick].{json,csv,png}.

usage: bench/cam2_profile.py --figure 7|9 [--quick]
"""
import argparse, csv, glob, json, os, re, subprocess, sys, tempfile, textwrap, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, ROOT, commit, machine  # noqa: E402

M4_CORES, M4_GB = 4, 16  # m4.xlarge, CAM² Table 2
FIT = re.compile(r"fit: cores per stream = ([-\d.e]+) \* fps \+ ([-\d.e]+) \(R\^2 ([-\d.naif]+)\); memory per stream ([\d.e-]+) GB")


def profile(task, w, h, streams, rates, duration, work, need_fit=True):
    """One `ride profile` call: its points [(fps, cores/stream, MB/stream, achieved fps)] and fit
    (without `need_fit`, a run whose rates the machine did not keep up with enough to fit a line
    still gives its points)."""
    cmd = [os.path.join(BUILD, "ride"), "profile", "--task", task, "--program", task.upper(), "--width", str(w),
           "--height", str(h), "--streams", str(streams), "--fps", ",".join(f"{r:g}" for r in rates),
           "--duration-s", str(duration), "--out", os.path.join(work, "req.csv"), "--work", work]
    p = subprocess.run(cmd, capture_output=True, text=True)
    row = re.compile(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")  # (a point left out of the fit says so after)
    points = [tuple(float(x) for x in m.groups()) for m in map(row.match, p.stdout.splitlines()) if m]
    fit = FIT.search(p.stdout)
    if (p.returncode != 0 and (need_fit or "a linear fit needs" not in p.stderr)) or len(points) != len(rates) or \
            (need_fit and not fit):
        sys.exit(f"ride profile failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    for path in glob.glob(os.path.join(work, "fps_*.json")):  # every run's own account
        s = json.load(open(path))
        f = s["frames"]
        if s["status"] != "ok" or f["lost"] or f["duplicates"] or f.get("failed", 0):
            sys.exit(f"{task} {w}x{h}: run {os.path.basename(path)}: status {s['status']}, frames {f}")
    a, b, r2, mem_gb = fit.groups() if fit else ("nan", "nan", "nan", "nan")
    return {"task": task, "width": w, "height": h, "streams": streams,
            "points": [{"fps": q[0], "cores_per_stream": q[1], "mb_per_stream": q[2], "achieved_fps": q[3],
                        "eta": q[3] / q[0] if q[0] else None} for q in points],
            "cpu_per_fps": float(a) if fit else None, "cpu_base": float(b) if fit else None,
            "r2": float(r2) if fit and r2 not in ("nan", "-nan") else None, "mem_gb": float(mem_gb) if fit else None}


def caption(result):
    m = result["machine"]
    return (f"{result['profile']} profile; CPU, {m.get('host')} ({m.get('cpu_model')}, {m.get('cpus')} cores); "
            f"ride profile: 4 MPI ranks per run (master, broker, ingest, 1 worker), {result['setup']['duration_s']} s per "
            f"run, synthetic frames; CPU = the worker's cores per stream; commit {result['commit']}. CAM² ran on an "
            f"m4.xlarge (4 vCPU, 16 GB) with real camera streams.")


def figure7(a, tmp):
    q = a.quick
    rates_a = [1, 3, 6, 9] if q else [1, 3, 6, 9, 12, 15, 21, 25]
    rates_b = [0.2, 0.5] if q else [0.1, 0.2, 0.3, 0.5, 1]
    streams_b = 10 if q else 100
    dur = 4 if q else 10
    single = [profile(t, 704, 480, 1, rates_a, dur, os.path.join(tmp, f"a-{t}"), need_fit=False)
              for t in ("ia", "me", "mod", "ft")]
    many = [profile(t, 640, 480, streams_b, rates_b, dur, os.path.join(tmp, f"b-{t}")) for t in ("ia", "me", "mod")]
    paper_keeps_up = {"ft": 9, "mod": 21}
    paper_cross = {"mod": (0.15, 0.2), "me": (0.4, 0.45)}
    rows = []
    for s in single:
        ok = [p["fps"] for p in s["points"] if p["eta"] is not None and p["eta"] >= 0.9]
        s["keeps_up_to_fps"] = max(ok) if ok else 0
        top = s["keeps_up_to_fps"] >= max(rates_a)  # kept up with every rate tried: its limit is above
        paper = paper_keeps_up.get(s["task"])
        rows.append({"quantity": f"(a) {s['task'].upper()} 704×480: CPU vs frame rate, and the highest rate kept up with "
                                 f"(η ≥ 0.9, of {', '.join(f'{r:g}' for r in rates_a)} FPS)",
                     "paper": "linear" + (f"; keeps up to {paper} FPS (m4.xlarge)" if paper else ""),
                     "ours": (f"{s['cpu_per_fps']:.4f} cores/FPS + {s['cpu_base']:.3f} (R² {s['r2']:.3f}); "
                              if s["cpu_per_fps"] is not None else "too few rates kept up with to fit a line; ") +
                             f"keeps up to {'at least ' if top else ''}{s['keeps_up_to_fps']:g} FPS "
                             f"({os.cpu_count()} cores shared by 4 ranks)",
                     "compare": f"{s['keeps_up_to_fps'] / paper:.2f}× the rate" if paper and not top else "–"})
    for s in many:
        mems = [p["mb_per_stream"] for p in s["points"]]
        s["memory_spread"] = max(mems) / min(mems) if min(mems) > 0 else None
        f_cross = (M4_CORES * s["mem_gb"] / M4_GB - s["cpu_base"]) / s["cpu_per_fps"] if s["cpu_per_fps"] > 0 else None
        s["crossover_fps_m4"] = f_cross
        rows.append({"quantity": f"(b) {s['task'].upper()}, {streams_b} streams of 640×480: memory per stream over "
                                 f"{', '.join(f'{r:g}' for r in rates_b)} FPS",
                     "paper": "negligible effect of the frame rate",
                     "ours": f"{min(mems):.1f}–{max(mems):.1f} MB (max/min {s['memory_spread']:.2f})", "compare": "–"})
        if s["task"] in paper_cross:
            lo, hi = paper_cross[s["task"]]
            rows.append({"quantity": f"(c) {s['task'].upper()}: memory- to CPU-intensive on an m4.xlarge",
                         "paper": f"between {lo} and {hi} FPS",
                         "ours": (f"{f_cross:.2g} FPS" if f_cross is not None and f_cross > 0 else "CPU-bound at every rate")
                                 + " (our a, b, m scaled to 4 vCPU / 16 GB)",
                         "compare": (f"{f_cross / ((lo + hi) / 2):.2f}× the middle" if f_cross and f_cross > 0 else "–")})
    return {"single_704x480": single, "many_640x480": many, "rates_a": rates_a, "rates_b": rates_b,
            "streams_b": streams_b, "duration_s": dur}, rows


def figure9(a, tmp):
    dur = 3 if a.quick else 10
    res = [(320, 240), (640, 480), (800, 600)]
    # (ride profile fits a line, so it wants two rates: 5 and the figure's 10 FPS)
    runs = [profile(t, w, h, 1, [5, 10], dur, os.path.join(tmp, f"{t}-{w}"), need_fit=False) for t in ("ia", "me", "mod", "ft") for w, h in res]
    for r in runs:
        r["at_10"] = next(p for p in r["points"] if p["fps"] == 10)
    rows = []
    for t in ("ia", "me", "mod", "ft"):
        cores = {(r["width"], r["height"]): r["at_10"]["cores_per_stream"] for r in runs if r["task"] == t}
        etas = {(r["width"], r["height"]): r["at_10"]["eta"] for r in runs if r["task"] == t}
        lo, hi = cores[res[0]], cores[res[-1]]
        rows.append({"quantity": f"{t.upper()} at 10 FPS: CPU at 320×240 / 640×480 / 800×600",
                     "paper": "significantly different by resolution (values only in the plot)",
                     "ours": " / ".join(f"{cores[r]:.3f}" for r in res) + " cores (η " +
                             " / ".join(f"{etas[r]:.2f}" for r in res) + ")",
                     "compare": f"800×600 / 320×240 = {hi / lo:.1f}×" if lo > 0 else "–"})
    return {"runs": runs, "resolutions": [f"{w}x{h}" for w, h in res], "fps": 10, "duration_s": dur}, rows


def plot7(result, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = result["setup"]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 5.2))
    for r in s["single_704x480"]:
        xs = [p["fps"] for p in r["points"]]
        line = ax1.plot(xs, [100 * p["cores_per_stream"] for p in r["points"]], "o-", label=r["task"].upper())[0]
        if r["cpu_per_fps"] is not None:
            fx = [0, max(xs)]
            ax1.plot(fx, [100 * (r["cpu_per_fps"] * x + r["cpu_base"]) for x in fx], ":", color=line.get_color(),
                     linewidth=0.8)
        for p in r["points"]:
            if p["eta"] is not None and p["eta"] < 0.9:
                ax1.annotate("η<0.9", (p["fps"], 100 * p["cores_per_stream"]), fontsize=7, color=line.get_color())
    ax1.set_xlabel("desired frame rate (FPS)")
    ax1.set_ylabel("worker CPU (% of one core)")
    ax1.set_title("(a) one 704×480 stream: CPU linear in the rate\n(dotted: fit; CAM²: FT keeps up to 9, MOD to 21 FPS)", fontsize=9)
    ax1.legend(fontsize=8)
    for r in s["many_640x480"]:
        ax2.plot([p["fps"] for p in r["points"]], [p["mb_per_stream"] for p in r["points"]], "o-", label=r["task"].upper())
    ax2.set_xlabel("desired frame rate (FPS)")
    ax2.set_ylabel("worker memory per stream (MB)")
    ax2.set_ylim(bottom=0)
    ax2.set_title(f"(b) {s['streams_b']} streams of 640×480: memory flat in the rate", fontsize=9)
    ax2.legend(fontsize=8)
    for r in s["many_640x480"]:
        xs = [0.05 * k for k in range(1, 21)]
        line = ax3.plot(xs, [100 * (r["cpu_per_fps"] * x + r["cpu_base"]) / M4_CORES for x in xs], "-",
                        label=f"{r['task'].upper()} CPU")[0]
        ax3.axhline(100 * r["mem_gb"] / M4_GB, color=line.get_color(), linestyle="--", linewidth=0.8,
                    label=f"{r['task'].upper()} memory")
    for lo, hi, name in ((0.15, 0.2, "MOD"), (0.4, 0.45, "ME")):
        ax3.axvspan(lo, hi, color="gray", alpha=0.15)
        ax3.text((lo + hi) / 2, ax3.get_ylim()[1] * 0.95, f"CAM² {name}", fontsize=7, ha="center", va="top")
    ax3.set_xlabel("desired frame rate (FPS)")
    ax3.set_ylabel("share of an m4.xlarge per stream (%)")
    ax3.set_title("(c) CPU vs memory share on an m4.xlarge (4 vCPU, 16 GB)\nfrom our fits; shaded: CAM²'s crossovers", fontsize=9)
    ax3.legend(fontsize=7)
    fig.suptitle("ride profile: CAM² Fig. 7 reproduction (the effect of the frame rate on CPU and memory)", fontsize=11)
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap(caption(result), 190)), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    fig.savefig(png, dpi=100)


def plot9(result, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    s = result["setup"]
    tasks = ["ia", "me", "mod", "ft"]
    fig, ax = plt.subplots(figsize=(9, 5.2))
    x = np.arange(len(tasks))
    for k, res in enumerate(s["resolutions"]):
        w, h = (int(v) for v in res.split("x"))
        pts = [next(r["at_10"] for r in s["runs"] if r["task"] == t and r["width"] == w and r["height"] == h)
               for t in tasks]
        bars = ax.bar(x + (k - 1) * 0.27, [100 * p["cores_per_stream"] for p in pts], 0.27, label=res)
        for b, p in zip(bars, pts):
            if p["eta"] is not None and p["eta"] < 0.9:  # the worker did not keep up: CPU is its ceiling
                ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"η {p['eta']:.2f}", ha="center", va="bottom",
                        fontsize=7)
    ax.set_xticks(x)
    ax.set_xticklabels([t.upper() for t in tasks])
    ax.set_ylabel("worker CPU at 10 FPS (% of one core)")
    ax.legend(title="resolution", fontsize=8)
    ax.set_title("ride profile: CAM² Fig. 9 reproduction (the effect of the resolution at 10 FPS)\n"
                 "CAM²'s values are only in its plot; its text: requirements differ significantly by resolution\n"
                 "(η marked where the worker did not keep up with 10 FPS: its CPU is then the ceiling)", fontsize=10)
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap(caption(result), 140)), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(png, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--figure", choices=("7", "9"), required=True)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ride-cam2-profile-") as tmp:
        setup, rows = (figure7 if a.figure == "7" else figure9)(a, tmp)
    name = f"cam2_fig{a.figure}" + ("_quick" if a.quick else "")
    result = {"benchmark": f"cam2_fig{a.figure}", "figure": f"CAM² Fig. {a.figure}", "commit": commit(),
              "machine": machine(), "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": "bench/cam2_profile.py " + " ".join(sys.argv[1:]),
              "profile": os.environ.get("RIDE_BENCH_PROFILE", "quick" if a.quick else "full"), "device": "cpu",
              "setup": setup, "readme_rows": rows, "wall_s": round(time.monotonic() - t0, 1)}
    out = os.path.join(ROOT, "results", name)
    json.dump(result, open(out + ".json", "w"), indent=2)
    runs = setup.get("single_704x480", []) + setup.get("many_640x480", []) + setup.get("runs", [])
    with open(out + ".csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["task", "width", "height", "streams", "fps", "cores_per_stream", "mb_per_stream", "achieved_fps"])
        for r in runs:
            for p in r["points"]:
                w.writerow([r["task"], r["width"], r["height"], r["streams"], p["fps"], p["cores_per_stream"],
                            p["mb_per_stream"], p["achieved_fps"]])
    (plot7 if a.figure == "7" else plot9)(result, out + ".png")
    for r in rows:
        print(f"{r['quantity']}: paper {r['paper']}; ours {r['ours']} ({r['compare']})")
    print(f"cam2_profile: wrote results/{name}.{{json,csv,png}} in {result['wall_s']} s")


if __name__ == "__main__":
    main()
