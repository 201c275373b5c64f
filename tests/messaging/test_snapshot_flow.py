"""Snapshots through API, real RabbitMQ, agent and controller consumer, on every database.

The backend is the recorded fake driver; what is checked here is the message flow
and what the controller persists (status, progress, quota, cascade delete).
"""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from common.config import load
from common.messaging import Transport
from db.models import QuotaUsage, Snapshot, Volume
from db.session import session_scope
from scheduler.events import ControllerEndpoint
from tests.messaging.cluster import Cluster, wait_for, write_conf
from volume_agent.fake_driver import FakeVolumeDriver

PROJECT = "5a3f9c1e7b2d4a6c8e0f1a2b3c4d5e6f"
HEADERS = {"X-Auth-Token": f"admin:{PROJECT}"}


@pytest.fixture
def stack(tmp_path: pathlib.Path, broker_url: str, db_url: str, transport: Transport,
          session_factory: sessionmaker[Session]
          ) -> Iterator[tuple[Cluster, TestClient, FakeVolumeDriver]]:
    driver = FakeVolumeDriver("a", 100)
    path = write_conf(tmp_path / "c.conf", broker_url, db_url,
                      host=f"node-{uuid.uuid4().hex[:6]}", auth_strategy="noauth")
    conf = load([path])
    cluster = Cluster(conf, session_factory, transport, {"a": driver}).start()
    app = create_app(conf, transport=transport, sessions=session_factory)
    with TestClient(app) as client:
        yield cluster, client, driver
    cluster.stop()


def _post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/v3/{PROJECT}/{path}", headers=HEADERS, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def _status(sessions: sessionmaker[Session], model: type[Any], row_id: str) -> str | None:
    with sessions() as session:
        row = session.get(model, row_id)
        return None if row is None else row.status


def _in_use(sessions: sessionmaker[Session], resource: str) -> int:
    with sessions() as session:
        return session.scalar(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == resource)) or 0


def _available_volume(cluster: Cluster, client: TestClient) -> str:
    volume_id = _post(client, "volumes", {"volume": {"size": 2}})["volume"]["id"]
    assert cluster.settle([volume_id])[volume_id].status == "available"
    return volume_id


def _available_snapshot(cluster: Cluster, client: TestClient, volume_id: str) -> str:
    snapshot_id = _post(client, "snapshots",
                        {"snapshot": {"volume_id": volume_id}})["snapshot"]["id"]
    wait_for(lambda: _status(cluster.sessions, Snapshot, snapshot_id) == "available")
    return snapshot_id


def test_snapshot_created_then_deleted_releases_quota(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, driver = stack
    volume_id = _available_volume(cluster, client)
    snapshot_id = _available_snapshot(cluster, client, volume_id)
    shown = client.get(f"/v3/{PROJECT}/snapshots/{snapshot_id}", headers=HEADERS).json()
    assert shown["snapshot"]["os-extended-snapshot-attributes:progress"] == "100%"
    assert ("create_snapshot", snapshot_id, "created") in driver.calls
    assert _in_use(cluster.sessions, "snapshots") == 1
    assert client.delete(f"/v3/{PROJECT}/snapshots/{snapshot_id}",
                         headers=HEADERS).status_code == 202
    wait_for(lambda: _status(cluster.sessions, Snapshot, snapshot_id) is None)
    assert ("delete_snapshot", snapshot_id, "deleted") in driver.calls
    assert _in_use(cluster.sessions, "snapshots") == 0
    assert _in_use(cluster.sessions, "gigabytes") == 2  # the volume's


def test_cascade_deletes_snapshots_then_the_volume(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, driver = stack
    volume_id = _available_volume(cluster, client)
    snapshots = [_available_snapshot(cluster, client, volume_id) for _ in range(2)]
    assert client.delete(f"/v3/{PROJECT}/volumes/{volume_id}?cascade=true",
                         headers=HEADERS).status_code == 202
    wait_for(lambda: _status(cluster.sessions, Volume, volume_id) is None)
    order = [call[0] for call in driver.calls if call[1] in (volume_id, *snapshots)]
    assert order[-1] == "delete_volume" and order.count("delete_snapshot") == 2
    assert _in_use(cluster.sessions, "gigabytes") == 0


def test_volume_from_snapshot_lands_on_the_snapshots_backend(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, _ = stack
    volume_id = _available_volume(cluster, client)
    snapshot_id = _available_snapshot(cluster, client, volume_id)
    copy_id = _post(client, "volumes", {"volume": {"size": 3, "snapshot_id": snapshot_id}}
                    )["volume"]["id"]
    copy = cluster.settle([copy_id])[copy_id]
    assert (copy.status, copy.size, copy.snapshot_id) == ("available", 3, snapshot_id)
    assert copy.host == cluster.volumes([volume_id])[volume_id].host


def test_failed_snapshot_is_error_with_a_user_message(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, _ = stack
    volume_id = _available_volume(cluster, client)
    with session_scope(cluster.sessions) as session:
        volume = session.get(Volume, volume_id)
        snapshot = Snapshot(project_id=PROJECT, volume_id=volume_id, status="creating",
                            volume_size=2, volume_type_id=volume.volume_type_id)
        session.add(snapshot)
        session.flush()
        snapshot_id = snapshot.id
    controller = ControllerEndpoint(cluster.sessions, cluster.schedulers[0], cluster.conf)
    controller.snapshot_created(snapshot_id, "error", error="lvcreate failed")
    assert _status(cluster.sessions, Snapshot, snapshot_id) == "error"
    listed = client.get(f"/v3/{PROJECT}/messages",
                        headers={**HEADERS, "OpenStack-API-Version": "volume 3.3"}).json()
    assert [(m["event_id"], m["resource_uuid"], m["user_message"])
            for m in listed["messages"]] == [
        ("VOLUME_VOLUME_SNAPSHOT_009_013", snapshot_id,
         "create snapshot:Snapshot failed to create.")]


def test_group_snapshot_follows_its_members(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, _ = stack
    v = {**HEADERS, "OpenStack-API-Version": "volume 3.19"}
    client.post(f"/v3/{PROJECT}/group_types", headers=v, json={"group_type": {"name": "gt"}})
    group_id = client.post(f"/v3/{PROJECT}/groups", headers=v, json={"group": {
        "group_type": "gt", "volume_types": ["__DEFAULT__"]}}).json()["group"]["id"]
    volume_ids = [_post(client, "volumes", {"volume": {"size": 1, "group_id": group_id}}
                        )["volume"]["id"] for _ in range(2)]
    assert {v.status for v in cluster.settle(volume_ids).values()} == {"available"}
    created = client.post(f"/v3/{PROJECT}/group_snapshots", headers=v,
                          json={"group_snapshot": {"group_id": group_id}})
    group_snapshot_id = created.json()["group_snapshot"]["id"]
    path = f"/v3/{PROJECT}/group_snapshots/{group_snapshot_id}"
    wait_for(lambda: client.get(path, headers=v).json()["group_snapshot"]["status"]
             == "available")
    assert _in_use(cluster.sessions, "snapshots") == 2
    assert client.delete(path, headers=v).status_code == 202
    wait_for(lambda: client.get(path, headers=v).status_code == 404)
    assert _in_use(cluster.sessions, "snapshots") == 0
