#!/usr/bin/env bash
# A bad configuration: every rank must exit non-zero, promptly, and the message must name the
# key and where it came from.
# usage: bad_config.sh RIDE NP EXPECTED_MESSAGE_REGEX [ride run options...]
set -uo pipefail
ride=$1 np=$2 want=$3
shift 3
launcher=$(cd "$(dirname "$0")/../../scripts" && pwd)/ride-mpirun
out=$(RIDE=$ride timeout -k 5 60 "$launcher" --oversubscribe -np "$np" -- "$@" 2>&1)
rc=$?
echo "$out"
[ "$rc" -eq 124 ] && { echo "bad_config: the job hung" >&2; exit 1; }
[ "$rc" -eq 2 ] || { echo "bad_config: expected exit code 2 (configuration error), got $rc" >&2; exit 1; }
echo "$out" | grep -Eq -- "$want" || { echo "bad_config: message does not match '$want'" >&2; exit 1; }
n=$(echo "$out" | grep -c "configuration error")
[ "$n" -eq 1 ] || { echo "bad_config: expected the error once (from rank 0), saw $n" >&2; exit 1; }
exit 0
