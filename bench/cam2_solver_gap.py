#!/usr/bin/python3
"""CAM²'s solver study (#16): CAM²'s heuristic (FFOD) against ours (hybrid) and the exact optimum
(COIN-OR CBC over the maximal patterns) on random instances shaped like CAM²'s scenarios
(bench/plan/cam2_solver_gap.cpp; each plan is checked to hold its streams). CAM² reports
FFOD 4.6 % (scenario A) and 5.3 % (B) above the exact cost (Table 6). Writes
results/cam2_solver_gap.json and results/cam2_solver_gap.png (the gap of each instance, the
paper's two values marked).

usage: bench/cam2_solver_gap.py [--instances 40] [--seed 2024] [--out-prefix results/cam2_solver_gap]
"""
import argparse, json, os, subprocess, sys, textwrap, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, ROOT, commit, machine  # noqa: E402



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out-prefix", default="results/cam2_solver_gap",
                    help="JSON and PNG path without extension (bench/run --quick: results/cam2_solver_gap_quick)")
    a = ap.parse_args()
    out = os.path.join(ROOT, a.out_prefix + ".json")
    tool = os.path.join(BUILD, "bench", "plan", "cam2_solver_gap")
    p = subprocess.run([tool, "--instances", str(a.instances), "--seed", str(a.seed), "--json", out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"cam2_solver_gap failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    d = json.load(open(out))
    if d.get("hybrid_worse_than_ffod", 0) != 0:
        sys.exit("cam2_solver_gap: our hybrid was worse than FFOD on some instance")
    d.update({"command": "bench/cam2_solver_gap.py " + " ".join(sys.argv[1:]), "commit": commit(), "machine": machine(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "profile": os.environ.get("RIDE_BENCH_PROFILE", "standalone"), "device": "cpu"})
    json.dump(d, open(out, "w"), indent=2)
    rows = [r for r in d["rows"] if r.get("exact") and r.get("exact_proven")]
    ffod = [100 * (r["ffod"] / r["exact"] - 1) for r in rows]
    hyb = [100 * (r["hybrid"] / r["exact"] - 1) for r in rows]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.scatter(range(len(rows)), ffod, s=14, color="tab:orange", label=f"FFOD (CAM²'s heuristic), mean {d['mean_gap_pct']['ffod']:.1f} %")
    ax.scatter(range(len(rows)), hyb, s=14, color="tab:blue", label=f"ours (hybrid), mean {d['mean_gap_pct']['hybrid']:.2f} %")
    for v, name, va in ((d["paper"]["ffod_gap_pct_scenario_A"], "A", "top"), (d["paper"]["ffod_gap_pct_scenario_B"], "B", "bottom")):
        ax.axhline(v, color="tab:gray", linestyle=":", linewidth=1)
        ax.text(len(rows) - 0.5, v, f" paper: FFOD scenario {name} {v} %", fontsize=8, va=va, ha="right")
    ax.set_xlabel("random instance (classes of CAM²-shaped streams; exact optimum proven)")
    ax.set_ylabel("cost above the exact optimum (%)")
    ax.legend(fontsize=8, loc="upper left")
    m = d["machine"]
    ax.set_title("ride plan: heuristic vs ours vs exact (CAM² Table 6's gap)", fontsize=10)
    caption = (f"{d['profile']} profile; planner on CPU, {m.get('host')} ({m.get('cpus')} cores), commit {d['commit']}; "
               f"{d['instances']} instances (seed {a.seed}), {d.get('skipped_too_large_for_exact', 0)} too large for the "
               f"exact solver left out; exact = CBC over maximal patterns.")
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap(caption, 140)), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(os.path.join(ROOT, a.out_prefix + ".png"), dpi=110)
    print(f"cam2_solver_gap: {len(rows)} instances with a proven optimum: FFOD mean {d['mean_gap_pct']['ffod']:.1f} %, "
          f"ours {d['mean_gap_pct']['hybrid']:.2f} % above it")


if __name__ == "__main__":
    main()
