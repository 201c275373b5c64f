"""Smoke test of the storage-node VM: real LVM, a real LIO export and real iSCSI logins with CHAP.

Everything the volume agent will do goes through these kernel paths, so before any agent code
relies on them this proves them end to end: an LV exported by rtslib-fb the way Cinder's LIO
helper does it (iblock object, TPG with authentication and no generated ACLs, one CHAP ACL), used
by the guest's open-iscsi initiator with a filesystem on it, and by host initiators (libiscsi
and qemu's iscsi driver) through the forwarded port, with a wrong password refused.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.storage_vm.vm import StorageVM

pytestmark = pytest.mark.vm

VG = "cinder-volumes"
LV_SIZE = 64 << 20
GUEST_PORTAL = "127.0.0.1:3260"

# Runs in the guest as `python3 - OP SPEC_JSON` (the script comes on stdin, so nothing is run
# from the 9p share while it might be edited on the host).
LIO_SCRIPT = r"""
import json
import sys

from rtslib_fb import (LUN, TPG, BlockStorageObject, FabricModule, MappedLUN, NetworkPortal,
                       NodeACL, RTSRoot, Target)

op, spec = sys.argv[1], json.loads(sys.argv[2])
if op == "create":
    so = BlockStorageObject(spec["name"], dev=spec["dev"])
    tpg = TPG(Target(FabricModule("iscsi"), wwn=spec["iqn"]), 1)
    tpg.set_attribute("authentication", "1")
    tpg.set_attribute("generate_node_acls", "0")
    NetworkPortal(tpg, "0.0.0.0", 3260)
    lun = LUN(tpg, 0, so)
    acl = NodeACL(tpg, spec["initiator"])
    acl.chap_userid = spec["user"]
    acl.chap_password = spec["password"]
    MappedLUN(acl, 0, lun)
    tpg.enable = True
elif op == "delete":
    root = RTSRoot()
    for target in list(root.targets):
        if target.wwn == spec["iqn"]:
            target.delete()
    for so in list(root.storage_objects):
        if so.name == spec["name"]:
            so.delete()
