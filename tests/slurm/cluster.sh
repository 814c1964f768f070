#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the SLURM integration tests.
#
#   tests/slurm/cluster.sh install   apt-get the Debian packages (slurmctld slurmd slurm-client munge)
#   tests/slurm/cluster.sh start     write the config, start munged, slurmctld and slurmd, wait
#   tests/slurm/cluster.sh stop      stop the daemons this script started
#   tests/slurm/cluster.sh status    sinfo
#
# Needs root (the daemons run as root, as Debian's packages expect under no init system).
# The node has this machine's cores and memory and two fake GPUs: `GresTypes=gpu` with
# `gres.conf` naming two empty files, so `--gpus=1` jobs schedule and run (they see no CUDA
# device and fall back to the CPU) and the tests use the production profile's GPU requests as
# they are. Memory is checked per job against the node but not consumed (CR_Core), so the
# profile's production memory requests fit and jobs still run side by side on this small node.
# Accounting is off, so job states come from slurmctld: `MinJobAge` keeps finished jobs there
# long enough for squeue status checks and for the tests' `scontrol show job` look-ups.
set -euo pipefail

STATE=${CONVERGENT_SLURM_STATE:-/var/lib/convergent-slurm}
PARTITION=${CONVERGENT_SLURM_PARTITION:-debug}
CONF_DIR=/etc/slurm
MARK="# written by convergent tests/slurm/cluster.sh"

die() { echo "cluster.sh: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts slurmctld, slurmd, munged)"; }

install() {
    need_root
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null; then
        echo "cluster.sh: SLURM and munge are installed"
        return
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
    local host cpus mem_mb
    host=$(hostname -s)
    cpus=$(nproc)
    # leave 1 GiB to the system, as a real node's RealMemory does
    mem_mb=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
    if [ -f "$CONF_DIR/slurm.conf" ] && ! grep -qF "$MARK" "$CONF_DIR/slurm.conf"; then
        die "$CONF_DIR/slurm.conf exists and was not written by this script: not touching it"
    fi
    mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$STATE/log"
    : > "$STATE/gpu0"
    : > "$STATE/gpu1"
    cat > "$CONF_DIR/slurm.conf" <<EOF
$MARK
ClusterName=convergent
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=7200
MaxArraySize=10001
MaxJobCount=50000
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$mem_mb Gres=gpu:2 State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    cat > "$CONF_DIR/gres.conf" <<EOF
$MARK
AutoDetect=off
NodeName=$host Name=gpu File=$STATE/gpu[0-1]
EOF
}

start_munge() {
    if pgrep -x munged >/dev/null; then return; fi
    [ -s /etc/munge/munge.key ] || {
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    }
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged
}

wait_for_node() {
    local state
    for _ in $(seq 60); do
        state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1 || true)
        case "$state" in
            idle*|mixed*|allocated*) echo "cluster.sh: SLURM is up (node $state)"; return ;;
            down*|drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
    die "the node did not come up within 60 s (logs above)"
}

start() {
    need_root
    command -v slurmctld >/dev/null || die "SLURM is not installed: run '$0 install' first"
    write_config
    start_munge
    pgrep -x slurmctld >/dev/null || slurmctld -c
    pgrep -x slurmd >/dev/null || slurmd
    wait_for_node
}

stop() {
    need_root
    scancel --user=root 2>/dev/null || true
    for daemon in slurmd slurmctld; do
        pkill -x "$daemon" 2>/dev/null || true
    done
    for _ in $(seq 20); do
        pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
        sleep 0.5
    done
    echo "cluster.sh: SLURM stopped"
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) sinfo ;;
    *) die "usage: $0 install|start|stop|status" ;;
esac
