#!/usr/bin/env bash
# Boots the storage-node VM with a root shell on this terminal, for poking at LVM, LIO and
# open-iscsi by hand (`make storage-vm-shell`). Same image, forwards and 9p source share as the
# tests (the QEMU command line comes from vm.py, so the two never drift apart); the overlay is
# thrown away when the shell exits. Arguments go to vm.py, e.g. --vg-size 20G --forward 8776.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash tests/storage_vm/build.sh >/dev/null
exec python3 -m tests.storage_vm.vm "$@"