root = RTSRoot()
print(json.dumps({
    "targets": {
        t.wwn: [{"auth": tpg.get_attribute("authentication"),
                 "generate_node_acls": tpg.get_attribute("generate_node_acls"),
                 "enabled": tpg.enable,
                 "acls": {a.node_wwn: a.chap_userid for a in tpg.node_acls},
                 "luns": {lun.lun: lun.storage_object.name for lun in tpg.luns}}
                for tpg in t.tpgs]
        for t in root.targets
    },
    "storage_objects": sorted(so.name for so in root.storage_objects),
}))
"""


@dataclass(frozen=True)
class Export:
    name: str
    iqn: str
    initiator: str
    user: str
    password: str

    @property
    def dev(self) -> str:
        return f"/dev/{VG}/{self.name}"

    def spec(self) -> str:
        return shlex.quote(json.dumps({
            "name": self.name, "dev": self.dev, "iqn": self.iqn, "initiator": self.initiator,
            "user": self.user, "password": self.password,
        }))


def lio(vm: StorageVM, op: str, export: Export) -> dict:
    return json.loads(vm.run(f"python3 - {op} {export.spec()}", input=LIO_SCRIPT,
                             check=True).stdout)


def create_export(vm: StorageVM) -> Export:
    suffix = secrets.token_hex(4)
    initiator = vm.run("cut -d= -f2 /etc/iscsi/initiatorname.iscsi", check=True).stdout.strip()
    export = Export(
        name=f"smoke-{suffix}",
        iqn=f"iqn.2010-10.org.openstack:smoke-{suffix}",
        initiator=initiator,
        user=f"user{suffix}",
        password=secrets.token_hex(8),
    )
    vm.run(f"lvcreate -q -y -L {LV_SIZE}b -n {export.name} {VG}", check=True)
    lio(vm, "create", export)
    return export


def delete_export(vm: StorageVM, export: Export) -> dict:
    node = f"iscsiadm -m node -T {export.iqn} -p {GUEST_PORTAL}"
    vm.run(f"{node} --logout; {node} -o delete", timeout=60)
    state = lio(vm, "delete", export)
    vm.run(f"lvremove -q -y {VG}/{export.name}")
    return state


@pytest.fixture(scope="module")
def export(storage_vm: StorageVM) -> Iterator[Export]:
    exp = create_export(storage_vm)
    try:
        yield exp
    finally:
        delete_export(storage_vm, exp)


def host(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def test_guest_has_lvm_lio_and_iscsi_ready(storage_vm: StorageVM) -> None:
    vm = storage_vm
    modules = ["dm_mod", "dm_snapshot", "dm_thin_pool", "target_core_mod", "target_core_iblock",
               "iscsi_target_mod", "iscsi_tcp", "loop", "sd_mod"]
    missing = vm.run(f"for m in {' '.join(modules)}; do [ -d /sys/module/$m ] || echo $m; done",
                     check=True).stdout.split()
    assert missing == []
    vm.run("mountpoint -q /sys/kernel/config && [ -d /sys/kernel/config/target/core ]",
           check=True)
    settings = vm.run("lvmconfig --type full activation/udev_sync activation/udev_rules "
                      "activation/monitoring", check=True).stdout.split()
    assert settings == ["udev_sync=0", "udev_rules=0", "monitoring=0"]
    size = vm.run(f"vgs --noheadings --units b --nosuffix -o vg_size {VG}", check=True).stdout
    assert 0.9 * vm.vg_size < int(size) <= vm.vg_size
    backing = f"/var/lib/cinder/{VG}.img"  # other tests in this VM may add loop devices
    assert vm.run(f"losetup -n -O DIO,BACK-FILE -j {backing}", check=True).stdout.split() == [
        "1", backing]
    vm.run("pgrep -x iscsid", check=True)
    assert vm.run("ls /mnt/src/tests/storage_vm/vm.py", check=True).stdout.strip()
    assert vm.run("touch /mnt/src/should-not-exist").rc != 0, "the source share must be read-only"


def test_guest_reaches_only_the_forwarded_host_ports(storage_vm: StorageVM) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 5672)) != 0:
            pytest.skip("no RabbitMQ on the host's 127.0.0.1:5672")
    amqp = storage_vm.run(
        f"exec 3<>/dev/tcp/{storage_vm.host_address_from_guest}/5672 && "
        r"printf 'AMQP\0\0\11\1' >&3 && head -c 1 <&3 | od -An -tx1", timeout=30, check=True
    )
    assert amqp.stdout.split() == ["01"], "RabbitMQ should answer with a method frame"
    # restrict=on: the gateway would otherwise lead to the host's loopback.
    assert storage_vm.run("exec 3<>/dev/tcp/10.0.2.2/5672", timeout=30).rc != 0


def test_export_has_chap_and_one_acl(storage_vm: StorageVM, export: Export) -> None:
    state = lio(storage_vm, "show", export)
    assert state["targets"][export.iqn] == [{
        "auth": "1", "generate_node_acls": "0", "enabled": True,
        "acls": {export.initiator: export.user}, "luns": {"0": export.name},
    }]
    assert export.name in state["storage_objects"]


def test_guest_initiator_uses_volume_with_chap(storage_vm: StorageVM, export: Export) -> None:
    vm = storage_vm
    node = f"iscsiadm -m node -T {export.iqn} -p {GUEST_PORTAL}"
    # Bound to the default iface: other tests sharing this VM may have added ifaces with
    # other initiator names, and discovery would otherwise make a node record for each.
    discovered = vm.run(f"iscsiadm -m discovery -t sendtargets -p {GUEST_PORTAL} -I default",
                        check=True)
    assert export.iqn in discovered.stdout
    vm.run(f"{node} -o update -n node.session.auth.authmethod -v CHAP && "
           f"{node} -o update -n node.session.auth.username -v {export.user} && "
           f"{node} -o update -n node.session.auth.password -v wrong{export.password}",
           check=True)
    refused = vm.run(f"{node} --login", timeout=60)
    assert refused.rc != 0, "a wrong CHAP password must be refused"
    assert "auth" in (refused.stdout + refused.stderr).lower()

    vm.run(f"{node} -o update -n node.session.auth.password -v {export.password}", check=True)
    vm.run(f"{node} --login", timeout=60, check=True)
    try:
        disk = vm.run(
            "for _ in $(seq 100); do d=$(iscsiadm -m session -P3 | awk -v t="
            f"{export.iqn} '$1==\"Target:\"{{m=($2==t)}} m&&/Attached scsi disk/{{print $4;exit}}')"
            "; [ -n \"$d\" ] && [ -b /dev/$d ] && { echo /dev/$d; exit 0; }; sleep 0.1; done;"
            " exit 1", check=True).stdout.strip()
        assert int(vm.run(f"blockdev --getsize64 {disk}", check=True).stdout) == LV_SIZE
        vm.run(f"mkfs.ext4 -q -F {disk} && mkdir -p /mnt/smoke && mount {disk} /mnt/smoke",
               check=True)
        written = vm.run(
            "dd if=/dev/urandom of=/mnt/smoke/data bs=1M count=8 status=none && "
            "sha256sum </mnt/smoke/data && sync && umount /mnt/smoke", check=True).stdout
        # Drop the page cache so the read back really comes over iSCSI from the LV.
        read_back = vm.run(
            f"echo 3 >/proc/sys/vm/drop_caches && mount {disk} /mnt/smoke && "
            "sha256sum </mnt/smoke/data; rc=$?; umount /mnt/smoke; exit $rc", check=True).stdout
        assert read_back == written
    finally:
        vm.run(f"umount /mnt/smoke 2>/dev/null; {node} --logout", timeout=60)
    assert export.iqn not in vm.run("iscsiadm -m session").stdout


def test_host_initiators_use_forwarded_portal_with_chap(
    storage_vm: StorageVM, export: Export
) -> None:
    # Log in to the forwarded portal directly: discovery through the forward would answer with
    # the guest's own address (10.0.2.15), which the host cannot reach.
    port = storage_vm.iscsi_host_port
    url = f"iscsi://{export.user}%{export.password}@127.0.0.1:{port}/{export.iqn}/0"
    inquiry = host("iscsi-inq", "-i", export.initiator, url)
    assert inquiry.returncode == 0, inquiry.stderr
    assert "LIO-ORG" in inquiry.stdout
    capacity = host("iscsi-readcapacity16", "-i", export.initiator, url)
    assert capacity.returncode == 0, capacity.stderr
    assert re.search(rf"Total size:\s*{LV_SIZE}\b", capacity.stdout), capacity.stdout

    image_opts = (
        f"driver=iscsi,transport=tcp,portal=127.0.0.1:{port},target={export.iqn},lun=0,"
        f"user={export.user},password-secret=chap,initiator-name={export.initiator}"
    )
    last_mib = LV_SIZE - (1 << 20)
    qemu_io = host(
        "qemu-io", "--object", f"secret,id=chap,data={export.password}", "--image-opts",
        image_opts, "-c", f"write -P 0xab {last_mib} 1M", "-c", f"read -P 0xab {last_mib} 1M",
    )
    assert qemu_io.returncode == 0, qemu_io.stdout + qemu_io.stderr
    assert "Pattern verification failed" not in qemu_io.stdout
    assert "wrote 1048576/1048576 bytes" in qemu_io.stdout
    assert "read 1048576/1048576 bytes" in qemu_io.stdout
    # The host's write really landed on the LV.
    storage_vm.run(
        f"cmp <(dd if={export.dev} bs=1M skip={last_mib >> 20} count=1 status=none) "
        "<(head -c 1048576 /dev/zero | tr '\\0' '\\253')", check=True)


def test_host_login_with_wrong_password_is_refused(storage_vm: StorageVM, export: Export) -> None:
    url = (f"iscsi://{export.user}%wrong{export.password}@127.0.0.1:"
           f"{storage_vm.iscsi_host_port}/{export.iqn}/0")
    refused = host("iscsi-inq", "-i", export.initiator, url)
    assert refused.returncode != 0
    assert "LIO-ORG" not in refused.stdout


def test_teardown_leaves_no_lv_target_or_storage_object(storage_vm: StorageVM) -> None:
    exp = create_export(storage_vm)
    state = delete_export(storage_vm, exp)
    assert exp.iqn not in state["targets"]
    assert exp.name not in state["storage_objects"]
    lvs = storage_vm.run(f"lvs --noheadings -o lv_name {VG}", check=True).stdout.split()
    assert exp.name not in lvs
    assert not storage_vm.run(f"ls /sys/kernel/config/target/core/iblock_*/ | grep -x {exp.name}"
                              ).stdout
