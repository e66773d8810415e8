#!/usr/bin/env python3
"""Side-by-side table of the microbenchmarks: ride's time over each peer's, per size and threads.

Usage: summarize.py [--out results/micro_summary.md] results/micro_*.json

Reads Google Benchmark JSON files whose benchmark names follow
<task>/<impl>/<size>/threads:<n> (see bench/kernels/run.sh); Google Benchmark's own suffixes
(/iterations:N, /real_time, /min_time:..., /repeats:N) are ignored. The time of a benchmark is
the median aggregate when repetitions were run, else the mean over its iterations entries, in
milliseconds of real time. ratio = ride / peer: below 1 means ride is faster. Writes Markdown
to --out and prints it.
"""
import argparse
import json
import os
import re
import statistics
import sys
from collections import defaultdict

UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
GB_SUFFIX = re.compile(r"^(iterations:\d+|real_time|manual_time|process_time|min_time:.*|"
                       r"repeats:\d+|min_warmup_time:.*)$")
THREADS = re.compile(r"^threads:(\d+)$")


def parse_name(run_name):
    """(task, impl, size, threads) or None when the name does not follow the scheme."""
    parts = [p for p in run_name.split("/") if not GB_SUFFIX.match(p)]
    if len(parts) != 4:
        return None
    m = THREADS.match(parts[3])
    if not m:
        return None
    return parts[0], parts[1], parts[2], int(m.group(1))


def size_key(size):
    """Sort 900 < 1600 < 2500 < 6040x6430 < 24160x25720 (by pixel count)."""
    dims = [int(d) for d in size.split("x")] if re.fullmatch(r"\d+(x\d+)?", size) else [0]
    return dims[0] * dims[-1], size


def load(path):
    with open(path) as f:
        doc = json.load(f)
    times = defaultdict(list)   # key -> real times (ms) of iteration entries
    medians = {}                 # key -> median aggregate (ms)
    errors = {}
    for b in doc.get("benchmarks", []):
        name = b.get("run_name", b.get("name", ""))
        key = parse_name(name)
        if key is None:
            continue
        if b.get("error_occurred"):
            errors[key] = b.get("error_message", "error")
            continue
        ms = b["real_time"] * UNIT_MS.get(b.get("time_unit", "ns"), 1e-6)
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[key] = ms
        else:
            times[key].append(ms)
    result = {k: statistics.mean(v) for k, v in times.items()}
    result.update(medians)
    return doc.get("context", {}), result, errors


def fmt_ms(ms):
    if ms is None:
        return "-"
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/micro_summary.md")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    lines = ["# Microbenchmarks: ride vs peers", ""]
    lines.append("Real time in ms (median of repetitions when run with repetitions); "
                 "ratio = ride / peer, below 1 means ride is faster.")
    lines.append("")
    any_rows = False
    for path in args.files:
        context, times, errors = load(path)
        family = os.path.splitext(os.path.basename(path))[0].removeprefix("micro_")
        ctx = ", ".join(f"{k} {context[k]}" for k in
                        ("ride_commit", "host_name", "num_cpus", "mhz_per_cpu", "date")
                        if k in context)
        lines.append(f"## {family}")
        lines.append("")
        if ctx:
            lines.append(f"`{os.path.basename(path)}`: {ctx}")
            lines.append("")
        lines.append("| task | size | threads | ride ms | peer | peer ms | ratio ride/peer |")
        lines.append("|---|---|---:|---:|---|---:|---:|")
        keys = set(times) | set(errors)
        groups = sorted({(t, s, n) for (t, _, s, n) in keys},
                        key=lambda g: (g[0], size_key(g[1]), g[2]))
        for task, size, n in groups:
            impls = sorted({i for (t, i, s, m) in keys if (t, s, m) == (task, size, n)})
            ride = times.get((task, "ride", size, n))
            ride_cell = errors.get((task, "ride", size, n), fmt_ms(ride))
            peers = [i for i in impls if i != "ride"] or ["-"]
            for peer in peers:
                peer_ms = times.get((task, peer, size, n))
                peer_cell = errors.get((task, peer, size, n), fmt_ms(peer_ms))
                ratio = f"{ride / peer_ms:.2f}" if ride and peer_ms else "-"
                lines.append(f"| {task} | {size} | {n} | {ride_cell} | {peer} | {peer_cell} "
                             f"| {ratio} |")
                any_rows = True
        lines.append("")
    if not any_rows:
        print("summarize.py: no benchmark named <task>/<impl>/<size>/threads:<n> found",
              file=sys.stderr)
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text + "\n")
    print(text)
    return 0 if any_rows else 1


if __name__ == "__main__":
    sys.exit(main())
