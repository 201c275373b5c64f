"""Progress reports from the agent reach the volume's admin metadata through the real
broker and the controller consumer, on every database."""

from __future__ import annotations

from sqlalchemy import select

from db.models import VolumeAdminMetadata
from tests.messaging.cluster import Cluster, wait_for
from tests.messaging.test_create_flow import ClusterFactory
from tests.messaging.test_create_flow import cluster as cluster  # the fixture, shared
from volume_agent import progress
from volume_agent.fake_driver import FakeVolumeDriver


def _admin_metadata(c: Cluster, volume_id: str) -> dict[str, str]:
    with c.sessions() as session:
        rows = session.scalars(select(VolumeAdminMetadata)
                               .where(VolumeAdminMetadata.volume_id == volume_id))
        return {row.key: row.value for row in rows}


def test_reports_land_in_admin_metadata_and_the_latest_wins(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100)})
    volume_id = c.create(1)
    assert c.settle([volume_id])[volume_id].status == "available"
    report = progress.controller_sink(c.transport, ttl=30)
    report(volume_id, 40, "copy")
    wait_for(lambda: _admin_metadata(c, volume_id).get("progress") == "40%")
    report(volume_id, 100, "clear")
    wait_for(lambda: _admin_metadata(c, volume_id) == {"progress": "100%",
                                                       "progress_operation": "clear"})


def test_a_report_for_an_unknown_volume_is_dropped(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100)})
    report = progress.controller_sink(c.transport, ttl=30)
    report("3f0d3b9e-6a3c-4f5e-9d21-0c1b2a3d4e5f", 10, "copy")
    volume_id = c.create(1)
    report(volume_id, 50, "copy")
    wait_for(lambda: _admin_metadata(c, volume_id).get("progress") == "50%")
    assert _admin_metadata(c, "3f0d3b9e-6a3c-4f5e-9d21-0c1b2a3d4e5f") == {}
