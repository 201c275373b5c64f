"""The storage node of the walkthrough, in the VM: ``cinderblock-volume`` on the VG
``cinder-volumes`` with the LIO target, and the guest's own open-iscsi initiator
playing the compute host that uses the volume.
"""

from __future__ import annotations

import shlex
from typing import Any

from tests.storage_vm.vm import GuestProcess

WORK = "/var/tmp/e2e"
MOUNT = f"{WORK}/mnt"
# The image ships no bytecode and 9p is slow to stat: compile once, in the guest.
PYCACHE = "/var/tmp/e2e-pycache"
STRANGER = "iqn.2004-10.org.cinderblock:not-attached"


def node_conf(broker_url: str, portal_address: str) -> str:
    """Step 2 of the guide: the ``[lvm]`` backend on ``cinder-volumes`` with LIO."""
    return (
        "[DEFAULT]\nhost = node2\nenabled_backends = lvm\nreport_interval = 2\n"
        f"transport_url = {broker_url}\n"
        "[lvm]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\n"
        "volume_group = cinder-volumes\ntarget_protocol = iscsi\ntarget_helper = lioadm\n"
        f"target_ip_address = {portal_address}\nvolume_backend_name = lvm\n"
        # Deleting wipes the first MiB only: a full 1 GiB wipe under emulation is minutes.
        "volume_clear_size = 1\n")


