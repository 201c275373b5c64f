"""cinderblock-scheduler and cinderblock-volume as real processes on the real broker:
the API's create reaching `available`, kill -9 of an agent mid-create, a RabbitMQ
restart during a stream of creates, and services going down when an agent stops.

These are about processes, not SQL dialects, so they run on one database server
(the first of CINDERBLOCK_TEST_DBS, MariaDB by default). Backends are recorded fakes.
"""

from __future__ import annotations

import pathlib
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from common.config import load
from common.messaging import Transport
from tests.messaging.cluster import Deployment, wait_for

PROJECT = "5a3f9c1e7b2d4a6c8e0f1a2b3c4d5e6f"
HEADERS = {"X-Auth-Token": f"admin:{PROJECT}"}


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str, one_db_url: str,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    made = Deployment(tmp_path, broker_url, one_db_url, session_factory, transport)
    yield made
    for daemon in made.daemons:
        daemon.stop()


def services(client: TestClient) -> dict[tuple[str, str], str]:
    body = client.get(f"/v3/{PROJECT}/os-services", headers=HEADERS).json()
    return {(s["binary"], s["host"]): s["state"] for s in body["services"]}


def test_api_create_reaches_available_and_services_show_up_then_down(
        deployment: Deployment) -> None:
    _, agent = deployment.start_all()
    node = deployment.node
    with TestClient(create_app(load([deployment.conf_path]))) as client:
        created = client.post(f"/v3/{PROJECT}/volumes", headers=HEADERS,
                              json={"volume": {"size": 2, "name": "v"}})
        assert created.status_code == 202, created.text
        volume_id = created.json()["volume"]["id"]

        def status() -> str | None:
            body = client.get(f"/v3/{PROJECT}/volumes/{volume_id}", headers=HEADERS).json()
            return body["volume"]["status"] != "creating" and body["volume"]
        volume = wait_for(status, timeout=20)
        assert volume["status"] == "available", deployment.logs()
        assert volume["os-vol-host-attr:host"] == f"{node}@a#a"
        assert deployment.recorded(volume_id) == ["created"]

        assert wait_for(lambda: services(client).get(("cinder-volume", f"{node}@a"))
                        == "up")
        assert services(client)[("cinder-scheduler", node)] == "up"
        agent.signal(signal.SIGTERM)
        assert wait_for(lambda: services(client)[("cinder-volume", f"{node}@a")]
                        == "down", timeout=10)
        assert services(client)[("cinder-scheduler", node)] == "up"


def test_agent_killed_mid_create_does_not_create_twice(deployment: Deployment) -> None:
    slow = deployment.write(fake_create_delay=30)
    deployment.start("cinderblock-scheduler")
    agent = deployment.start("cinderblock-volume", slow)
    wait_for(lambda: deployment.view.schedulable() == 1, timeout=30)
    volume_id = deployment.view.create(1)
    wait_for(lambda: deployment.recorded(volume_id) == ["created"], timeout=20)
    agent.signal(signal.SIGKILL)
    deployment.start("cinderblock-volume")
    volume = deployment.view.settle([volume_id], timeout=30)[volume_id]
    assert volume.status == "available", deployment.logs()
    # Redelivery, and the controller's resume when the agent was seen down, may each
    # repeat the create: it must find the volume there, never make it again.
    recorded = deployment.recorded(volume_id)
    assert recorded[0] == "created" and set(recorded[1:]) == {"exists"}, recorded


def rabbitmq(action: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", action], check=True, capture_output=True, timeout=120)


def test_broker_restart_during_creates_loses_none(deployment: Deployment) -> None:
    # Heartbeats stop while the broker is down; the agent must not count as down meanwhile.
    deployment.start_all(deployment.write(down_time=60))
    ids: list[str] = []
    errors: list[BaseException] = []

    def stream(count: int, pause: Callable[[], None]) -> None:
        try:
            for _ in range(count):
                ids.append(deployment.view.create(1))
                pause()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    stop = threading.Event()
    caster = threading.Thread(target=stream, args=(30, lambda: stop.wait(0.1)))
    caster.start()
    wait_for(lambda: len(ids) >= 5)
    rabbitmq("stop_app")
    try:
        stop.wait(1)
    finally:
        rabbitmq("start_app")
    caster.join(timeout=120)
    assert not errors, errors
    assert len(ids) == 30
    volumes = deployment.view.settle(ids, timeout=60)
    stuck = {v.id: (v.status, v.host) for v in volumes.values() if v.status != "available"}
    assert len(volumes) == 30 and not stuck, f"{stuck}\n{deployment.logs()}"
    created = [effect for volume_id in ids for effect in deployment.recorded(volume_id)
               if effect == "created"]
    assert len(created) == 30
