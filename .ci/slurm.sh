#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the Slurm test (tests/slurm_array_test.sh).
# Usage: .ci/slurm.sh start|stop|status
#
# Runs as root without systemd (CI containers): Debian's postinst scripts start nothing there, so
# this script starts munged, slurmctld and slurmd itself. Everything Slurm writes (slurm.conf,
# state, spool, logs, pid files, the jobcomp record) lives in one private folder,
# $IMGPIPE_SLURM_DIR (default /tmp/imgpipe-slurm); clients find the configuration through
# SLURM_CONF, which `status` prints, so /etc/slurm is never written. munge keeps Debian's own
# places (/etc/munge/munge.key from the package, /run/munge, /var/log/munge): slurm reaches it
# through the default socket, and munged refuses log and socket folders it judges insecure,
# which a private folder under /tmp would be.
# start is idempotent (an idle node already up: nothing to do); stop cancels jobs first, since
# `scontrol shutdown` leaves running jobs behind.
set -euo pipefail

dir="${IMGPIPE_SLURM_DIR:-/tmp/imgpipe-slurm}"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"
node="$(hostname -s)"

die() { echo "slurm.sh: $*" >&2; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (starts munged as munge, slurmctld and slurmd as root)"
}

install_if_missing() {
  local missing=()
  for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "slurm.sh: installing ${missing[*]}" >&2
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
}

# A daemon that exited stays a zombie until this container's init reaps it, and kill -0 succeeds
# on a zombie: look at its state instead.
pid_alive() {
  [ -s "$1" ] || return 1
  local state
  state="$(ps -o stat= -p "$(cat "$1")" 2>/dev/null)" || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
  munge_ok && return 0
  # The package makes the key at install; make one if an image shipped without it.
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key >/dev/null 2>&1 ||
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  # /run/munge is a tmpfs folder systemd's unit would create; as root munged refuses to run
  # ("Logfile is insecure"), so it runs as its own user, which must own the socket folder.
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge_ok && return 0; sleep 0.1; done
  die "munge -n | unmunge fails after starting munged (see /var/log/munge/munged.log)"
}

write_conf() {
  mkdir -p "$dir"/{state,spool,log}
  # slurmctld -c starts job ids at 1 again: an old record would share ids with the new jobs.
  [ -f "$dir/jobcomp.txt" ] && mv -f "$dir/jobcomp.txt" "$dir/jobcomp.txt.old"
  chmod 0755 "$dir"
  # slurmd -C prints this machine's layout as a NodeName line; RealMemory at 90% of it, since a
  # node that registers with less memory than configured is drained.
  local layout mem
  layout="$(slurmd -C | head -n 1)" || die "slurmd -C failed"
  mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$layout")"
  [ -n "$mem" ] || die "no RealMemory in 'slurmd -C' output: $layout"
  layout="$(sed -e "s/^NodeName=[^ ]*/NodeName=$node NodeAddr=127.0.0.1/" \
                -e "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$layout")"
  cat >"$conf" <<EOF
# Written by imgpipe's .ci/slurm.sh; rewritten at each start.
ClusterName=imgpipe
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
# No cgroups in a container without systemd: track processes by parent pid, bind nothing.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A node that was down (a restart) comes back by itself when it registers.
ReturnToService=2
# Schedule at every submit and every end, not on a timer: short arrays start at once.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
# No slurmdbd, so sacct knows nothing: one line per finished job (array task) with its state
# and exit code, which the test reads.
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Finished jobs leave scontrol's view quickly; the jobcomp file keeps their record.
MinJobAge=30
KillWait=5
$layout
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

node_state() { sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -n 1; }

cmd_start() {
  need_root
  local t0=$SECONDS
  if pid_alive "$dir/slurmctld.pid" && pid_alive "$dir/slurmd.pid" && [ "$(node_state)" = idle ]; then
    echo "slurm.sh: already running, node $node idle; export SLURM_CONF=$conf"
    return 0
  fi
  install_if_missing
  start_munge
  pid_alive "$dir/slurmctld.pid" || write_conf
  if ! pid_alive "$dir/slurmctld.pid"; then
    # -c: a clean start, no jobs or node states left from an earlier cluster in this folder.
    slurmctld -c -f "$conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
  fi
  if ! pid_alive "$dir/slurmd.pid"; then
    slurmd -N "$node" -f "$conf" || die "slurmd did not start (see $dir/log/slurmd.log)"
  fi
  local state=""
  for _ in $(seq 300); do
    state="$(node_state)"
    case "$state" in
      idle) echo "slurm.sh: node $node idle after $((SECONDS - t0)) s; export SLURM_CONF=$conf"
            return 0 ;;
      drain*|down*) ;;  # registration may still be under way
    esac
    sleep 0.1
  done
  die "node $node is '${state:-unknown}', not idle, after 30 s (sinfo -R; $dir/log/)"
}

cmd_stop() {
  need_root
  if pid_alive "$dir/slurmctld.pid"; then
    # scontrol shutdown does not kill running jobs: cancel them, wait for them to go.
    scancel --full --quiet --user=root 2>/dev/null || true
    scancel --full --quiet 2>/dev/null || true
    for _ in $(seq 100); do
      [ -z "$(squeue -h -t running,completing 2>/dev/null)" ] && break
      sleep 0.1
    done
    scontrol shutdown >/dev/null 2>&1 || true
  fi
  local p
  for p in slurmd slurmctld; do
    for _ in $(seq 100); do pid_alive "$dir/$p.pid" || break; sleep 0.1; done
    if pid_alive "$dir/$p.pid"; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
  done
  if pid_alive /run/munge/munged.pid; then
    kill "$(cat /run/munge/munged.pid)"
  fi
  echo "slurm.sh: stopped"
}

cmd_status() {
  local ok=0
  munge_ok && echo "munge: ok" || { echo "munge: not running"; ok=1; }
  for p in slurmctld slurmd; do
    if pid_alive "$dir/$p.pid"; then echo "$p: pid $(cat "$dir/$p.pid")"
    else echo "$p: not running"; ok=1; fi
  done
  echo "node $node: $(node_state || true)"
  echo "export SLURM_CONF=$conf"
  [ "$(node_state)" = idle ] || [ "$(node_state)" = mixed ] || [ "$(node_state)" = allocated ] || ok=1
  return $ok
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
