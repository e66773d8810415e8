# shellcheck shell=bash
# A private, real single-node Slurm for tests (no mocks): munged + slurmctld + slurmd, all under
# one temp dir, on free ports, stopped by pid. Source this file, then:
#
#   slurm_require        fail (exit 1) with a clear message when munge/Slurm are not installed
#   slurm_start DIR      start everything under DIR/slurm (DIR: an existing temp dir that the
#                        watchdog removes if the caller dies);
#                        exports SLURM_CONF; returns non-zero (logs printed) when the node does
#                        not come up idle within 20 s
#   slurm_stop           cancel every job, stop slurmd, slurmctld and munged by pid, kill any
#                        process left in DIR (job steps), verify nothing of ours is left;
#                        returns non-zero when something had to be killed hard or survived
#
# Settings follow ../../../shared/notes/slurm-single-node.md (measured on Debian bookworm,
# Slurm 22.05), plus what the tests need:
#   - a private munged (own key, own socket, AuthInfo=socket=...): the system munged is neither
#     needed nor touched, and nothing of ours outlives the test;
#   - MinJobAge=3600: a finished job stays in slurmctld's memory, so `scontrol show job ID`
#     still reports JobState and ExitCode (accounting storage is none: sacct cannot);
#   - SchedulerParameters=batch_sched_delay=0: without it a job submitted right after another
#     one finished waited ~3 s to start (measured);
#   - KillWait=2: scancel on a stuck job escalates to SIGKILL after 2 s, not 30;
#   - one fake GPU (GresTypes=gpu, File=a plain file) so slurm/ride-gpu.sbatch's GPU request
#     can be scheduled on a machine without a GPU.
# A watchdog stops the daemons and removes DIR if the sourcing script dies without running
# slurm_stop (e.g. SIGKILL from a ctest timeout).

slurm_require() {
  local missing=() c
  for c in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel python3; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "slurm test: missing ${missing[*]}: run scripts/setup.sh (it installs the Debian" \
         "packages slurmctld slurmd slurm-client munge)" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "slurm test: must run as root (slurmd launches jobs; SlurmUser=root)" >&2
    exit 1
  fi
}

_slurm_log() { echo "[slurm-test] $*" >&2; }

# Two free TCP ports on 127.0.0.1 (bound together, then released).
_slurm_free_ports() {
  python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
}

