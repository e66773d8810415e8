"""The reproductions bench/run knows, and results/README.md made from their result files (#16).

Each reproduction is a script (or a binary wrapped by one) that writes its JSON, CSV and PNG to
results/ and exits non-zero when what it timed is wrong. A reproduction's rows for the table are
read back from its JSON: the newer scripts write them as `readme_rows` ({quantity, paper, ours,
compare}); for the older ones a small reader below makes them from their own fields. Every row
also carries the command, commit, machine, rank layout and device of the run that wrote it.
"""
import datetime, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, machine  # noqa: E402

PY = "/usr/bin/python3"  # Debian's, with h5py and matplotlib (bench/METRICS.md)
# What the reproductions run, built by bench/run through scripts/setup.sh (RIDE_BUILD_TARGETS)
BUILD_TARGETS = ["ride", "ride_video", "cam2_repro", "cam2_solver_gap"]


def ratio(ours, paper):
    try:
        return f"{ours / paper:.2f}×"
    except (TypeError, ZeroDivisionError):
        return "–"


class Repro:
    def __init__(self, name, title, quick, full, outputs, layout, rows=None, gpu=False, full_outputs=None):
        self.name, self.title, self.quick, self.full = name, title, quick, full
        self._outputs, self._full_outputs = outputs, full_outputs or outputs
        self.layout, self._rows, self.gpu = layout, rows, gpu

    def command(self, profile, gpu_here):
        if self.gpu and not gpu_here:
            return None
        return list(self.full if profile == "full" else self.quick)

    def skip_reason(self, profile, gpu_here):
        return "needs a GPU; ride sees none" if self.gpu and not gpu_here else ""

    def outputs(self, profile):
        return self._full_outputs if profile == "full" else self._outputs

    def result(self, profile):
        """The newest result file of this reproduction (this profile's, else the other's)."""
        paths = [o for o in self.outputs(profile) + self.outputs("full" if profile == "quick" else "quick")
                 if o.endswith(".json")]
        found = [p for p in paths if os.path.exists(os.path.join(ROOT, p))]
        if not found:
            return None, None
        p = max(found, key=lambda q: os.path.getmtime(os.path.join(ROOT, q)))
        return p, json.load(open(os.path.join(ROOT, p)))

    def rows(self, data):
        if self._rows:
            return self._rows(data)
        return data.get("readme_rows", [])


# ------------------------------------------------------------------------------------------
# Readers for the result files of the reproductions written before the harness.

def rows_fig10(d):
    out = []
    by = {}
    for r in d.get("rows", []):
        by.setdefault(r["resolution"], []).append(r)
    for res, rs in sorted(by.items()):
        rs.sort(key=lambda r: r["workers"])
        lo, hi = rs[0], rs[-1]
        multi = [r for r in rs if r["workers"] > lo["workers"]]  # (efficiency is 1 by definition at the first)
        best = max(multi, key=lambda r: r.get("efficiency") or 0) if multi else lo
        out.append({"quantity": f"{res}² std-dev, {d['setup']['images']} images: execution time, "
                                f"{lo['workers']}→{hi['workers']} workers",
                    "paper": "falls as workers are added; efficiency best at workers = brokers (3) (values only in the plot)",
                    "ours": f"{lo['execution_time_s']:.2f} s → {hi['execution_time_s']:.2f} s "
                            f"(speed-up {hi['speedup']:.2f}; beyond one worker the best efficiency, "
                            f"{best.get('efficiency', 0):.2f}, at {best['workers']} workers)",
                    "compare": "no paper value"})
    return out


