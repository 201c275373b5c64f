#!/usr/bin/env bash
# Installs .deb files into a raw copy of the storage-node image, on the host: dpkg at native
# speed instead of under TCG (tens of minutes there on a busy machine). The image's ext4 is
# loop-mounted; nothing installed may start a service (policy-rc.d).
#   install-debs.sh ROOT.raw DEBS_DIR
set -euo pipefail
raw=$1
debs=$2
mnt=$(mktemp -d /var/tmp/cinderblock-compose-root.XXXXXX)
cleanup() {
  for dir in dev/pts dev sys proc ""; do
    mountpoint -q "$mnt/$dir" && umount "$mnt/$dir"
  done
  rmdir "$mnt"
}
trap cleanup EXIT
mount -o loop "$raw" "$mnt"
mount -t proc proc "$mnt/proc"
mount -t sysfs sysfs "$mnt/sys"
mount --bind /dev "$mnt/dev"
mount --bind /dev/pts "$mnt/dev/pts"
mkdir -p "$mnt/tmp/debs"
cp "$debs"/*.deb "$mnt/tmp/debs/"
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 0755 "$mnt/usr/sbin/policy-rc.d"
if ! chroot "$mnt" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'dpkg -i /tmp/debs/*.deb' >"$mnt/var/log/docker-debs.log" 2>&1; then
  tail -n 40 "$mnt/var/log/docker-debs.log" >&2
  exit 1
fi
rm -rf "$mnt/usr/sbin/policy-rc.d" "$mnt/tmp/debs" "$mnt"/usr/share/doc/* "$mnt"/usr/share/man/*
