#!/usr/bin/env bash
# Stops a redis-server started by run_redis.sh: SIGTERM, then SIGKILL after 5 s. Refuses a pid
# that is not a redis-server. Exits 0 once the process is gone (a zombie counts as gone).
# Usage: stop_redis.sh PID
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 PID" >&2
  exit 2
fi
pid=$1
case $pid in '' | *[!0-9]*) echo "stop_redis: bad pid '$pid'" >&2; exit 2 ;; esac

alive() {  # running, and not a zombie waiting for its (re)parent to reap it
  [ -r "/proc/$pid/stat" ] || return 1
  local state
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

if ! alive; then
  exit 0  # already gone
fi
comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
case $comm in
  redis-server*) ;;
  *) echo "stop_redis: pid $pid is '$comm', not redis-server; not touching it" >&2; exit 1 ;;
esac

# stop_with SIG TRIES: sends SIG, then exits 0 as soon as the process is gone, looking TRIES times
# 0.05 s apart; returns when it is still there.
stop_with() {
  kill "-$1" "$pid" 2>/dev/null || true
  for _ in $(seq 1 "$2"); do
    alive || exit 0
    sleep 0.05
  done
}

stop_with TERM 100
echo "stop_redis: pid $pid ignored SIGTERM for 5 s; sending SIGKILL" >&2
stop_with KILL 40
echo "stop_redis: pid $pid is still alive" >&2
exit 1
