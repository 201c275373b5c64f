#!/bin/bash
# Starts Docker inside the storage-node VM, whose PID 1 is no systemd: the modules Docker
# needs, cgroup2, then containerd and dockerd by hand (the measured recipe of
# /work/shared/reference/storage-vm/docker). Idempotent; returns once `docker info` answers.
set -euo pipefail
modprobe -a overlay bridge br_netfilter veth nf_nat nf_conntrack iptable_nat iptable_filter \
  ip_tables xt_MASQUERADE xt_addrtype xt_conntrack nf_tables nft_compat nft_chain_nat nft_ct \
  nft_masq
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
sysctl -qw net.ipv4.ip_forward=1
docker info >/dev/null 2>&1 && exit 0
setsid containerd </dev/null >>/var/log/containerd.log 2>&1 &
for _ in $(seq 600); do [[ -S /run/containerd/containerd.sock ]] && break; sleep 0.2; done
setsid dockerd --containerd=/run/containerd/containerd.sock </dev/null >>/var/log/dockerd.log 2>&1 &
dockerd=$!
deadline=$((SECONDS + 300))
while kill -0 "$dockerd" 2>/dev/null && ((SECONDS < deadline)); do
  [[ -S /run/docker.sock ]] && docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
tail -n 30 /var/log/dockerd.log >&2
exit 1
