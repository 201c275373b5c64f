"""Revert to snapshot (3.40) through API, real RabbitMQ, agent and controller consumer.

The backend is the recorded fake driver: checked here are the messages and what the
controller persists; the data itself is checked in tests/agent_vm with real LVM.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from db.models import Snapshot, Volume
from tests.messaging.cluster import Cluster, wait_for
from tests.messaging.test_snapshot_flow import (
    HEADERS,
    PROJECT,
    _available_snapshot,
    _available_volume,
    _status,
)
from tests.messaging.test_snapshot_flow import stack as stack  # the fixture, shared
from volume_agent.fake_driver import FakeVolumeDriver


def _revert(client: TestClient, volume_id: str, snapshot_id: str) -> None:
    response = client.post(f"/v3/{PROJECT}/volumes/{volume_id}/action",
                           headers={**HEADERS, "OpenStack-API-Version": "volume 3.40"},
                           json={"revert": {"snapshot_id": snapshot_id}})
    assert response.status_code == 202, response.text


def test_revert_settles_volume_and_snapshot_available(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, driver = stack
    volume_id = _available_volume(cluster, client)
    snapshot_id = _available_snapshot(cluster, client, volume_id)
    _revert(client, volume_id, snapshot_id)
    wait_for(lambda: _status(cluster.sessions, Volume, volume_id) == "available")
    assert _status(cluster.sessions, Snapshot, snapshot_id) == "available"
    assert ("revert_to_snapshot", volume_id, "reverted") in driver.calls


def test_failed_revert_leaves_the_volume_in_error_and_the_snapshot_available(
        stack: tuple[Cluster, TestClient, FakeVolumeDriver]) -> None:
    cluster, client, driver = stack
    volume_id = _available_volume(cluster, client)
    snapshot_id = _available_snapshot(cluster, client, volume_id)
    del driver.volumes[volume_id]  # the fake now refuses: "volume ... does not exist"
    _revert(client, volume_id, snapshot_id)
    wait_for(lambda: _status(cluster.sessions, Volume, volume_id) == "error")
    assert _status(cluster.sessions, Snapshot, snapshot_id) == "available"
    with cluster.sessions() as session:
        assert "does not exist" in session.get(Volume, volume_id).status_reason
