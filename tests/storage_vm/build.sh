#!/usr/bin/env bash
# Builds the storage-node VM image (Debian bookworm minbase + Debian's kernel, LVM2, LIO via
# rtslib-fb, open-iscsi, the QEMU guest agent) from nothing, and caches it.
#
# Why this shape:
# - The host kernel has no device-mapper or LIO, so the volume agent's tests need their own kernel.
# - The image is keyed on a hash of its recipe (this script, packages.txt, guest/*) and lives under
#   $CINDERBLOCK_CACHE/storage-vm/<hash>/, outside the checkout: a fresh clone, a second
#   `make test` or another engineer's worktree reuse it; changing the recipe rebuilds it.
# - The build happens in a temporary folder renamed into place at the end, under a lock: an
#   interrupted build never leaves a half image that looks valid, and two builds never race.
# - Nothing is mounted on the host: `mke2fs -d` turns the tree into ext4, `qemu-img` into qcow2.
# - The project's source reaches the guest over 9p at boot, so code changes never rebuild this.
#
# Prints the image folder (base.qcow2, vmlinuz, initrd.img, manifest.txt) on stdout, and its
# progress on stderr.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CINDERBLOCK_CACHE:-/var/cache/cinderblock}
IMAGES=$CACHE/storage-vm
DEBS=$CACHE/debootstrap-debs
RECIPE=(build.sh packages.txt guest/init guest/lvmlocal.conf)
# Virtual size of the root disk; qcow2 keeps it sparse. The VG's loop file lives on it, and the
# harness enlarges a VM's overlay (the guest grows the filesystem) when a bigger VG is asked for.
ROOT_SIZE=16G
KEEP_IMAGES=3

log() { echo "storage-vm build: $*" >&2; }
seconds_since() { echo $((SECONDS - $1)); }

bash "$HERE/host-deps.sh"

hash=$(cd "$HERE" && for f in "${RECIPE[@]}"; do printf '%s\0' "$f"; cat "$f"; done | sha256sum | cut -c1-16)
image=$IMAGES/$hash
if [[ -d $image ]]; then
  echo "$image"
  exit 0
fi

mkdir -p "$IMAGES" "$DEBS"
exec 9>"$IMAGES/.lock"
if ! flock -n 9; then
  log "another build holds $IMAGES/.lock; waiting"
  flock 9
fi
if [[ -d $image ]]; then
  echo "$image"
  exit 0
fi

# Holding the lock, every .build-* folder is a leftover of an interrupted build.
rm -rf "$IMAGES"/.build-*
work=$(mktemp -d "$IMAGES/.build-$hash.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
out=$work/image
mkdir -p "$out"
started=$SECONDS

mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/ && /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}
packages=$(grep -v -e '^\s*#' -e '^\s*$' "$HERE/packages.txt" | paste -sd, -)

log "debootstrap bookworm (minbase + $packages) from $mirror"
t=$SECONDS
if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$DEBS" \
    bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 40 "$work/debootstrap.log" >&2
  log "debootstrap failed (full log above)"
  exit 1
fi
log "debootstrap: $(seconds_since $t) s"

t=$SECONDS
install -m 0755 "$HERE/guest/init" "$root/sbin/cinderblock-init"
install -m 0644 "$HERE/guest/lvmlocal.conf" "$root/etc/lvm/lvmlocal.conf"
echo storage-node >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tstorage-node\n' >"$root/etc/hosts"
# A stable initiator name, so tests and ACLs can name the guest's own initiator.
echo "InitiatorName=iqn.2004-10.org.cinderblock:storage-node" >"$root/etc/iscsi/initiatorname.iscsi"
# LIO's db_root (persistent reservations, ALUA state): Debian's rtslib-fb points the kernel at
# /etc/rtslib-fb-target and fails outright if it is missing; /etc/target is the kernel default.
mkdir -p "$root/etc/rtslib-fb-target" "$root/etc/target"

# A slim initramfs that only finds an ext4 root on virtio-blk: Debian's MODULES=most one, and
# the hooks that add udev, LVM, multipath-style iSCSI boot and resume support to it, cost
# seconds of decompression, probing and udev settling under TCG at every boot. Their hooks and
# boot scripts go (the kernel in the image is never updated, so nothing regenerates it later).
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
sed -i -e 's/^MODULES=.*/MODULES=list/' -e 's/^COMPRESS=.*/COMPRESS=gzip/' \
  "$root/etc/initramfs-tools/initramfs.conf"
echo RESUME=none >"$root/etc/initramfs-tools/conf.d/resume"
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic >"$root/etc/initramfs-tools/modules"
initramfs_tools=$root/usr/share/initramfs-tools
rm -f "$initramfs_tools"/hooks/{udev,lvm2,dmsetup,thin-provisioning-tools,iscsi,resume,thermal,keymap} \
  "$initramfs_tools"/scripts/{init-top/udev,init-bottom/udev,local-top/iscsi,local-bottom/iscsi} \
  "$initramfs_tools"/scripts/{init-top/keymap,local-premount/resume}
chroot "$root" update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 ||
  { cat "$work/initramfs.log" >&2; exit 1; }
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$work/packages.lst"
log "configured, initramfs $(du -h "$out/initrd.img" | cut -f1): $(seconds_since $t) s"

# Prune what a headless storage node never uses (docs, locales, apt state, kernel drivers for
# hardware QEMU does not emulate here); the kernel and initramfs are passed to QEMU directly.
t=$SECONDS
before=$(du -sm "$root" | cut -f1)
rm -rf "$root"/boot/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
mods=$root/lib/modules/$kver/kernel
rm -rf "$mods"/sound "$mods"/net/{wireless,mac80211,bluetooth} "$mods"/drivers/{gpu,media,infiniband} \
  "$mods"/drivers/{bluetooth,staging,hid,input,usb,iio,isdn,mtd,platform,hwmon,edac,watchdog,mfd} \
  "$mods"/drivers/{leds,w1,nfc} "$mods"/drivers/net/{wireless,ethernet,can,usb}
chroot "$root" depmod -a "$kver"
log "pruned ${before} MiB -> $(du -sm "$root" | cut -f1) MiB: $(seconds_since $t) s"

t=$SECONDS
mke2fs -q -t ext4 -L cinderblock-root -d "$root" -F "$work/root.raw" "$ROOT_SIZE" >&2
qemu-img convert -f raw -O qcow2 "$work/root.raw" "$out/base.qcow2"
rm -f "$work/root.raw"
log "qcow2 image $(du -h "$out/base.qcow2" | cut -f1): $(seconds_since $t) s"

{
  echo "recipe-hash $hash"
  echo "built $(date -u +%FT%TZ) in $(seconds_since $started) s"
  echo "kernel $kver"
  echo "mirror $mirror"
  cat "$work/packages.lst"
} >"$out/manifest.txt"
mv -T "$out" "$image"
log "image ready in $(seconds_since $started) s: $image"

# Keep a few recent images (other branches may still use theirs), drop the rest.
ls -1dt "$IMAGES"/*/ | tail -n +$((KEEP_IMAGES + 1)) | xargs -r rm -rf
echo "$image"
