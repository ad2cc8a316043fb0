#!/bin/bash
# slurm-nodes.sh -- a private Slurm cluster of several nodes on this one machine, for the tests.
#
#   slurm-nodes.sh start STATE_DIR    (env: NODES, SUBNET, TAG, SLURMCTLD_PORT, SLURMD_PORT, ...)
#   slurm-nodes.sh stop STATE_DIR
#
# Each node is a network namespace (its own veth, IP and loopback) with its own UTS namespace (its
# own hostname), both entered by its slurmd and so inherited by every job process on that node; the
# veths hang off one bridge in the root namespace, which also carries the address slurmctld is
# reached at. The mount namespace is NOT changed (nsenter --net, not `ip netns exec`, which would
# remount /sys privately): nodes share the file system, as a cluster with a shared FS does. One
# munged serves every node (its socket is a path, which a network namespace does not hide).
#
#   NODES   how many nodes (default 3), named ${TAG}n1, ${TAG}n2, ...
#   SUBNET  the first three bytes of a free /24 (default 10.213.7): bridge .1, node k at .(10+k)
#   TAG     a short prefix for names of links, namespaces and nodes (default am); link names are
#           ${TAG}br (the bridge) and ${TAG}vK (node K's host side), at most 15 characters
#
# Everything started is written to STATE_DIR/pids ("name pid") and STATE_DIR/net ("netns NAME",
# "link NAME"); stop kills by pid and deletes exactly those, so a cluster can be stopped from
# another process (a test's teardown, or a later run cleaning up after a killed one).
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

die() { echo "slurm-nodes: ERROR: $*" >&2; exit 1; }
log() { echo "slurm-nodes: $*" >&2; }

