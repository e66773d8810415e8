#!/usr/bin/env bash
# Every metric /metrics can show (the one table in src/master/metrics_view.cpp) is documented in
# docs/STATUS.md with the same type, and the document names no metric the code lacks.
set -euo pipefail
root=$1
code=$(grep -o '{"ride_[a-z_]*", "[a-z]*"' "$root/src/master/metrics_view.cpp" | sed 's/{"\(.*\)", "\(.*\)"/\1 \2/' | sort)
docs=$(grep -o '^| `ride_[a-z_]*` | [a-z]* |' "$root/docs/STATUS.md" | sed 's/^| `\(.*\)` | \(.*\) |/\1 \2/' | sort)
[ -n "$code" ] || { echo "no metrics found in metrics_view.cpp" >&2; exit 1; }
if [ "$code" != "$docs" ]; then
  echo "docs/STATUS.md and src/master/metrics_view.cpp disagree:" >&2
  diff <(echo "$code") <(echo "$docs") >&2 || true
  exit 1
fi
echo "$(echo "$code" | wc -l) metrics documented"
