#!/usr/bin/env bash
# Checks that the C++ lines a change touches follow .clang-format (clang-format 14), so that old
# lines in a changed file are not held against it. Exit 1, listing each file and its diff, on drift.
#   Changed: *.cpp *.h *.cu that differ between BASE and the working tree (committed since BASE,
#   staged, unstaged), plus untracked files that git does not ignore (all of their lines); deleted
#   files are skipped, renamed ones are checked on their changed lines only.
#   BASE: $RIDE_FORMAT_BASE if set, else the merge-base with origin/main if that ref exists and is
#   not HEAD itself, else HEAD~1 if it exists (a clean clone of main, as CI has: the last commit;
#   in a shallow clone HEAD~1 may not exist: then only uncommitted changes are checked).
# Fix what it reports with:  RIDE_FORMAT_FIX=1 scripts/check-format.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { echo "check-format: $*"; }

# clang-format and its clang-format-diff (both in Debian's clang-format package; setup.sh installs it)
clang_format=$(command -v clang-format || command -v clang-format-14 || true)
format_diff=()
if cf=$(command -v clang-format-diff || command -v clang-format-diff-14); then
  format_diff=("$cf")
else
  for py in /usr/share/clang/clang-format-*/clang-format-diff.py; do
    [ -f "$py" ] && format_diff=(python3 "$py")
  done
fi
if [ -z "$clang_format" ] || [ ${#format_diff[@]} -eq 0 ]; then
  say "clang-format (with clang-format-diff) is not installed: sudo apt-get install clang-format" \
      "(scripts/setup.sh installs it)" >&2
  exit 1
fi

if ! git rev-parse --verify -q HEAD >/dev/null; then
  say "no commit yet: nothing to compare with"
  exit 0
fi
commit() { git rev-parse --verify -q "$1^{commit}" 2>/dev/null; }
if [ -n "${RIDE_FORMAT_BASE:-}" ]; then
  base=$(commit "$RIDE_FORMAT_BASE") || { say "RIDE_FORMAT_BASE=$RIDE_FORMAT_BASE is not a commit" >&2; exit 1; }
  what="RIDE_FORMAT_BASE ($RIDE_FORMAT_BASE)"
elif commit origin/main >/dev/null && base=$(git merge-base origin/main HEAD 2>/dev/null) &&
     [ "$base" != "$(commit HEAD)" ]; then
  what="the merge-base with origin/main"
elif base=$(commit HEAD~1); then
  # A clean clone of main (CI): origin/main is HEAD itself, so the last commit is what changed.
  what="HEAD~1"
else
  base=$(commit HEAD)
  what="HEAD"
  say "no origin/main and no HEAD~1 (shallow or one-commit clone): committed lines are not checked," \
      "only uncommitted changes"
fi

exts=('*.cpp' '*.h' '*.cu')
# One unified diff with no context: tracked files against BASE (renames detected, deletions
# skipped), then each untracked file against /dev/null. Paths are b/<path> from the repository root.
patch=$(mktemp)
trap 'rm -f "$patch"' EXIT
git -c core.quotePath=false diff -U0 -M --no-color --no-ext-diff --src-prefix=a/ --dst-prefix=b/ \
  --diff-filter=d "$base" -- "${exts[@]}" >"$patch"
while IFS= read -r f; do
  git diff --no-index -U0 --no-color --no-ext-diff --src-prefix=a/ --dst-prefix=b/ /dev/null "$f" \
    >>"$patch" || true  # exit 1: they differ
done < <(git ls-files -o --exclude-standard -- "${exts[@]}")

files=$(sed -n 's|^+++ b/||p' "$patch" | sort -u)
if [ -z "$files" ]; then
  say "no changed C++ lines since $what (${base:0:12})"
  exit 0
fi
count=$(wc -l <<<"$files")

if [ -n "${RIDE_FORMAT_FIX:-}" ]; then
  "${format_diff[@]}" -p1 -i -regex '.*\.(cpp|h|cu)' -binary "$clang_format" <"$patch"
  say "reformatted the changed lines of $count file(s)"
  exit 0
fi

out=$("${format_diff[@]}" -p1 -regex '.*\.(cpp|h|cu)' -binary "$clang_format" <"$patch") || {
  say "clang-format-diff failed (is .clang-format valid?)" >&2
  exit 1
}
if [ -z "$out" ]; then
  say "$count changed file(s) formatted (lines changed since $what, ${base:0:12})"
  exit 0
fi

bad=$(sed -n 's|^--- \([^\t]*\)\t(before formatting)$|\1|p' <<<"$out")
{
  say "$(wc -l <<<"$bad") of $count changed file(s) drift from .clang-format (lines changed since $what):"
  while IFS= read -r f; do
    echo "  $f"
  done <<<"$bad"
  # each file's diff (clang-format's version of the changed lines), at most 20 lines per file
  awk '/^--- .*\t\(before formatting\)$/ { n = 0 } n++ < 20 { print "    " $0 } n == 21 { print "    ..." }' <<<"$out"
  say "fix: RIDE_FORMAT_FIX=1 scripts/check-format.sh  (reformats only the changed lines, in place)"
} >&2
exit 1
