"""Failed creates leave the user messages /messages shows (Cinder's event ids), written by
the scheduler and the controller consumer on the real broker and every database."""

from __future__ import annotations

from sqlalchemy import select

from db.messages import user_message
from db.models import Message
from tests.messaging.cluster import Cluster
from tests.messaging.test_create_flow import ClusterFactory
from tests.messaging.test_create_flow import cluster as cluster  # the fixture, shared
from volume_agent.fake_driver import FakeVolumeDriver


def _messages(c: Cluster, volume_id: str) -> list[tuple[str, str, str]]:
    with c.sessions() as session:
        rows = session.scalars(select(Message).where(Message.resource_uuid == volume_id))
        return [(row.project_id, row.event_id, user_message(row)) for row in rows]


def test_no_valid_backend_leaves_a_message_for_the_project(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 10)})
    volume_id = c.create(11)
    assert c.settle([volume_id])[volume_id].status == "error"
    assert _messages(c, volume_id) == [
        ("p1", "VOLUME_VOLUME_001_003",
         "schedule allocate volume:Could not find any available weighted backend.")]


def test_backend_failure_after_the_last_attempt_leaves_one_message(
        cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100, fail_creates=True)},
                scheduler_max_attempts=1)
    volume_id = c.create(5)
    assert c.settle([volume_id])[volume_id].status == "error"
    assert _messages(c, volume_id) == [
        ("p1", "VOLUME_VOLUME_008_012",
         "create volume from backend storage:Driver failed to create the volume.")]


def test_a_created_volume_leaves_no_message(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100)})
    volume_id = c.create(1)
    assert c.settle([volume_id])[volume_id].status == "available"
    assert _messages(c, volume_id) == []
