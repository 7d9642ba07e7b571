#!/usr/bin/env bash
# A one-node Slurm cluster on this machine (Debian's slurm-wlm and munge, run as root), so
# that the job scripts beside this file run for real: `.ci/run` starts it for the tests.
# Does nothing when a controller already answers. State and logs: $VSR_SLURM_DIR.
set -euo pipefail
dir=${VSR_SLURM_DIR:-/tmp/vsr-slurm}
if scontrol ping 2>/dev/null | grep -q "is UP"; then
    exit 0
fi
host=$(hostname -s)
cpus=$(nproc)
memory=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
rm -rf "$dir/ctld"  # a fresh cluster: no node states or jobs from an earlier one
mkdir -p "$dir"/{ctld,d} /etc/slurm /run/munge /var/log/munge /var/lib/munge
chown -R munge: /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null || true
[ -s /etc/munge/munge.key ] || mungekey --create --force
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged 2>/dev/null || munged --force
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=vsr-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/d
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$memory Gres=gpu:$cpus State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
# Stand-in GPUs, so that the job scripts' --gres=gpu:1 is granted as on a real cluster
# (vsr-upscale finds no CUDA device and runs on the CPU).
for i in $(seq 0 $((cpus - 1))); do touch "$dir/gpu$i"; done
echo "NodeName=$host Name=gpu File=$dir/gpu[0-$((cpus - 1))]" >/etc/slurm/gres.conf
slurmctld
slurmd
for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -Eq "^(idle|mix|alloc)"; then
        exit 0
    fi
    sleep 1
done
echo "the local Slurm cluster did not come up (logs in $dir)" >&2
exit 1
