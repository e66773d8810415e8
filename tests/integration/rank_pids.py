#!/usr/bin/env python3
"""Pids of a job's ranks from the ranks file the master writes at start-up beside the summary
(SUMMARY without .json + ".ranks.json": rank, role it started as, host, pid), for the tests that
signal ranks. Waits up to --wait seconds for the file (it appears before the first progress line).

usage: rank_pids.py RANKS_FILE (--role ROLE --index I | --rank N | --all) [--wait S]
Prints one pid per line; exits 1 when the file never appears or names no such rank.
"""
import argparse, json, os, sys, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ranks_file")
    ap.add_argument("--role")
    ap.add_argument("--index", type=int, default=0)
    ap.add_argument("--rank", type=int)
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--wait", type=float, default=0)
    a = ap.parse_args()
    deadline = time.monotonic() + a.wait
    while not os.path.exists(a.ranks_file):
        if time.monotonic() >= deadline:
            sys.exit(f"rank_pids: no ranks file {a.ranks_file}")
        time.sleep(0.02)
    ranks = json.load(open(a.ranks_file))["ranks"]
    if a.all:
        pids = [r["pid"] for r in ranks]
    elif a.rank is not None:
        pids = [r["pid"] for r in ranks if r["rank"] == a.rank]
    else:
        of_role = [r["pid"] for r in ranks if r["role"] == a.role]
        pids = of_role[a.index:a.index + 1]
    if not pids:
        sys.exit(f"rank_pids: no such rank in {a.ranks_file}")
    print("\n".join(str(p) for p in pids))


if __name__ == "__main__":
    main()