alive() {  # running and not a zombie
  local pid=$1 st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

cmd=${1:-}
STATE=${2:-}
[ -n "$cmd" ] && [ -n "$STATE" ] || die "usage: slurm-nodes.sh start|stop STATE_DIR"
[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, slurmd)"

stop() {
  [ -d "$STATE" ] || return 0
  export SLURM_CONF=$STATE/etc/slurm.conf
  local PIDS=$STATE/pids NET=$STATE/net
  if [ -f "$PIDS" ]; then
    local ctld; ctld=$(awk '$1=="slurmctld" {print $2}' "$PIDS")
    if alive "$ctld"; then
      local jobs; jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
      if [ -n "${jobs// }" ]; then
        scancel $jobs 2>/dev/null || true
        for _ in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
      fi
    fi
    # daemons (not munged yet: slurmd may still want it), by pid, TERM then KILL
    local name pid
    while read -r name pid; do
      [ "$name" = munged ] && continue
      alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
    done < "$PIDS"
    for _ in $(seq 50); do
      local any=
      while read -r name pid; do [ "$name" != munged ] && alive "$pid" && any=1; done < "$PIDS"
      [ -z "$any" ] && break; sleep 0.2
    done
    while read -r name pid; do
      [ "$name" != munged ] && alive "$pid" && { kill -KILL "$pid" 2>/dev/null; echo "killed $name ($pid)"; }
    done < "$PIDS"
  fi
  # every process of this cluster still alive: slurmstepd and job processes carry SLURM_CONF
  # (one grep over every environ: a process per pid would take seconds on a busy machine)
  local f
  for f in $(grep -lzx "SLURM_CONF=$SLURM_CONF" /proc/[0-9]*/environ 2>/dev/null); do
    pid=${f#/proc/}; pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    [ -f "$PIDS" ] && grep -q "^munged $pid\$" "$PIDS" && continue
    alive "$pid" && kill -KILL "$pid" 2>/dev/null && echo "killed leftover $(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | cut -c1-60) ($pid)"
  done
  if [ -f "$PIDS" ]; then
    pid=$(awk '$1=="munged" {print $2}' "$PIDS")
    if alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 25); do alive "$pid" || break; sleep 0.2; done
      alive "$pid" && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$PIDS"
  fi
  if [ -f "$NET" ]; then
    # links first (deleting a veth's host side deletes its peer), then the namespaces
    awk '$1=="link" {print $2}' "$NET" | while read -r l; do ip link del "$l" 2>/dev/null || true; done
    awk '$1=="netns" {print $2}' "$NET" | while read -r n; do ip netns del "$n" 2>/dev/null || true; done
    rm -f "$NET"
  fi
  echo "slurm-nodes in $STATE stopped"
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || die "unknown command $cmd"

NODES=${NODES:-3}
SUBNET=${SUBNET:-10.213.7}
TAG=${TAG:-am}
CTLD_PORT=${SLURMCTLD_PORT:-6817}
D_PORT=${SLURMD_PORT:-6818}
CRED_EXPIRE=${SLURM_CRED_EXPIRE:-5}
KILL_WAIT=${SLURM_KILL_WAIT:-10}
TIMEOUT=${SLURM_START_TIMEOUT:-60}
for b in ip nsenter unshare hostname munged mungekey munge unmunge slurmctld slurmd sinfo scontrol; do
  command -v "$b" >/dev/null 2>&1 || die "$b not found (apt-get install iproute2 util-linux slurm-wlm munge)"
done
((${#TAG} <= 10)) || die "TAG too long: $TAG"

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd -P)
[ -f "$STATE/pids" ] && die "$STATE/pids exists: stop that cluster first"
umask 022
mkdir -p "$STATE"/{etc,ctld,spool,log,munge}
mkdir -p "$STATE"/munge/{etc,run,lib,log}
chmod 755 "$STATE" "$STATE/munge" "$STATE/munge/run"
chmod 700 "$STATE/munge/etc" "$STATE/munge/lib" "$STATE/munge/log"
: > "$STATE/net"
: > "$STATE/pids"
# a failed start leaves nothing behind
trap 'rc=$?; [ $rc = 0 ] || { stop >/dev/null 2>&1 || true; }' EXIT

# ---- the network: a bridge in the root namespace, a namespace + veth per node ----
BR=${TAG}br
ip link add "$BR" type bridge
echo "link $BR" >> "$STATE/net"
ip addr add "$SUBNET.1/24" dev "$BR"
ip link set "$BR" up
for k in $(seq "$NODES"); do
  ns=${TAG}-n$k
  host=${TAG}v$k
  ip netns add "$ns"
  echo "netns $ns" >> "$STATE/net"
  ip link add "$host" type veth peer name "${TAG}p$k"
  echo "link $host" >> "$STATE/net"
  ip link set "${TAG}p$k" netns "$ns"
  ip link set "$host" master "$BR"
  ip link set "$host" up
  ip -n "$ns" link set "${TAG}p$k" name eth0
  ip -n "$ns" addr add "$SUBNET.$((10 + k))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done

# ---- munge: one key, one daemon ----
KEY=$STATE/munge/etc/munge.key
SOCK=$STATE/munge/run/munge.socket.2
mungekey -c -k "$KEY" 2>/dev/null || dd if=/dev/urandom of="$KEY" bs=1 count=1024 status=none
chmod 400 "$KEY"

HW=$(slurmd -C | head -1)
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$HW"; }
CPUS=$(get CPUs); SOCKETS=$(get SocketsPerBoard); CORES=$(get CoresPerSocket)
THREADS=$(get ThreadsPerCore); MEM=$(get RealMemory)
[ -n "$CPUS" ] && [ -n "$MEM" ] || die "could not parse 'slurmd -C': $HW"

CONF=$STATE/etc/slurm.conf
# slurmctld runs here, in the root namespaces: it must be named by this machine's hostname (it
# refuses to start as "not a valid controller" otherwise); the nodes reach it on the bridge.
{
  cat <<EOF
# generated by slurm-nodes.sh: $NODES nodes, each in its own network and UTS namespace
ClusterName=${TAG}nodes
SlurmctldHost=$(hostname -s)($SUBNET.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK,cred_expire=$CRED_EXPIRE
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool/%n
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd-%n.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_interval=2,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=$KILL_WAIT
InactiveLimit=0
PlugStackConfig=$STATE/etc/plugstack.conf
EOF
  for k in $(seq "$NODES"); do
    echo "NodeName=${TAG}n$k NodeHostname=${TAG}n$k NodeAddr=$SUBNET.$((10 + k)) CPUs=$CPUS Boards=1 SocketsPerBoard=$SOCKETS CoresPerSocket=$CORES ThreadsPerCore=$THREADS RealMemory=$MEM State=UNKNOWN"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} > "$CONF"
: > "$STATE/etc/plugstack.conf"
echo "export SLURM_CONF=$CONF" > "$STATE/env.sh"
export SLURM_CONF=$CONF

munged --socket="$SOCK" --key-file="$KEY" --pid-file="$STATE/munge/run/munged.pid" \
       --log-file="$STATE/munge/log/munged.log" --seed-file="$STATE/munge/lib/munged.seed" \
  || die "munged failed; see $STATE/munge/log/munged.log"
for _ in $(seq 50); do [ -s "$STATE/munge/run/munged.pid" ] && [ -S "$SOCK" ] && break; sleep 0.1; done
echo "munged $(cat "$STATE/munge/run/munged.pid")" >> "$STATE/pids"
munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null || die "munge self-test failed"

slurmctld -c || die "slurmctld failed; see $STATE/log/slurmctld.log"
for _ in $(seq 50); do [ -s "$STATE/slurmctld.pid" ] && break; sleep 0.1; done
echo "slurmctld $(cat "$STATE/slurmctld.pid")" >> "$STATE/pids"

for k in $(seq "$NODES"); do
  n=${TAG}n$k
  # the node's slurmd enters its network namespace and a UTS namespace of its own (its hostname);
  # it daemonizes, and its pid file names the daemon
  nsenter --net="/run/netns/${TAG}-n$k" unshare --uts sh -c "hostname $n && exec slurmd -N $n" \
    || die "slurmd $n failed; see $STATE/log/slurmd-$n.log"
  for _ in $(seq 50); do [ -s "$STATE/slurmd-$n.pid" ] && break; sleep 0.1; done
  echo "slurmd:$n $(cat "$STATE/slurmd-$n.pid")" >> "$STATE/pids"
done

end=$(( $(date +%s) + TIMEOUT ))
want=$NODES
while :; do
  idle=$( (sinfo -h -N -t idle -o %N 2>/dev/null || true) | sort -u | wc -l)
  [ "$idle" -ge "$want" ] && break
  [ "$(date +%s)" -lt "$end" ] || die "only $idle of $want nodes idle after ${TIMEOUT}s: $(sinfo -h -N -o '%N %T' | tr '\n' ' '); see $STATE/log/"
  sleep 0.2
done
log "$NODES nodes idle: $(sinfo -h -N -o '%N' | tr '\n' ' ')"