def rows_fig12(d):
    out = []
    for ph in d.get("phases", []):
        out.append({"quantity": f"processing rate with {ph['workers']} worker(s) joined", "paper": f"{ph['paper_fps']} fps",
                    "ours": f"{ph['processed_fps']} fps", "compare": ratio(ph["processed_fps"], ph["paper_fps"]) +
                    " (ours: one worker sized to 18 fps with faults.task_ms; the proportions matter)"})
    p = d.get("paper", {})
    out.append({"quantity": "everything processed after generation ends",
                "paper": f"{p.get('all_processed_s', 180) - p.get('generation_end_s', 167):g} s "
                         f"(at {p.get('all_processed_s', 180):g} s; ×{d['setup']['time_scale']:g} here)",
                "ours": f"{d['all_processed_s'] - d['generation_end_s']:.2f} s (at {d['all_processed_s']} s)",
                "compare": f"paper scaled: {p.get('scaled_all_processed_s', 0) - p.get('scaled_generation_end_s', 0):.2f} s"})
    fc = d.get("first_commit_after_join_s") or []
    out.append({"quantity": "a joining worker's first commit after the decision", "paper": "not given",
                "ours": ", ".join(f"{x:.3f} s" for x in fc), "compare": "–"})
    return out


def rows_fig13(d):
    p = d.get("paper", {})
    pre, dip = d.get("pre_failure_fps"), d.get("lowest_fps_after_kill_0.25s_windows")
    return [
        {"quantity": "failure detected and frames flowing on the spares", "paper": p.get("detected_and_replaced", "within 10 s"),
         "ours": f"detected {d['detected_after_kill_s']:.2f} s, flowing {d['flowing_after_kill_s']:.2f} s after the kill",
         "compare": "–"},
        {"quantity": "rate back to the pre-failure rate", "paper": f"within {p.get('recovery_s', 10)} s "
                                                                   f"({p.get('fps_right_after')} → {p.get('fps_recovered')} fps)",
         "ours": f"{d['rate_back_after_s']} s ({dip} → {pre} fps)" if d.get("rate_back_after_s") is not None else "never",
         "compare": ratio(d.get("rate_back_after_s"), p.get("recovery_s", 10))},
        {"quantity": "rate right after the failure, of the rate before", "paper":
            f"{p.get('fps_right_after')} / {p.get('fps_recovered')} = {p.get('fps_right_after', 0) / p.get('fps_recovered', 1):.2f}",
         "ours": f"{dip} / {pre} = {dip / pre:.2f}" if pre else "–", "compare": "–"},
    ]


def _counts(c):
    return " + ".join(f"{n} {t}" for t, n in sorted((c or {}).items(), key=lambda kv: -kv[1]))


def rows_cam2_tables(d):
    out = []
    t6 = d.get("table6", {})
    for scen in sorted(t6):
        for method in ("heuristic", "exact"):
            r = t6[scen].get(method, {})
            paper, ours = r.get("paper", {}), r.get("ours", {})
            if not paper:
                continue
            out.append({"quantity": f"Table 6, scenario {scen}, {method}",
                        "paper": f"{_counts(paper.get('counts'))}: ${paper.get('cost', 0):.2f}/h",
                        "ours": f"{_counts(ours.get('counts'))}: ${ours.get('cost', 0):.2f}/h",
                        "compare": ratio(ours.get("cost"), paper.get("cost"))})
    for table in ("table9", "table11", "table13"):
        for st, r in sorted(d.get(table, {}).items()):
            paper = r.get("paper", {})
            ffod = r.get("ffod_xlarge", {})
            best = r.get("hybrid_table2_limits", {})
            out.append({"quantity": f"Table {table[5:]}, {st.upper()}",
                        "paper": f"{_counts(paper.get('counts'))}: ${paper.get('cost', 0):.2f}/h",
                        "ours": f"FFOD {_counts(ffod.get('counts'))}: ${ffod.get('cost', 0):.2f}/h; ours "
                                f"{_counts(best.get('counts'))}: ${best.get('cost', 0):.2f}/h",
                        "compare": f"FFOD {ratio(ffod.get('cost'), paper.get('cost'))}, ours "
                                   f"{ratio(best.get('cost'), paper.get('cost'))}"})
    return out


def rows_solver_gap(d):
    g = d.get("mean_gap_pct", {})
    p = d.get("paper", {})
    return [
        {"quantity": f"FFOD above the exact optimum ({d.get('instances')} random instances)",
         "paper": f"{p.get('ffod_gap_pct_scenario_A')} % (scenario A), {p.get('ffod_gap_pct_scenario_B')} % (B)",
         "ours": f"mean {g.get('ffod', 0):.1f} %", "compare": "random instances, not the paper's"},
        {"quantity": "ours (hybrid) above the exact optimum", "paper": "–",
         "ours": f"mean {g.get('hybrid', 0):.2f} %, max {d.get('max_gap_pct_hybrid', 0):.1f} %, optimal in "
                 f"{d.get('hybrid_optimal')} of {d.get('instances')}", "compare": "–"},
    ]


