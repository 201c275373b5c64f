#!/usr/bin/env bash
# Installs the host packages the storage-node VM harness needs, so a fresh machine (CI or a
# developer's) gets them from the project itself rather than by hand. Idempotent and cheap when
# everything is present: `apt-get update` runs only if a package is actually missing.
#   qemu-system-x86, qemu-utils  boot the image (TCG), make qcow2 images and overlays
#   qemu-block-extra             qemu's iscsi:// block driver, for host-side qemu-io through LIO
#   libiscsi-bin                 iscsi-inq / iscsi-readcapacity16, a host initiator that needs no kernel
#   debootstrap                  builds the guest root filesystem from nothing
#   socat                        QEMU runs it for each guest->host forward (guestfwd ... cmd:socat)
#   e2fsprogs                    mke2fs -d turns the rootfs tree into an ext4 image without mounting
set -euo pipefail

PACKAGES=(qemu-system-x86 qemu-utils qemu-block-extra libiscsi-bin debootstrap socat e2fsprogs)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "host-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Third-party sources configured on some machines are unreachable here; Debian's own lists
# are what matters, so a partial update is not fatal as long as the install then succeeds.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
apt-get update -qq >"$log" 2>&1 || echo "host-deps: apt-get update reported errors; trying the install anyway" >&2
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
