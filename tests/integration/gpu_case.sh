#!/usr/bin/env bash
# Runs kill_job.sh only where it means something: `need-gpu` cases skip (ctest exit 77) on a host
# without a CUDA device, `need-no-gpu` cases skip on a host with one.
# usage: gpu_case.sh need-gpu|need-no-gpu RIDE VERIFY NP WORKDIR ACTIONS [args as kill_job.sh]
set -euo pipefail
need=$1
shift
devices=$("$1" version | sed -n 's/^cuda: .*, \([0-9]*\) device(s)$/\1/p')
if [ "$need" = need-gpu ] && [ "${devices:-0}" -eq 0 ]; then
  echo "gpu_case: no CUDA device here: skipped"; exit 77
fi
if [ "$need" = need-no-gpu ] && [ "${devices:-0}" -gt 0 ]; then
  echo "gpu_case: this host has a CUDA device: skipped"; exit 77
fi
exec "$(dirname "$0")/kill_job.sh" "$@"
