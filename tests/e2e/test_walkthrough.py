"""The storage guide's walkthrough end to end: controller on the host, storage node in the VM.

``cinderblock-api`` and ``cinderblock-scheduler`` run on the host (SQLite, noauth, a
private RabbitMQ vhost); ``cinderblock-volume`` runs inside the storage-node VM with the
LVM backend on ``cinder-volumes`` and the LIO target. The guest's own open-iscsi
initiator is the compute host: it logs in with the connection_info the API returns,
partitions, formats, mounts and writes, and after a detach and a new attach finds its
files intact. Nova's two ways are walked: the attachments API and the legacy actions.
Each step's time is printed.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.controller import Api, Controller, wait_for
from tests.e2e.node import STRANGER, Node, node_conf

pytestmark = pytest.mark.vm

INSTANCE = "16e0f9fd-7dcd-4ea3-b07a-3d5e94c598be"


class Steps:
    """Times each step and prints it as it ends, also under ``pytest -q``."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.started = time.monotonic()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        with self.capsys.disabled():
            print(f"\n  [walkthrough {time.monotonic() - self.started:6.1f}s] "
                  f"{name}: {time.monotonic() - began:.2f}s", end="")


@pytest.fixture(scope="module")
def cluster(storage_vm: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Api, Node]]:
    controller = Controller(pathlib.Path(tmp_path_factory.mktemp("e2e"))).start()
    node = Node(storage_vm)
    try:
        node.start_agent(node_conf(controller.broker_url(storage_vm.host_address_from_guest),
                                   storage_vm.guest_address))
        yield controller.api(), node
    finally:
        # pytest shows this teardown output only when the test failed.
        print(controller.logs(), f"--- cinderblock-volume (guest)\n{node.agent_log()[-6000:]}")
        node.stop_agent()
        controller.stop()


def _connector(node: Node) -> dict[str, Any]:
    return {"initiator": node.initiator, "ip": node.vm.guest_address, "host": "node2",
            "platform": "x86_64", "os_type": "linux2", "multipath": False}


def test_services_volume_and_both_attach_flows(cluster: tuple[Api, Node],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    api, node = cluster
    step = Steps(capsys)
    with step("service list: scheduler and node2@lvm up"):
        wanted = {("cinder-scheduler", "controller"), ("cinder-volume", "node2@lvm")}
        wait_for("both services up", lambda: all(
            api.services().get(key) == "up" for key in wanted), timeout=180)
        # The guide creates a volume next; that needs the backend's capacity report too.
        wait_for("the lvm pool's capacity", lambda: any(
            pool["name"].startswith("node2@lvm#") for pool in api.call(
                "GET", "/scheduler-stats/get_pools", 200)["pools"]), timeout=60)

    with step("create a 1 GiB volume -> available"):
        volume = api.call("POST", "/volumes", 202,
                          json={"volume": {"size": 1, "name": "walkthrough"}})["volume"]
        volume_id = volume["id"]
        api.wait_status(volume_id, "available", timeout=180)
    assert node.leftovers(volume_id)["lv"]

    # -- Nova's way since Queens: the attachments API ----------------------------------
    with step("attach (POST /attachments with the guest's initiator)"):
        attachment = api.call("POST", "/attachments", 200, json={"attachment": {
            "volume_uuid": volume_id, "instance_uuid": INSTANCE,
            "connector": _connector(node), "mode": "rw"}})["attachment"]
        info = attachment["connection_info"]
    assert info["driver_volume_type"] == "iscsi" and info["target_lun"] == 0
    assert info["target_portal"] == f"{node.vm.guest_address}:3260"
    assert info["auth_method"] == "CHAP" and api.volume(volume_id)["status"] == "attaching"

    with step("refused: an initiator that is not attached"):
        assert not node.login(info, initiator=STRANGER)
    with step("refused: a wrong CHAP password"):
        assert not node.login(info, password="wrong-password-1")

    with step("iscsiadm login, os-complete"):
        assert node.login(info)
        disk = node.disk(info["target_iqn"])
        api.call("POST", f"/attachments/{attachment['id']}/action", 204,
                 json={"os-complete": None})
    assert api.volume(volume_id)["status"] == "in-use"
    api.call("DELETE", f"/volumes/{volume_id}", 400)

    with step("partition, mkfs.ext4, mount, write, unmount"):
        sums = node.format_and_fill(disk)
    with step("logout, detach (DELETE /attachments/{id})"):
        node.logout(info)
        api.call("DELETE", f"/attachments/{attachment['id']}", 200)
    assert api.volume(volume_id)["status"] == "available"
    assert node.leftovers(volume_id) == {"lv": True, "target": False, "acl": False}
    with step("refused: the detached initiator logs in again"):
        assert not node.login(info)

    with step("attach again, mount, files intact, detach"):
        attachment = api.call("POST", "/attachments", 200, json={"attachment": {
            "volume_uuid": volume_id, "instance_uuid": INSTANCE,
            "connector": _connector(node)}})["attachment"]
        info = attachment["connection_info"]
        assert node.login(info)
        api.call("POST", f"/attachments/{attachment['id']}/action", 204,
                 json={"os-complete": None})
        assert node.read_back(node.disk(info["target_iqn"])) == sums
        node.logout(info)
        api.call("DELETE", f"/attachments/{attachment['id']}", 200)

    # -- the legacy actions (Nova before Queens, and other clients) -------------------
    with step("legacy os-reserve, os-initialize_connection, login, os-attach"):
        api.action(volume_id, {"os-reserve": None})
        legacy = api.action(volume_id, {"os-initialize_connection": {
            "connector": _connector(node)}}, expect=200)["connection_info"]
        data = legacy["data"]
        assert node.login(data)
        disk = node.disk(data["target_iqn"])
        api.action(volume_id, {"os-attach": {"instance_uuid": INSTANCE,
                                             "mountpoint": "/dev/vdb", "mode": "rw"}})
    body = api.volume(volume_id)
    assert body["status"] == "in-use" and body["attachments"][0]["device"] == "/dev/vdb"
    with step("legacy: mount, files intact, unmount, logout"):
        assert node.read_back(disk) == sums
        node.logout(data)
    with step("legacy os-begin_detaching, os-terminate_connection, os-detach"):
        api.action(volume_id, {"os-begin_detaching": None})
        api.action(volume_id, {"os-terminate_connection": {"connector": _connector(node)}})
        api.action(volume_id, {"os-detach": {
            "attachment_id": body["attachments"][0]["attachment_id"]}})
    assert api.volume(volume_id)["status"] == "available"
    assert node.leftovers(volume_id) == {"lv": True, "target": False, "acl": False}
    with step("refused: the initiator logs in after the legacy detach"):
        assert not node.login(data)

    with step("delete the volume"):
        api.call("DELETE", f"/volumes/{volume_id}", 202)
        wait_for("the volume to be gone", lambda: api.http.get(
            f"/volumes/{volume_id}").status_code == 404, timeout=180)
    assert node.leftovers(volume_id) == {"lv": False, "target": False, "acl": False}
