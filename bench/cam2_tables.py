#!/usr/bin/python3
"""CAM² Tables 6, 9, 11 and 13 (strategies and costs) reproduced by ride's planner (#16): runs
`cam2_repro` (bench/plan/cam2_repro.cpp: the paper's scenarios, the derived requirements
bench/plan/requirements_cam2_derived.csv, CAM²'s FFOD heuristic and ours), which writes
results/cam2_repro.{json,md}, checks that every plan it made holds its streams (the planner
verifies each packing; cam2_repro fails otherwise), and draws results/cam2_tables.png: each
table row's hourly cost, the paper's beside CAM²'s heuristic run here (FFOD) and ours.

The requirements are derived from CAM²'s text, not measured (bench/plan/README.md says how);
results/cam2_requirements_measured.csv has this machine's, from `ride profile`.

usage: bench/cam2_tables.py
"""
import json, os, subprocess, sys, textwrap, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, ROOT, commit, machine  # noqa: E402



def main():
    tool = os.path.join(BUILD, "bench", "plan", "cam2_repro")
    out_json = os.path.join(ROOT, "results", "cam2_repro.json")
    out_md = os.path.join(ROOT, "results", "cam2_repro.md")
    p = subprocess.run([tool, os.path.join(ROOT, "bench", "plan"), out_json, out_md], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"cam2_repro failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    d = json.load(open(out_json))
    d.update({"command": "bench/cam2_tables.py", "commit": commit(), "machine": machine(),
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "profile": os.environ.get("RIDE_BENCH_PROFILE", "standalone"), "device": "cpu"})
    json.dump(d, open(out_json, "w"), indent=2)
    labels, paper, ffod, ours = [], [], [], []
    for scen in sorted(d["table6"]):
        for method in ("heuristic", "exact"):
            r = d["table6"][scen][method]
            labels.append(f"T6 {scen} {method[:5]}")
            paper.append(r["paper"]["cost"])
            ffod.append(r["ours"]["cost"] if method == "heuristic" else float("nan"))
            ours.append(r["ours"]["cost"] if method == "exact" else float("nan"))
    for t in ("table9", "table11", "table13"):
        for st, r in sorted(d[t].items()):
            labels.append(f"T{t[5:]} {st.upper()}")
            paper.append(r["paper"]["cost"])
            ffod.append(r["ffod_xlarge"]["cost"])
            ours.append(r["hybrid_table2_limits"]["cost"])
    for lab, pp, ff, oo in zip(labels, paper, ffod, ours):
        if not pp > 0:
            sys.exit(f"cam2_tables: no paper cost for {lab}")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(12, 5.4))
    ax.bar(x - 0.27, paper, 0.27, label="paper (CAM²)", color="tab:gray")
    ax.bar(x, ffod, 0.27, label="FFOD (CAM²'s heuristic) run here", color="tab:orange")
    ax.bar(x + 0.27, ours, 0.27, label="ours (hybrid; Table 6: exact MIP)", color="tab:blue")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("hourly cost of the plan (US$ / h)")
    ax.legend(fontsize=8)
    m = d["machine"]
    ax.set_title("ride plan: CAM² Tables 6, 9, 11, 13 - the cost of each strategy's plan", fontsize=10)
    caption = (f"{d['profile']} profile; planner on CPU, {m.get('host')} ({m.get('cpus')} cores), commit {d['commit']}. "
               "Requirements derived from CAM²'s text (bench/plan/requirements_cam2_derived.csv), 70 % target "
               "utilization, catalog = CAM² Table 2. Table 6 pairs: heuristic (orange = FFOD here) and exact (blue = "
               "our MIP optimum). Tables 9/11/13: ST1-ST5 strategies; blue = our hybrid on Table 2 with its limits.")
    fig.text(0.5, 0.01, "\n".join(textwrap.wrap(caption, 170)), ha="center", va="bottom", fontsize=7)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(os.path.join(ROOT, "results", "cam2_tables.png"), dpi=110)
    print(f"cam2_tables: {len(labels)} table rows; results/cam2_repro.json, results/cam2_repro.md, results/cam2_tables.png")


if __name__ == "__main__":
    main()
