"""A retype to a type bound to another backend, end to end: the volume's data moves.

The controller runs on the host as in the walkthrough; the agent in the VM serves two
backends: ``lvm`` on ``cinder-volumes`` and ``fast`` on a second VG made here on a
loop file (removed after). A pattern written into the volume's LV must be read back
from the new LV on the other VG, the volume keeps its id and now says the new type
and host, and no LV, target or iSCSI session of the old copy or of the migration's
export is left.
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.controller import Api, Controller, wait_for
from tests.e2e.node import Node, node_conf

pytestmark = pytest.mark.vm

SECOND_VG = "cinder-migrate"
LOOP_FILE = f"/var/tmp/{SECOND_VG}.img"
# 4 MiB at the start and at the end of the 1 GiB volume: a copy must move both.
OFFSETS_MIB = (0, 1020)


def _two_backends(conf: str, portal_address: str) -> str:
    return (conf.replace("enabled_backends = lvm", "enabled_backends = lvm,fast")
            + f"[fast]\nvolume_driver = lvm\nvolume_group = {SECOND_VG}\n"
              f"target_helper = lioadm\ntarget_ip_address = {portal_address}\n"
              "volume_backend_name = fast\nvolume_clear_size = 1\n")


@pytest.fixture(scope="module")
def cluster(storage_vm: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Api, Node]]:
    node = Node(storage_vm)
    node.sh(f"truncate -s 2G {LOOP_FILE}\n"
            f"lvm vgcreate -y {SECOND_VG} $(losetup -f --show {LOOP_FILE}) >/dev/null")
    controller = Controller(pathlib.Path(tmp_path_factory.mktemp("migration"))).start()
    try:
        conf = node_conf(controller.broker_url(storage_vm.host_address_from_guest),
                         storage_vm.guest_address)
        node.start_agent(_two_backends(conf, storage_vm.guest_address))
        yield controller.api(), node
    finally:
        print(controller.logs(), f"--- cinderblock-volume (guest)\n{node.agent_log()[-6000:]}")
        node.stop_agent()
        controller.stop()
        node.sh(f"lvm vgremove -y -f {SECOND_VG} >/dev/null 2>&1 || true\n"
                f"losetup -j {LOOP_FILE} -O NAME --noheadings | xargs -r losetup -d\n"
                f"rm -f {LOOP_FILE}", ok=False)


def _md5s(node: Node, device: str) -> list[str]:
    return node.sh("\n".join(
        f"dd if={device} bs=1M skip={offset} count=4 iflag=direct status=none | md5sum"
        for offset in OFFSETS_MIB)).split()[::2]


def _type(api: Api, name: str, backend: str) -> None:
    api.call("POST", "/types", 200, json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": backend}}})


def test_retype_moves_the_data_to_the_other_backend(cluster: tuple[Api, Node]) -> None:
    api, node = cluster
    wait_for("both backends report their pools", lambda: {"node2@lvm", "node2@fast"} <= {
        pool["name"].split("#")[0] for pool in api.call(
            "GET", "/scheduler-stats/get_pools", 200)["pools"]}, timeout=180)
    _type(api, "slow", "lvm")
    _type(api, "fast", "fast")
    volume_id = api.call("POST", "/volumes", 202, json={"volume": {
        "size": 1, "volume_type": "slow", "name": f"mig-{uuid.uuid4().hex[:6]}"}})[
        "volume"]["id"]
    before = api.wait_status(volume_id, "available")
    assert before["os-vol-host-attr:host"].startswith("node2@lvm#")
    old_lv = f"/dev/cinder-volumes/volume-{volume_id}"
    node.sh("dd if=/dev/urandom of=/var/tmp/mig-pattern bs=1M count=4 status=none\n" + "\n".join(
        f"dd if=/var/tmp/mig-pattern of={old_lv} bs=1M seek={offset} oflag=direct "
        "conv=fsync status=none" for offset in OFFSETS_MIB))
    written = _md5s(node, old_lv)

    api.action(volume_id, {"os-retype": {"new_type": "fast",
                                         "migration_policy": "on-demand"}})

    def settled() -> dict[str, Any] | None:
        body = api.volume(volume_id)
        return body if body["os-vol-mig-status-attr:migstat"] in ("success", "error") \
            else None
    after = wait_for("the migration to end", settled, timeout=180)
    assert after["os-vol-mig-status-attr:migstat"] == "success", after
    assert (after["status"], after["volume_type"]) == ("available", "fast")
    assert after["os-vol-host-attr:host"].startswith("node2@fast#")
    assert _md5s(node, f"/dev/{SECOND_VG}/volume-{volume_id}") == written
    wait_for("the old copy to be deleted", lambda: node.sh(
        f"lvm lvs --noheadings -o lv_name cinder-volumes | grep -c {volume_id} || true"
    ).strip() == "0", timeout=60)
    assert node.leftovers(volume_id) == {"lv": False, "target": False, "acl": False}
    assert volume_id not in node.sh("iscsiadm -m session 2>/dev/null || true")

    api.call("DELETE", f"/volumes/{volume_id}", 202)
    wait_for("the volume to be gone", lambda: api.http.get(
        f"/volumes/{volume_id}").status_code == 404, timeout=60)
    assert node.sh(f"lvm lvs --noheadings -o lv_name {SECOND_VG}").strip() == ""
