#!/usr/bin/env bash
# Runs every Google Benchmark microbenchmark (bench_<family>) of a build and prints ride's time
# over the peer's, per size and thread count.
#
#   bench/kernels/run.sh BUILD_DIR [FAMILY...]
#
# For each executable bench_<family> under BUILD_DIR/bench/kernels (only the named families when
# given) it runs
#   bench_<family> --benchmark_out=$RESULTS_DIR/micro_<family>.json --benchmark_out_format=json \
#                  $RIDE_MICRO_ARGS
# and then bench/kernels/summarize.py over the JSON files, which writes
# $RESULTS_DIR/micro_summary.md and prints the same table.
#
# Environment:
#   RESULTS_DIR      where the JSON and the summary go (default: <repo>/results)
#   RIDE_MICRO_ARGS  Google Benchmark arguments (default:
#                    "--benchmark_repetitions=3 --benchmark_report_aggregates_only=true");
#                    e.g. RIDE_MICRO_ARGS="--benchmark_min_time=0.05" for a quick smoke run, or
#                    add --benchmark_filter=REGEX.
#
# Naming scheme, for every family (summarize.py pairs benchmarks by it):
#   <task>/<impl>/<size>/threads:<n>
#     task    what is computed, e.g. stddev, stddev_w15, matmul, fft (a parameter variant gets
#             its own task name)
#     impl    ride (our CPU path), opencv, or another peer's name
#     size    N for an N x N frame, WxH otherwise (e.g. 24160x25720)
#     n       threads given to both implementations (1, 2)
#   Register each benchmark under that name with ->ArgName("threads")->Arg(n); Google
#   Benchmark's own suffixes (/iterations:N, /real_time) are ignored by the summary.
#   Use ->UseRealTime() and ->Unit(benchmark::kMillisecond), set items/bytes processed, and
#   verify the output of what was timed (SkipWithError when it is wrong).
#
# The machine should be otherwise idle while this runs: the numbers are wall-clock times.
set -euo pipefail

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build_dir=$(cd "$1" && pwd)
shift
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
results=${RESULTS_DIR:-$repo/results}
args=${RIDE_MICRO_ARGS:---benchmark_repetitions=3 --benchmark_report_aggregates_only=true}
mkdir -p "$results"

mapfile -t binaries < <(find "$build_dir/bench/kernels" -type f -name 'bench_*' -perm -u+x | sort)
if [[ ${#binaries[@]} -eq 0 ]]; then
  echo "run.sh: no bench_* executables under $build_dir/bench/kernels (build them first)" >&2
  exit 1
fi

outputs=()
status=0
for bin in "${binaries[@]}"; do
  family=$(basename "$bin")
  family=${family#bench_}
  if [[ $# -gt 0 ]] && ! printf '%s\n' "$@" | grep -qx "$family"; then
    continue
  fi
  out="$results/micro_$family.json"
  echo "== $family: $bin $args" >&2
  # shellcheck disable=SC2086  # $args is a list of arguments on purpose
  if "$bin" --benchmark_out="$out" --benchmark_out_format=json $args; then
    outputs+=("$out")
  else
    echo "run.sh: $bin failed (exit $?)" >&2
    status=1
    [[ -s "$out" ]] && outputs+=("$out")
  fi
done

if [[ ${#outputs[@]} -eq 0 ]]; then
  echo "run.sh: nothing ran" >&2
  exit 1
fi
# The summary covers every family's latest JSON in $results, so re-running one family keeps
# the others' rows.
python3 "$repo/bench/kernels/summarize.py" --out "$results/micro_summary.md" "$results"/micro_*.json ||
  status=1
exit "$status"
