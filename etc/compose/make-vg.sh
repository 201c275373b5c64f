#!/bin/bash
# One-shot, as devstack does it: make sure the VG cinder-volumes exists, on a sparse loop
# file when the host has no disk for it. Re-attaches the file after a reboot; never
# touches a VG that is already there (a real disk's, on a production host).
#   CINDERBLOCK_VG (cinder-volumes), CINDERBLOCK_VG_FILE (/var/lib/cinderblock/$VG.img),
#   CINDERBLOCK_VG_SIZE (10G)
set -euo pipefail
vg=${CINDERBLOCK_VG:-cinder-volumes}
file=${CINDERBLOCK_VG_FILE:-/var/lib/cinderblock/$vg.img}
size=${CINDERBLOCK_VG_SIZE:-10G}

if vgs "$vg" >/dev/null 2>&1; then
  echo "VG $vg present"
  exit 0
fi
mkdir -p "$(dirname "$file")"
if [[ -e $file ]]; then
  loop=$(losetup -j "$file" | cut -d: -f1 | head -n1)
  [[ -n $loop ]] || loop=$(losetup --direct-io=on -f --show "$file")
  pvscan --cache "$loop" >/dev/null 2>&1 || true
  vgchange -ay "$vg"
  echo "VG $vg re-activated on $loop"
else
  truncate -s "$size" "$file"
  loop=$(losetup --direct-io=on -f --show "$file")
  pvcreate -q "$loop"
  vgcreate -q "$vg" "$loop"
  echo "VG $vg created on $loop ($size sparse file $file)"
fi