def _py(script, *args):
    return [PY, os.path.join("bench", script)] + list(args)


REPRODUCTIONS = [
    Repro("ride_fig9", "RIDE Fig. 9: four applications, CPU-only vs heterogeneous, execution time",
          _py("ride_fig9.py", "--quick"), _py("ride_fig9.py"),
          ["results/ride_fig9_quick.json", "results/ride_fig9_quick.png"],
          "1 master + 3 brokers + 1 ingest + 2 workers (7 ranks)",
          full_outputs=["results/ride_fig9.json", "results/ride_fig9.png"]),
    Repro("ride_fig10", "RIDE Fig. 10: execution time vs workers at three resolutions (CPU)",
          _py("ride_fig10.py", "--quick"), _py("ride_fig10.py"),
          ["results/ride_fig10_quick.json", "results/ride_fig10_quick.png"],
          "1 master + 3 brokers + 1 ingest + W workers", rows=rows_fig10,
          full_outputs=["results/ride_fig10.json", "results/ride_fig10.png"]),
    Repro("ride_fig11", "RIDE Fig. 11: execution time vs workers at three resolutions (GPU)",
          _py("ride_fig10.py", "--quick", "--device", "gpu", "--out-prefix", "results/ride_fig11_quick"),
          _py("ride_fig10.py", "--device", "gpu"),
          ["results/ride_fig11_quick.json", "results/ride_fig11_quick.png"],
          "1 master + 3 brokers + 1 ingest + W GPU workers", rows=rows_fig10, gpu=True,
          full_outputs=["results/ride_fig11.json", "results/ride_fig11.png"]),
    Repro("ride_fig12", "RIDE Fig. 12: dynamic node scalability timeline",
          _py("ride_fig12.py"), _py("ride_fig12.py", "--time-scale", "1"),
          ["results/ride_fig12.json", "results/ride_fig12.png"],
          "1 master + 3 brokers + 1 ingest + 0→3 workers (8 ranks)", rows=rows_fig12),
    Repro("ride_fig13", "RIDE Fig. 13: fault-tolerance timeline",
          _py("fig13_fault.py"), _py("fig13_fault.py", "--duration", "60", "--kill-at", "30"),
          ["results/fig13_fault.json", "results/fig13_fault.png"],
          "1 master + 3 brokers + 1 ingest + 3 workers + 2 spares (10 ranks)", rows=rows_fig13),
    Repro("cam2_fig7", "CAM² Fig. 7: CPU linear in frame rate, memory constant (ride profile)",
          _py("cam2_profile.py", "--figure", "7", "--quick"), _py("cam2_profile.py", "--figure", "7"),
          ["results/cam2_fig7_quick.json", "results/cam2_fig7_quick.png"],
          "ride profile: 1 master + 1 broker + 1 ingest + 1 worker per run",
          full_outputs=["results/cam2_fig7.json", "results/cam2_fig7.png"]),
    Repro("cam2_fig9", "CAM² Fig. 9: effect of resolution (ride profile)",
          _py("cam2_profile.py", "--figure", "9", "--quick"), _py("cam2_profile.py", "--figure", "9"),
          ["results/cam2_fig9_quick.json", "results/cam2_fig9_quick.png"],
          "ride profile: 1 master + 1 broker + 1 ingest + 1 worker per run",
          full_outputs=["results/cam2_fig9.json", "results/cam2_fig9.png"]),
    Repro("cam2_tables", "CAM² Tables 6, 9, 11, 13: strategies and costs (ride plan)",
          _py("cam2_tables.py"), _py("cam2_tables.py"),
          ["results/cam2_repro.json", "results/cam2_repro.md", "results/cam2_tables.png"],
          "one process (the planner)", rows=rows_cam2_tables),
    Repro("cam2_solver_gap", "CAM²'s heuristic vs ours vs exact (solver gap)",
          _py("cam2_solver_gap.py", "--instances", "40", "--out-prefix", "results/cam2_solver_gap_quick"),
          _py("cam2_solver_gap.py", "--instances", "200"),
          ["results/cam2_solver_gap_quick.json", "results/cam2_solver_gap_quick.png"],
          "one process (the planner)", rows=rows_solver_gap,
          full_outputs=["results/cam2_solver_gap.json", "results/cam2_solver_gap.png"]),
]


