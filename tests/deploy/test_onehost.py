"""`make up` end to end: the whole system on this machine serves a volume backed by a real LV.

Runs etc/onehost/onehost.py as `make up` does, in a state directory of its own, on free
ports and a vhost of its own (CINDERBLOCK_CONF is the operator's override file, so this
also proves that overrides apply), then creates and deletes a volume over HTTP, checks
the LV with `lvs` in the storage-node VM, follows the create's request id through the
API's, the scheduler's and the agent's logs, and stops everything with `down`.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from tests.keystone.server import start as start_keystone
from tests.storage_vm.vm import free_port

pytestmark = pytest.mark.vm

ONEHOST = pathlib.Path(__file__).resolve().parents[2] / "etc" / "onehost" / "onehost.py"
T = TypeVar("T")


class OneHost:
    def __init__(self, state: pathlib.Path, api_port: int, override: str = "") -> None:
        """``override`` is more of the operator's file: options, then other sections."""
        self.state = state
        self.endpoint = f"http://127.0.0.1:{api_port}"
        override_file = state.parent / "override.conf"
        override_file.write_text(
            f"[DEFAULT]\nosapi_volume_listen_port = {api_port}\n{override}")
        self.env = {**os.environ, "CINDERBLOCK_STATE": str(state),
                    "CINDERBLOCK_CONF": str(override_file),
                    "CINDERBLOCK_ISCSI_PORT": str(free_port())}

    def run(self, *args: str, timeout: float = 420) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ONEHOST), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def guest(self, command: str) -> str:
        result = self.run("guest", command, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    @property
    def project(self) -> str:
        return (self.state / "project_id").read_text().strip()

    def log_tails(self, lines: int = 30) -> str:
        return "\n".join(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:])
                         for name, text in sorted(self.logs().items()))

    def logs(self) -> dict[str, str]:
        return {path.name: path.read_text(errors="replace")
                for path in (self.state / "log").glob("*.log")}


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(1)
    return value


@contextlib.contextmanager
def one_host(state: pathlib.Path, api_port: int, override: str = "") -> Iterator[OneHost]:
    system = OneHost(state, api_port, override)
    try:
        yield system
    finally:
        system.run("down", "--purge", timeout=180)


@pytest.fixture
def onehost(tmp_path: pathlib.Path) -> Iterator[OneHost]:
    with one_host(tmp_path / f"onehost-{os.getpid()}", free_port()) as system:
        yield system


def test_up_serves_a_volume_on_a_real_lv_and_down_stops_everything(onehost: OneHost) -> None:
    started = onehost.run("up")
    assert started.returncode == 0, started.stdout + started.stderr
    base = f"{onehost.endpoint}/v3/{onehost.project}"
    assert base in started.stdout
    assert "openstack volume create --size 1 demo" in started.stdout
    openrc = (onehost.state / "openrc").read_text()
    assert f"OS_TOKEN=admin:{onehost.project}" in openrc and f"OS_ENDPOINT={base}" in openrc
    cinderrc = (onehost.state / "cinderrc").read_text()
    assert "OS_AUTH_TYPE=noauth" in cinderrc and f"CINDER_ENDPOINT={base}" in cinderrc

    again = onehost.run("up", timeout=60)
    assert again.returncode == 0 and "already up" in again.stdout, again.stdout + again.stderr

    client = httpx.Client(base_url=base, timeout=30,
                          headers={"X-Auth-Token": f"admin:{onehost.project}"})
    created = client.post("/volumes", json={"volume": {"size": 1, "name": "demo"}})
    assert created.status_code == 202, created.text
    volume_id = created.json()["volume"]["id"]
    request_id = created.headers["x-openstack-request-id"]

    def status() -> Any:
        found = client.get(f"/volumes/{volume_id}").json()["volume"]["status"]
        return found if found in ("available", "error") else None

    if wait_for(status, 120, "volume settled") != "available":
        pytest.fail(f"{client.get(f'/volumes/{volume_id}').text}\n{onehost.log_tails()}")
    lvs = onehost.guest("lvs --noheadings -o lv_name,lv_size --units g cinder-volumes")
    assert f"volume-{volume_id}" in lvs and "1.00g" in lvs
    agent_metrics = onehost.guest(
        "python3 -c 'import urllib.request as u; "
        "print(u.urlopen(\"http://127.0.0.1:9102/metrics\").read().decode())'")
    assert 'cinderblock_volume_pool_volumes{backend="lvm",pool="lvm"} 1' in agent_metrics
    assert 'cinderblock_volume_pool_total_gb{backend="lvm",pool="lvm"} 10' in agent_metrics
    assert ('cinderblock_volume_operation_duration_seconds_count'
            '{backend="lvm",operation="create_volume"} 1') in agent_metrics

    def request_logged() -> dict[str, list[str]] | None:
        found = {name: [line for line in text.splitlines() if request_id in line]
                 for name, text in onehost.logs().items()}
        wanted = ("cinderblock-api.log", "cinderblock-scheduler.log",
                  "cinderblock-volume.log")
        return found if all(found.get(name) for name in wanted) else None

    wait_for(request_logged, 30, f"{request_id} in the API, scheduler and agent logs")

    assert client.delete(f"/volumes/{volume_id}").status_code == 202
    wait_for(lambda: client.get(f"/volumes/{volume_id}").status_code == 404, 120,
             "volume deleted")
    assert f"volume-{volume_id}" not in onehost.guest("lvs --noheadings -o lv_name")

    supervisor = json.loads((onehost.state / "run" / "storage-node.ready").read_text())
    stopped = onehost.run("down", timeout=180)
    assert stopped.returncode == 0, stopped.stderr
    assert onehost.run("status").returncode == 3
    assert not pathlib.Path(f"/proc/{supervisor['qemu_pid']}").exists()
    with pytest.raises(httpx.ConnectError):
        client.get("/volumes")
    assert (onehost.state / "cinderblock.sqlite").exists(), "down keeps the database"


@pytest.mark.keystone
def test_a_keystone_config_makes_up_serve_keystone_projects(tmp_path: pathlib.Path) -> None:
    api_port = free_port()
    (tmp_path / "keystone").mkdir()
    keystone = start_keystone(tmp_path / "keystone", api_port=api_port)
    try:
        with one_host(tmp_path / f"onehost-ks-{os.getpid()}", api_port,
                      "auth_strategy = keystone\n" + keystone.authtoken_section()) as onehost:
            started = onehost.run("up")
            assert started.returncode == 0, started.stdout + started.stderr
            assert "with your Keystone openrc" in started.stdout
            assert not (onehost.state / "openrc").exists()
            token, body = keystone.token("demo")
            base = f"{onehost.endpoint}/v3/{body['project']['id']}"
            assert httpx.get(f"{base}/volumes").status_code == 401
            client = httpx.Client(base_url=base, timeout=30, headers={"X-Auth-Token": token})
            created = client.post("/volumes", json={"volume": {"size": 1}})
            assert created.status_code == 202, created.text
            volume_id = created.json()["volume"]["id"]
            wait_for(lambda: client.get(f"/volumes/{volume_id}").json()["volume"]["status"]
                     == "available", 120, "volume available")
    finally:
        keystone.stop()
