# shellcheck shell=bash disable=SC2034
# Sourced by run_job.sh and resume_job.sh: the arguments they share (the variables it sets are theirs).
# job_args N ARGS...: RIDE VERIFY NP WORKDIR (and ACTIONS when N is 5) into ride, verify, np, dir
# (and actions); the ARGS after them split at --verify into ride_args (before it: ride run
# options) and verify_args (after it: the checker's options).
job_args() {
  local n=$1
  shift
  ride=$1 verify=$2 np=$3 dir=$4
  if [ "$n" -eq 5 ]; then actions=$5; fi
  shift "$n"
  ride_args=() verify_args=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--verify" ]; then shift; verify_args=("$@"); break; fi
    ride_args+=("$1"); shift
  done
}
