#!/usr/bin/env bash
# Starts Debian's redis-server on 127.0.0.1:PORT with no persistence, in its own session, in the
# background; waits (at most ~10 s) until it answers PING and prints its pid on stdout.
# Stop it with stop_redis.sh PID. Usage: run_redis.sh PORT DIR   (DIR: working dir and log)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 PORT DIR" >&2
  exit 2
fi
port=$1
dir=$2
case $port in '' | *[!0-9]*) echo "run_redis: bad port '$port'" >&2; exit 2 ;; esac
command -v redis-server >/dev/null || { echo "run_redis: redis-server not installed (apt-get install redis-server)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "run_redis: redis-cli not installed (apt-get install redis-tools)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
log=$dir/redis-$port.log

# Something already answering on the port would fake our PONG: refuse.
if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
  echo "run_redis: something already answers on 127.0.0.1:$port" >&2
  exit 1
fi

# Without job control the background child is not a process-group leader, so setsid execs
# redis-server in place and $! is the server's own pid (checked below against INFO).
setsid redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --daemonize no \
  --dir "$dir" --logfile "$log" </dev/null >/dev/null 2>&1 &
pid=$!

for _ in $(seq 1 200); do
  if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null || true)" = PONG ]; then
    served=$(redis-cli -h 127.0.0.1 -p "$port" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
    if [ "$served" = "$pid" ]; then
      echo "$pid"
      exit 0
    fi
    echo "run_redis: port $port is served by pid '$served', not by the server started ($pid)" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "run_redis: redis-server exited during start-up; $log says:" >&2
    tail -n 5 "$log" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.05
done
echo "run_redis: redis-server (pid $pid) did not answer PING on port $port within 10 s" >&2
kill -KILL "$pid" 2>/dev/null || true
exit 1
