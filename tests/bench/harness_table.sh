#!/usr/bin/env bash
# bench/run --list names every reproduction; --table-only --readme OUT makes the table from the
# result files in results/ without running anything: one section per reproduction, every row with
# the paper's value and ours, links that resolve from where the table is.
set -euo pipefail
root=$1 out=$2/README.md
names=$(/usr/bin/python3 "$root/bench/run" --list | awk '{print $1}')
[ "$(echo "$names" | wc -l)" -ge 9 ] || { echo "harness_table: bench/run --list names too few: $names" >&2; exit 1; }
/usr/bin/python3 "$root/bench/run" --table-only --readme "$out"
/usr/bin/python3 - "$root" "$out" <<'PY'
import os, re, sys
sys.path.insert(0, os.path.join(sys.argv[1], "bench"))
import reproductions as R
text = open(sys.argv[2]).read()
rows = [l for l in text.splitlines() if l.startswith("| ") and not l.startswith("| item") and not l.startswith("|---")]
for r in R.REPRODUCTIONS:
    mine = [l for l in rows if l.startswith("| " + r.title.split(":")[0] + " |") or l.startswith("| " + r.title + " |")]
    assert mine, f"no row for {r.name}"
    for l in mine:
        cells = [c.strip() for c in l.strip("|").split("|")]
        assert len(cells) == 6, (r.name, l)
        assert cells[3], (r.name, l)   # ours (or "not run ...")
for link in re.findall(r"\]\(([^)]+)\)", text):
    path = os.path.normpath(os.path.join(os.path.dirname(sys.argv[2]), link))
    assert os.path.exists(path), f"a link that does not resolve: {link}"
print(f"harness_table: {len(rows)} rows for {len(R.REPRODUCTIONS)} reproductions, every link resolves")
PY