def record_not_run(r, profile, reason):
    path = os.path.join(ROOT, "results", f"{r.name}.not_run.json")
    json.dump({"benchmark": r.name, "profile": profile, "reason": reason, "machine": machine(),
               "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}, open(path, "w"), indent=2)


def write_readme(profile, out=None):
    lines = ["# Reproductions of RIDE and CAM², side by side with the papers",
             "",
             "Generated by `bench/run` (do not edit: run `bench/run --table-only` to regenerate it). One",
             "row per figure or table quantity: the paper's value, ours, their ratio (ours / paper) or the",
             "difference, and where ours comes from. Each result file carries its own commit, machine and",
             "date; a reproduction not run by the last `bench/run` keeps its earlier rows. Metrics are",
             "defined once in [bench/METRICS.md](../bench/METRICS.md). The papers' text (ours is OCR with the",
             "plots missing) gives numbers for RIDE Figs. 12 and 13, CAM² Tables 6, 9, 11 and 13 and the",
             "heuristic's gap; RIDE Figs. 9–11 and CAM² Figs. 7 and 9 are compared with what the text says.",
             "",
             "| item | quantity | paper | ours | ours / paper | run |",
             "|---|---|---|---|---|---|"]
    details = []
    for r in REPRODUCTIONS:
        path, data = r.result(profile)
        not_run = os.path.join(ROOT, "results", f"{r.name}.not_run.json")
        if os.path.exists(not_run) and (path is None or os.path.getmtime(not_run) > os.path.getmtime(os.path.join(ROOT, path))):
            nr = json.load(open(not_run))
            lines.append(f"| {r.title} | – | – | not run | – | {nr['reason']} ({nr['date']}) |")
            continue
        if data is None:
            lines.append(f"| {r.title} | – | – | not run yet | – | `bench/run {r.name}` |")
            continue
        prof = data.get("profile", "quick" if "quick" in path else "standalone")
        dev = data.get("device", data.get("setup", {}).get("device", "cpu"))
        run = f"[{os.path.basename(path)}]({os.path.basename(path)}), {prof}, {dev}"
        for row in r.rows(data):
            q = row["quantity"].replace("|", "/")
            lines.append(f"| {r.title.split(':')[0]} | {q} | {row['paper']} | {row['ours']} | {row['compare']} | {run} |")
        m = data.get("machine") or data.get("provenance", {})
        commit = data.get("commit") or data.get("provenance", {}).get("commit", "?")
        cpus = m.get("cpus") or m.get("hardware_threads", "?")
        pngs = [o for o in r.outputs(prof if prof in ("quick", "full") else profile) if o.endswith(".png")]
        details.append(f"- **{r.title}** — command `{data.get('command', ' '.join(r.quick[1:]))}`; commit {commit}; "
                       f"{data.get('date', '?')}; machine {m.get('host', '?')} ({m.get('cpu_model', '?')}, {cpus} cores); "
                       f"ranks: {r.layout}; {dev}" +
                       ("; plot: " + ", ".join(f"[{os.path.basename(p)}]({os.path.basename(p)})" for p in pngs
                                                if os.path.exists(os.path.join(ROOT, p))) if pngs else ""))
    lines += ["", "## Runs", ""] + details + [""]
    out = out or os.path.join(ROOT, "results", "README.md")
    base = os.path.relpath(os.path.join(ROOT, "results"), os.path.dirname(os.path.abspath(out)))
    if base != ".":  # links relative to where the table is written
        lines = [line.replace("](", f"]({base}/") for line in lines]
    with open(out, "w") as fh:
        fh.write("\n".join(lines))
    return out
