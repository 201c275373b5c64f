"""`make compose-test`: docker-compose.yml, as operators run it, serves a volume end to end.

Inside the storage-node VM (real LVM and LIO; Docker there, none on this host) the stack
comes up with make-vg creating the loop-backed VG; then a volume is created, attached
through the attachments API with the VM's own initiator, written, detached, attached
again and read back, and deleted. Boots a VM and takes minutes, so it runs only when
CINDERBLOCK_COMPOSE_TEST=1 (as `make compose-test` sets it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.compose.stack import running_stack
from tests.e2e.controller import Api, wait_for
from tests.e2e.node import MOUNT, Node

pytestmark = pytest.mark.skipif(os.environ.get("CINDERBLOCK_COMPOSE_TEST") != "1",
                                reason="boots the Docker storage-node VM: make compose-test")
INSTANCE = "5d0f3a52-1c7e-4f0b-9a8e-2b6c1e7d4f10"


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Api, Node, dict[str, float]]]:
    timings: dict[str, float] = {}
    started = time.monotonic()
    try:
        with running_stack(timings) as (vm, url):
            node = Node(vm)
            node.sh(f"mkdir -p {MOUNT}")
            yield Api(url), node, timings
    finally:
        timings["total"] = time.monotonic() - started
        print("compose-test timings (s): " + ", ".join(
            f"{name} {seconds:.0f}" for name, seconds in timings.items()))


def _up(api: Api) -> set[str]:
    """The binaries os-services shows up; none while the API is still starting."""
    try:
        return {binary for (binary, _), state in api.services().items() if state == "up"}
    except (httpx.TransportError, AssertionError):
        return set()


def _attach(api: Api, node: Node, volume_id: str) -> tuple[dict[str, Any], str]:
    connector = {"initiator": node.initiator, "ip": "127.0.0.1", "host": "storage-node",
                 "platform": "x86_64", "os_type": "linux2", "multipath": False}
    attachment = api.call("POST", "/attachments", 200, json={"attachment": {
        "volume_uuid": volume_id, "instance_uuid": INSTANCE, "connector": connector,
        "mode": "rw"}})["attachment"]
    info = attachment["connection_info"]
    assert node.login(info), info
    api.call("POST", f"/attachments/{attachment['id']}/action", 204,
             json={"os-complete": None})
    assert api.volume(volume_id)["status"] == "in-use"
    return attachment, node.disk(info["target_iqn"])


def _detach(api: Api, node: Node, attachment: dict[str, Any]) -> None:
    node.logout(attachment["connection_info"])
    api.call("DELETE", f"/attachments/{attachment['id']}", 200)


def test_the_compose_stack_serves_a_volume_end_to_end(
        stack: tuple[Api, Node, dict[str, float]]) -> None:
    api, node, timings = stack
    mark = time.monotonic()
    assert "cinder-volumes" in node.sh("vgs --noheadings -o vg_name,pv_name")
    wait_for("the scheduler and the volume service up", lambda: _up(api) >= {
        "cinder-scheduler", "cinder-volume"}, timeout=600, interval=3)
    timings["services up"] = time.monotonic() - mark

    mark = time.monotonic()
    volume_id = api.call("POST", "/volumes", 202,
                         json={"volume": {"size": 1, "name": "compose"}})["volume"]["id"]
    api.wait_status(volume_id, "available", timeout=300)
    assert node.leftovers(volume_id)["lv"]

    attachment, disk = _attach(api, node, volume_id)
    sums = node.format_and_fill(disk)
    _detach(api, node, attachment)
    assert api.volume(volume_id)["status"] == "available"
    assert node.leftovers(volume_id) == {"lv": True, "target": False, "acl": False}

    attachment, disk = _attach(api, node, volume_id)
    assert node.read_back(disk) == sums
    _detach(api, node, attachment)

    api.call("DELETE", f"/volumes/{volume_id}", 202)
    wait_for("the volume gone", lambda: api.http.get(f"/volumes/{volume_id}")
             .status_code == 404 or None, timeout=600)
    assert node.leftovers(volume_id) == {"lv": False, "target": False, "acl": False}
    timings["volume scenario"] = time.monotonic() - mark
