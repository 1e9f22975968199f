#!/usr/bin/env bash
# Starts a one-node Slurm cluster on this machine (for the tests of Gpff.Slurm and for trying `gpff train
# --slurm` / the Slurm reference pool without a real cluster). Debian/Ubuntu: apt-get install slurm-wlm munge.
# Must run as root (slurmctld and slurmd run as root; munged as the munge user). Idempotent: when the cluster
# is already up and its node idle or in use, it does nothing.
#
# What it does: a munge key (the package's, or a new one), munged as the munge user; a slurm.conf at
# $SLURM_CONF (default /etc/slurm/slurm.conf, written only when absent or written by this script before) with
# SlurmctldHost = this host, auth/munge, proctrack/linuxproc, task/none, select/cons_tres (CR_Core), one node with
# CPUs = $(nproc) and one default partition "debug"; state, spool, logs and pid files under $GPFF_SLURM_DIR
# (default ${TMPDIR:-/tmp}/gpff-slurm); then slurmctld and slurmd, and waits until the node accepts jobs.
# Finished jobs stay visible to `squeue --states=all` for an hour (MinJobAge); there is no accounting
# database, so `sacct` answers only where a real cluster has slurmdbd.
set -euo pipefail

conf=${SLURM_CONF:-/etc/slurm/slurm.conf}
state=${GPFF_SLURM_DIR:-${TMPDIR:-/tmp}/gpff-slurm}
marker="# written by gpff tools/slurm/start-local-cluster.sh"
host=$(hostname -s)
cpus=$(nproc)

die() { echo "start-local-cluster: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (slurmctld/slurmd run as root here); try: sudo $0"
for p in munged slurmctld slurmd sbatch squeue scontrol; do
  command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || die "$p not found: apt-get install slurm-wlm munge"
done
export PATH="$PATH:/usr/sbin"

node_ready() {
  local s
  s=$(SLURM_CONF="$conf" sinfo --noheader --nodes="$host" --format=%T 2>/dev/null | head -1) || return 1
  case "$s" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac
}

if [ -f "$conf" ] && node_ready; then
  echo "start-local-cluster: already up ($host, $(SLURM_CONF="$conf" sinfo --noheader --format='%c CPUs, partition %P, %T' | head -1))"
  exit 0
fi

mkdir -p "$state/ctld" "$state/spool" "$state/log"

# munge: key readable by munge only; the daemon as the munge user, on the default socket.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --force
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
  munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
fi

# slurm.conf: never overwrite one this script did not write (a real cluster's).
if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  die "$conf exists and was not written by this script; set SLURM_CONF to another path to start a test cluster"
fi
mkdir -p "$(dirname "$conf")"
tmp=$(mktemp "$(dirname "$conf")/.slurm.conf.XXXXXX")
cat >"$tmp" <<CONF
$marker
ClusterName=gpff-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MinJobAge=3600
KillWait=5
InactiveLimit=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
chmod 0644 "$tmp"
mv -f "$tmp" "$conf"
export SLURM_CONF="$conf"

# Stop daemons this script started before (by their pid files), then start both.
for d in slurmd slurmctld; do
  if [ -s "$state/$d.pid" ] && kill -0 "$(cat "$state/$d.pid")" 2>/dev/null; then
    kill "$(cat "$state/$d.pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$state/$d.pid")" 2>/dev/null || break; sleep 0.2; done
  fi
done
/usr/sbin/slurmctld -c -f "$conf" || die "slurmctld did not start (see $state/log/slurmctld.log)"
/usr/sbin/slurmd -f "$conf" || die "slurmd did not start (see $state/log/slurmd.log)"

for _ in $(seq 120); do
  if node_ready; then
    echo "start-local-cluster: up in $SECONDS s ($host, $cpus CPUs, partition debug; SLURM_CONF=$conf, state in $state)"
    exit 0
  fi
  state_now=$(sinfo --noheader --nodes="$host" --format=%T 2>/dev/null | head -1 || true)
  case "$state_now" in down*|drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;; esac
  sleep 0.5
done
tail -5 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
die "the node did not become ready within 60 s (logs above)"