_slurm_dump_logs() {
  local f
  for f in "$SLURM_TEST_D"/munged.log "$SLURM_TEST_D"/slurmctld.out "$SLURM_TEST_D"/slurmctld.log \
           "$SLURM_TEST_D"/slurmd.out "$SLURM_TEST_D"/slurmd.log; do
    [ -s "$f" ] || continue
    echo "----- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# Pids of processes whose working directory lies under DIR (job scripts, mpirun, ride ranks,
# slurmstepd), other than this shell and its ancestors.
_slurm_pids_in() {
  local dir=$1 p cwd
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    [ "$p" = "$BASHPID" ] && continue
    cwd=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
    case "$cwd" in "$dir"|"$dir"/*) echo "$p" ;; esac
  done
}

slurm_start() {
  local top=$1
  SLURM_TEST_TOP=$(cd "$top" && pwd)
  SLURM_TEST_D=$SLURM_TEST_TOP/slurm
  local D=$SLURM_TEST_D
  mkdir -p "$D"/state "$D"/spool "$D"/munge "$D"/sock
  # munged wants its socket directory reachable by everyone (x on the path); the key stays 0600.
  chmod 755 "$SLURM_TEST_TOP" "$D" "$D"/sock
  chmod 700 "$D"/munge
  # Several environment variables change what sbatch/squeue do; a test run inside a real
  # allocation must not leak its job into ours.
  local v
  for v in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL)_'); do
    unset "$v"
  done

  # Watchdog first, so that it exists before any daemon does.
  # shellcheck disable=SC2016  # expanded by the watchdog's own bash
  setsid bash -c '
    parent=$1 top=$2 d=$3
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    [ -d "$d" ] || exit 0
    for f in "$d"/*.pid "$d"/*.started; do
      p=$(cat "$f" 2>/dev/null) && [ -n "$p" ] && kill -KILL "$p" 2>/dev/null
    done
    for p in /proc/[0-9]*; do
      p=${p#/proc/}; cwd=$(readlink /proc/$p/cwd 2>/dev/null) || continue
      case "$cwd" in "$top"|"$top"/*) kill -KILL "$p" 2>/dev/null ;; esac
    done
    sleep 1
    rm -rf "$top"' slurm-watchdog $$ "$SLURM_TEST_TOP" "$D" >/dev/null 2>&1 </dev/null &
  SLURM_TEST_WATCHDOG=$!

  # munge: a private daemon with its own key and socket.
  head -c 1024 /dev/urandom >"$D"/munge/munge.key
  chmod 600 "$D"/munge/munge.key
  local sock=$D/sock/munge.socket
  if ! munged --socket="$sock" --key-file="$D"/munge/munge.key --pid-file="$D"/munged.pid \
         --log-file="$D"/munged.log --seed-file="$D"/munge/munged.seed >/dev/null 2>&1 </dev/null; then
    _slurm_log "munged did not start"; _slurm_dump_logs; return 1
  fi
  local i
  for i in $(seq 50); do [ -s "$D"/munged.pid ] && break; sleep 0.1; done
  if ! munge --socket="$sock" -n 2>/dev/null | unmunge --socket="$sock" >/dev/null 2>&1; then
    _slurm_log "munge credential round trip failed"; _slurm_dump_logs; return 1
  fi

  local ctld_port slurmd_port mem_mb cpus
  read -r ctld_port slurmd_port < <(_slurm_free_ports)
  cpus=$(nproc)
  # RealMemory must not exceed what slurmd measures, or the node is set INVALID: 90 % of it.
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  : >"$D"/gpu0   # the fake GPU device (a plain file; slurmd logs that it is not a device)
  cat >"$D"/slurm.conf <<EOF
ClusterName=ridetest
SlurmctldHost=localhost
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
KillWait=2
SchedulerParameters=batch_sched_delay=0
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=$(hostname) CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=localhost Name=gpu File=$D/gpu0" >"$D"/gres.conf
  export SLURM_CONF=$D/slurm.conf

  (cd "$D" && exec setsid slurmctld -D -f "$SLURM_CONF" >"$D"/slurmctld.out 2>&1 </dev/null) &
  SLURM_TEST_CTLD=$!
  (cd "$D" && exec setsid slurmd -D -N localhost -f "$SLURM_CONF" >"$D"/slurmd.out 2>&1 </dev/null) &
  SLURM_TEST_SLURMD=$!
  # For the watchdog (the daemons write their own *.pid files too, a little later).
  echo "$SLURM_TEST_CTLD" >"$D"/slurmctld.started
  echo "$SLURM_TEST_SLURMD" >"$D"/slurmd.started

  local state="" t0=$SECONDS
  while [ $((SECONDS - t0)) -lt 20 ]; do
    state=$(sinfo -h -n localhost -o %T 2>/dev/null)
    [ "$state" = idle ] && break
    if ! kill -0 "$SLURM_TEST_CTLD" 2>/dev/null || ! kill -0 "$SLURM_TEST_SLURMD" 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  if [ "$state" != idle ]; then
    _slurm_log "the node did not become idle within 20 s (state '${state:-none}'):"
    scontrol show node localhost 2>&1 | grep -E 'State|Reason' >&2
    _slurm_dump_logs
    return 1
  fi
  # setsid execs in place (a background subshell is no process group leader), so the pid we
  # started is the daemon's: check, since slurm_stop stops them by these pids.
  if [ "$(cat "$D"/slurmctld.pid 2>/dev/null)" != "$SLURM_TEST_CTLD" ] ||
     [ "$(cat "$D"/slurmd.pid 2>/dev/null)" != "$SLURM_TEST_SLURMD" ]; then
    _slurm_log "daemon pid files ($(cat "$D"/slurmctld.pid "$D"/slurmd.pid 2>/dev/null | tr '\n' ' '))" \
               "differ from the started pids ($SLURM_TEST_CTLD $SLURM_TEST_SLURMD)"
    return 1
  fi
  _slurm_log "slurmctld (pid $SLURM_TEST_CTLD, port $ctld_port) and slurmd (pid $SLURM_TEST_SLURMD," \
             "port $slurmd_port) up, node idle after $((SECONDS - t0)) s; $cpus CPUs, ${mem_mb} MB"
}

# Stop daemons by pid, together: TERM, up to 5 s, then KILL (munged alone takes ~1.5 s to exit
# after TERM, measured). Returns 1 if one had to be killed hard.
_slurm_stop_pids() {
  local pid i rc=0 alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
  for i in $(seq 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
    # Children of this shell linger as zombies (still "alive" for kill -0) until reaped.
    for pid in "$@"; do
      [ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" = Z ] && wait "$pid" 2>/dev/null
    done
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      _slurm_log "pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)) ignored SIGTERM for 5 s: killing it"
      kill -KILL "$pid" 2>/dev/null
      rc=1
    fi
    wait "$pid" 2>/dev/null
  done
  return $rc
}

slurm_stop() {
  [ -n "${SLURM_TEST_D:-}" ] || return 0
  local rc=0 ids i left
  # Jobs first: killing slurmd does not end slurmstepd or the job's processes.
  if [ -n "${SLURM_TEST_CTLD:-}" ] && kill -0 "$SLURM_TEST_CTLD" 2>/dev/null; then
    ids=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$ids" ]; then
      _slurm_log "cancelling jobs still queued or running: ${ids//$'\n'/ }"
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null
      for i in $(seq 100); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.1; done
    fi
  fi
  local mpid
  mpid=$(cat "$SLURM_TEST_D"/munged.pid 2>/dev/null)
  # shellcheck disable=SC2086  # unset pids drop out
  _slurm_stop_pids ${SLURM_TEST_SLURMD:-} ${SLURM_TEST_CTLD:-} $mpid || rc=1
  # Whatever still runs in our tree (a job step that outlived scancel) is killed by pid.
  left=$(_slurm_pids_in "$SLURM_TEST_TOP")
  if [ -n "$left" ]; then
    _slurm_log "processes left under $SLURM_TEST_TOP: ${left//$'\n'/ }: killing them"
    # shellcheck disable=SC2086
    kill -KILL $left 2>/dev/null
    sleep 0.5
    rc=1
  fi
  for i in ${SLURM_TEST_SLURMD:-} ${SLURM_TEST_CTLD:-} $mpid; do
    if kill -0 "$i" 2>/dev/null; then _slurm_log "pid $i survived SIGKILL"; rc=1; fi
  done
  if [ -n "${SLURM_TEST_WATCHDOG:-}" ]; then
    kill "$SLURM_TEST_WATCHDOG" 2>/dev/null
    wait "$SLURM_TEST_WATCHDOG" 2>/dev/null
  fi
  SLURM_TEST_D="" SLURM_TEST_CTLD="" SLURM_TEST_SLURMD="" SLURM_TEST_WATCHDOG=""
  return $rc
}
