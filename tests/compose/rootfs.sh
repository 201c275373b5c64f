#!/usr/bin/env bash
# Builds, on the host, the one root filesystem every container of `make compose-test` runs
# from, as a tar for `docker import` inside the storage-node VM (no registry, no network and
# no Docker engine on this host, so `docker build` of the Dockerfile cannot run).
#
# What is in it is what the Dockerfile's cinderblock stage installs (Debian's LVM2, thin
# tools, kmod, rtslib-fb, tini; a venv seeing the system site-packages with the project's
# dependencies from pyproject.toml; the cinderblock user; lvmlocal.conf without udev), plus
# Debian's mariadb-server and rabbitmq-server for the compose file's database and broker.
# The project's own code and start-up scripts are not in it: the test override mounts the
# checkout, so code changes never rebuild this.
#
#   rootfs.sh OUT.tar      (OUT.tar is written whole, by rename)
set -euo pipefail
out=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${CINDERBLOCK_CACHE:-/var/cache/cinderblock}
log() { echo "compose rootfs: $*" >&2; }

work=$(mktemp -d /var/tmp/cinderblock-compose-rootfs.XXXXXX)
root=$work/root
trap 'rm -rf "$work"' EXIT
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=python3,python3-venv,tini,ca-certificates,lvm2,thin-provisioning-tools,kmod
packages+=,python3-rtslib-fb,mariadb-server,rabbitmq-server,procps
started=$SECONDS
mkdir -p "$CACHE/debootstrap-debs"
log "debootstrap bookworm minbase + $packages"
if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$CACHE/debootstrap-debs" \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 40 "$work/debootstrap.log" >&2
  exit 1
fi

log "venv with the project's dependencies (wheels fetched by the host's pip, installed offline)"
mapfile -t deps < <(python3 -c 'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"], sep="\n")' "$REPO/pyproject.toml")
mkdir -p "$root/tmp/wheels"
if ! "$REPO/.venv/bin/python" -m pip download -q --cache-dir "$CACHE/pip" -d "$root/tmp/wheels" \
    "${deps[@]}" >"$work/pip.log" 2>&1; then
  tail -n 20 "$work/pip.log" >&2
  exit 1
fi
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_root python3 -m venv --system-site-packages /opt/cinderblock/venv
in_root /opt/cinderblock/venv/bin/pip install -q --no-index --find-links /tmp/wheels "${deps[@]}" >&2
rm -rf "$root/tmp/wheels"
in_root useradd --system --home-dir /var/lib/cinderblock --create-home cinderblock

install -m 0644 "$REPO/tests/storage_vm/guest/lvmlocal.conf" "$root/etc/lvm/lvmlocal.conf"
# The Dockerfile's device filter, taken from the Dockerfile itself so the two never drift.
filter=$(grep -o "sed -i 's#.*' *\\\\" "$REPO/Dockerfile" | sed -e "s/^sed -i '//" -e "s/' *\\\\$//")
sed -i "$filter" "$root/etc/lvm/lvmlocal.conf"
grep -q 'a|^/dev/loop' "$root/etc/lvm/lvmlocal.conf" || { log "device filter not applied"; exit 1; }

rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/*
tar -C "$root" --exclude=./usr/lib/modules -cf "$out.part" .
mv "$out.part" "$out"
log "$(du -h "$out" | cut -f1) in $((SECONDS - started)) s: $out"