class Node:
    def __init__(self, vm: Any) -> None:
        self.vm = vm
        self.agent: GuestProcess | None = None
        self.initiator = self.sh(
            "sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi").strip()

    def sh(self, script: str, timeout: float = 180, ok: bool = True) -> str:
        result = self.vm.run(f"set -eu\n{script}", timeout=timeout)
        if ok:
            assert result.rc == 0, f"rc={result.rc}\n{script}\n{result.stdout}\n{result.stderr}"
        return result.stdout if ok else str(result.rc)

    def start_agent(self, conf_text: str) -> None:
        self.sh(f"mkdir -p {MOUNT}")
        self.vm.write_file(f"{WORK}/cinder.conf", conf_text)
        # Started the way systemd, compose and `make up` start it; the guest has no
        # installed package, so the script runs the agent from the shared source tree.
        self.agent = self.vm.spawn(
            f"cd {self.vm.src} && PYTHONPYCACHEPREFIX={PYCACHE} "
            f"CINDERBLOCK_CONFIG_FILES={WORK}/cinder.conf exec etc/cinderblock-service volume",
            f"{WORK}/volume.log")

    def wipe(self) -> None:
        """Leave the shared VM as the next module expects it, whatever this one's tests
        left behind (an agent killed mid-export can leave a LUN without its storage
        object): no iSCSI session, no LIO target or saved configuration, no volume LV."""
        self.sh("iscsiadm -m node -u >/dev/null 2>&1 || true\n"
                "iscsiadm -m node -o delete >/dev/null 2>&1 || true\n"
                "python3 -c 'import rtslib_fb; rtslib_fb.RTSRoot().clear_existing(confirm=True)'\n"
                "rm -f /etc/rtslib-fb-target/saveconfig.json /etc/target/saveconfig.json\n"
                "for lv in $(lvm lvs --noheadings -o lv_name cinder-volumes | grep volume- "
                "|| true); do lvm lvremove -q -y cinder-volumes/$lv >/dev/null; done",
                timeout=300)

    def agent_log(self) -> str:
        return self.agent.output() if self.agent else ""

    def stop_agent(self) -> None:
        if self.agent is not None and self.agent.alive():
            self.agent.stop()

    # -- the initiator (what os-brick does on a compute host) -------------------------

    def _node(self, iqn: str, portal: str, iface: str, user: str, secret: str) -> str:
        q = shlex.quote
        base = f"iscsiadm -m node -T {q(iqn)} -p {q(portal)} -I {q(iface)}"
        # A refused login must fail in seconds, not after open-iscsi's two minutes of retries.
        return (f"{base} -o new >/dev/null\n"
                f"{base} -o update -n node.session.initial_login_retry_max -v 2\n"
                f"{base} -o update -n 'node.conn[0].timeo.login_timeout' -v 10\n"
                f"{base} -o update -n node.session.auth.authmethod -v CHAP\n"
                f"{base} -o update -n node.session.auth.username -v {q(user)}\n"
                f"{base} -o update -n node.session.auth.password -v {q(secret)}\n"
                f"{base} --login >/dev/null 2>&1")

    def login(self, info: dict[str, Any], *, password: str | None = None,
              initiator: str | None = None) -> bool:
        """Log in with the connection_info's portal, IQN and CHAP (optionally a wrong
        password, or as another initiator); whether the target let us in."""
        iface = "default"
        setup = ""
        if initiator is not None:
            iface = "stranger"
            setup = (f"iscsiadm -m iface -I {iface} -o new >/dev/null 2>&1 || true\n"
                     f"iscsiadm -m iface -I {iface} -o update -n iface.initiatorname "
                     f"-v {initiator}\n")
        login = self._node(info["target_iqn"], info["target_portal"], iface,
                           info["auth_username"], password or info["auth_password"])
        rc = self.sh(f"{setup}if {login}; then exit 0; else rc=$?; fi\n"
                     f"iscsiadm -m node -T {info['target_iqn']} -I {iface} -o delete "
                     ">/dev/null 2>&1 || true\n"
                     f"[ {iface} = default ] || iscsiadm -m iface -I {iface} -o delete "
                     ">/dev/null 2>&1 || true\nexit $rc", timeout=120, ok=False)
        return rc == "0"

    def disk(self, iqn: str) -> str:
        """The SCSI disk of the session to ``iqn`` (no udev in the guest: ask iscsiadm)."""
        return self.sh(
            "for i in $(seq 150); do\n"
            "  d=$(iscsiadm -m session -P3 2>/dev/null | awk -v t=" + shlex.quote(iqn) +
            " '$1==\"Target:\"{cur=$2} /Attached scsi disk/{if (cur==t) {print $4; exit}}')\n"
            "  if [ -n \"$d\" ] && [ -b /dev/$d ]; then echo /dev/$d; exit 0; fi\n"
            "  sleep 0.2\ndone\nexit 1").strip()

    def logout(self, info: dict[str, Any]) -> None:
        self.sh(f"iscsiadm -m node -T {info['target_iqn']} -p {info['target_portal']} "
                "--logout >/dev/null\n"
                f"iscsiadm -m node -T {info['target_iqn']} -o delete >/dev/null")

    def format_and_fill(self, disk: str) -> str:
        """Step 4: fdisk, mkfs.ext4, mount, write files, unmount; the files' checksums."""
        return self.sh(
            f"echo ',,L' | sfdisk -q {disk}\n"
            f"for i in $(seq 50); do [ -b {disk}1 ] && break; sleep 0.1; done\n"
            f"mkfs.ext4 -q -F {disk}1\nmount {disk}1 {MOUNT}\n"
            f"for f in a b c; do head -c 4M /dev/urandom > {MOUNT}/$f.bin; done\n"
            f"echo guide > {MOUNT}/notes.txt\n"
            f"(cd {MOUNT} && md5sum *.bin notes.txt) > {WORK}/sums\nsync\numount {MOUNT}\n"
            f"cat {WORK}/sums", timeout=300)

    def read_back(self, disk: str) -> str:
        """Mount the partition again and checksum the files; then unmount."""
        return self.sh(f"for i in $(seq 50); do [ -b {disk}1 ] && break; sleep 0.1; done\n"
                       f"mount {disk}1 {MOUNT}\n"
                       f"(cd {MOUNT} && md5sum *.bin notes.txt)\numount {MOUNT}", timeout=120)

    def leftovers(self, volume_id: str) -> dict[str, bool]:
        """Whether the LV, the target and any ACL of the volume still exist."""
        lv = f"volume-{volume_id}"
        out = self.sh(
            f"echo lv=$(lvm lvs --noheadings -o lv_name cinder-volumes | grep -c {lv} || true)\n"
            f"echo target=$(ls /sys/kernel/config/target/iscsi | grep -c {lv} || true)\n"
            f"echo acl=$(ls -d /sys/kernel/config/target/iscsi/*{lv}/tpgt_*/acls/* "
            "2>/dev/null | wc -l)")
        facts = dict(line.split("=", 1) for line in out.splitlines())
        return {key: value.strip() != "0" for key, value in facts.items()}
