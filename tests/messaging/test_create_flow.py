"""A volume's life through scheduler, agent and controller consumer, in one process,
on the real RabbitMQ and every configured database. Backends are recorded fakes."""

from __future__ import annotations

import pathlib
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from common.config import load
from common.messaging import VOLUME_FANOUT, Transport
from db import quota
from db.models import Pool, Service, Volume, VolumeAttachment
from db.session import session_scope
from scheduler.host_manager import VOLUME_BINARY
from tests.messaging.cluster import Cluster, wait_for, write_conf
from volume_agent.fake_driver import FakeVolumeDriver

ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def cluster(tmp_path: pathlib.Path, broker_url: str, db_url: str, transport: Transport,
            session_factory: sessionmaker[Session]) -> Iterator[ClusterFactory]:
    started: list[Cluster] = []

    def start(drivers: dict[str, FakeVolumeDriver], schedulers: int = 1,
              **default: object) -> Cluster:
        node = f"node-{uuid.uuid4().hex[:6]}"
        path = write_conf(tmp_path / "c.conf", broker_url, db_url, host=node, **default)
        started.append(Cluster(load([path]), session_factory, transport, drivers,
                               schedulers).start())
        return started[-1]

    yield start
    for running in started:
        running.stop()


def test_create_reaches_available_on_a_backend(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100)}
    c = cluster(drivers)
    volume_id = c.create(10)
    volume = c.settle([volume_id])[volume_id]
    assert volume.status == "available"
    assert volume.host == f"{c.node}@a#a"
    assert volume.provider_location == f"fake:a/volume-{volume_id}"
    assert volume.task_owner is None and volume.task_started_at is None
    assert drivers["a"].calls == [("create_volume", volume_id, "created")]
    assert c.allocated() == {f"{c.node}@a#a": 10}


def test_type_with_backend_name_lands_on_that_backend(cluster: ClusterFactory) -> None:
    c = cluster({"big": FakeVolumeDriver("big", 1000), "gold": FakeVolumeDriver("gold", 10)})
    c.make_type("gold-type", volume_backend_name="gold")
    ids = [c.create(1, "gold-type") for _ in range(3)]
    volumes = c.settle(ids)
    assert {v.host for v in volumes.values()} == {f"{c.node}@gold#gold"}
    assert all(v.status == "available" for v in volumes.values())


def test_no_valid_backend_gives_error_with_reason(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 10)})
    c.make_type("nowhere", volume_backend_name="missing")
    too_big, unmatched = c.create(11), c.create(1, "nowhere")
    volumes = c.settle([too_big, unmatched])
    assert volumes[too_big].status == "error"
    assert "No valid backend" in volumes[too_big].status_reason
    assert "free capacity" in volumes[too_big].status_reason
    assert "capabilities" in volumes[unmatched].status_reason
    assert volumes[too_big].host is None
    assert c.allocated() == {f"{c.node}@a#a": 0}


@pytest.mark.parametrize("schedulers", [1, 2])
def test_concurrent_creates_spread_by_capacity_and_never_overcommit(
        cluster: ClusterFactory, schedulers: int) -> None:
    """With two schedulers on one queue and database, placements race for the same
    pools; the guarded claims keep every pool within its capacity."""
    drivers = {"a": FakeVolumeDriver("a", 40), "b": FakeVolumeDriver("b", 20)}
    c = cluster(drivers, schedulers)
    ids = [c.create(5) for _ in range(13)]
    volumes = c.settle(ids, timeout=30)
    placed = [v for v in volumes.values() if v.status == "available"]
    failed = [v for v in volumes.values() if v.status == "error"]
    assert len(placed) == 12 and len(failed) == 1
    by_backend = {name: sum(v.size for v in placed if v.host.endswith(f"@{name}#{name}"))
                  for name in drivers}
    assert by_backend == {"a": 40, "b": 20}
    assert {name: d.used_gb for name, d in drivers.items()} == by_backend
    assert "No valid backend" in failed[0].status_reason


def test_spreading_alternates_once_free_space_is_equal(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 30), "b": FakeVolumeDriver("b", 10)})
    ids = []
    for _ in range(6):
        ids.append(c.create(5))
        c.settle(ids[-1:])
    hosts = [c.volumes([i])[i].host.split("@")[1][0] for i in ids]
    # a: 30 → 10 while it has more free space; the tie goes to a (name order), then b.
    assert hosts == ["a", "a", "a", "a", "a", "b"]


def test_failed_create_is_rescheduled_on_another_backend(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 1000, fail_creates=True),
               "b": FakeVolumeDriver("b", 100)}
    c = cluster(drivers)
    volume_id = c.create(5)
    volume = c.settle([volume_id])[volume_id]
    assert volume.status == "available"
    assert volume.host == f"{c.node}@b#b"
    assert drivers["a"].calls == [("create_volume", volume_id, "failed")]
    assert c.allocated() == {f"{c.node}@a#a": 0, f"{c.node}@b#b": 5}


def test_create_fails_after_max_attempts_with_the_backend_error(
        cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 1000, fail_creates=True),
                 "b": FakeVolumeDriver("b", 100)}, scheduler_max_attempts=1)
    volume_id = c.create(5)
    volume = c.settle([volume_id])[volume_id]
    assert volume.status == "error"
    assert "Create failed on 1 backend(s)" in volume.status_reason
    assert "refuses to create" in volume.status_reason
    assert c.allocated() == {f"{c.node}@a#a": 0, f"{c.node}@b#b": 0}


def test_volume_from_another_volume_goes_to_the_source_backend(
        cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100), "b": FakeVolumeDriver("b", 1000)})
    c.make_type("on-a", volume_backend_name="a")
    source = c.create(1, "on-a")
    c.settle([source])
    clone = c.create(1, source_volid=source)
    assert c.settle([clone])[clone].host == f"{c.node}@a#a"


def test_delete_removes_row_and_gives_back_capacity_and_quota(
        cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100)}
    c = cluster(drivers)
    volume_id = c.create(7)
    volume = c.settle([volume_id])[volume_id]
    with session_scope(c.sessions) as session:
        session.execute(update(Volume).where(Volume.id == volume_id).values(status="deleting"))
    c.transport.cast(f"volume.{c.node}@a", "delete_volume",
                     {"volume": {"id": volume_id, "size": 7, "host": volume.host}})
    wait_for(lambda: not c.volumes([volume_id]))
    assert c.allocated() == {f"{c.node}@a#a": 0}
    assert drivers["a"].volumes == {}
    with c.sessions() as session:
        usage = quota.usages(session, "p1")
    assert (usage["volumes"].in_use, usage["gigabytes"].in_use) == (0, 0)


def test_failed_delete_ends_in_error_deleting(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100)})
    volume_id = c.insert_volume(1, host=f"{c.node}@a#a", status="deleting")
    c.transport.cast("controller", "volume_deleted",
                     {"volume_id": volume_id, "status": "error_deleting", "error": "busy"})
    volume = wait_for(lambda: c.volumes([volume_id])[volume_id].status != "deleting"
                      and c.volumes([volume_id])[volume_id])
    assert (volume.status, volume.status_reason) == ("error_deleting", "busy")


def test_extend_sets_the_new_size_and_counts_it_on_the_pool(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100)}
    c = cluster(drivers)
    volume_id = c.create(2)
    volume = c.settle([volume_id])[volume_id]
    with session_scope(c.sessions) as session:
        session.execute(update(Volume).where(Volume.id == volume_id).values(status="extending"))
    c.transport.cast(f"volume.{c.node}@a", "extend_volume",
                     {"volume": {"id": volume_id, "size": 2, "host": volume.host},
                      "new_size": 6})
    extended = wait_for(lambda: c.volumes([volume_id])[volume_id].status == "available"
                        and c.volumes([volume_id])[volume_id])
    assert extended.size == 6
    assert drivers["a"].volumes == {volume_id: 6}
    assert c.allocated() == {f"{c.node}@a#a": 6}


def test_duplicate_create_message_does_no_work_twice(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100)}
    c = cluster(drivers)
    volume_id = c.create(3)
    c.transport.cast("scheduler", "create_volume", {"volume_id": volume_id})
    c.settle([volume_id])
    c.transport.cast("scheduler", "create_volume", {"volume_id": volume_id})
    wait_for(lambda: len(drivers["a"].calls) >= 1)
    assert [call[2] for call in drivers["a"].calls].count("created") == 1
    assert c.allocated() == {f"{c.node}@a#a": 3}


def test_heartbeats_and_disabled_backends(cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100), "b": FakeVolumeDriver("b", 100)})
    with session_scope(c.sessions) as session:
        hosts = set(session.scalars(select(Service.host)
                                    .where(Service.binary == VOLUME_BINARY)))
        assert hosts == {f"{c.node}@a", f"{c.node}@b"}
        session.execute(update(Service).where(Service.host == f"{c.node}@a")
                        .values(disabled=True, disabled_reason="maintenance"))
    ids = [c.create(1) for _ in range(3)]
    assert {v.host for v in c.settle(ids).values()} == {f"{c.node}@b#b"}


def test_capability_report_replaces_pool_stats(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100)}
    c = cluster(drivers)
    drivers["a"].capacity_gb = 250
    c.report()

    def total() -> float:
        with c.sessions() as session:
            pool = session.scalars(select(Pool)).one()
            return pool.capabilities["total_capacity_gb"] == 250 and pool.capabilities
    caps = wait_for(total)
    assert caps["volume_backend_name"] == "a"
    assert caps["storage_protocol"] == "iSCSI"


def test_capability_fanout_makes_every_agent_report(cluster: ClusterFactory) -> None:
    drivers = {"a": FakeVolumeDriver("a", 100), "b": FakeVolumeDriver("b", 100)}
    c = cluster(drivers)
    for driver in drivers.values():
        driver.capacity_gb = 300
    c.transport.fanout(VOLUME_FANOUT, "report_capabilities")

    def totals() -> list[float]:
        with c.sessions() as session:
            found = [p.capabilities["total_capacity_gb"] for p in session.scalars(select(Pool))]
        return found if found == [300, 300] else []
    wait_for(totals)


def test_exports_for_host_lists_attached_volumes_and_initiators(
        cluster: ClusterFactory) -> None:
    c = cluster({"a": FakeVolumeDriver("a", 100)})
    attached = c.insert_volume(1, host=f"{c.node}@a#a", status="in-use")
    c.insert_volume(1, host=f"{c.node}@a#a", status="available")
    c.insert_volume(1, host=f"{c.node}x@a#a", status="in-use")
    with session_scope(c.sessions) as session:
        for initiator in ("iqn.1993-08.org.debian:01:aa", "iqn.1993-08.org.debian:01:bb"):
            session.add(VolumeAttachment(volume_id=attached, attach_status="attached",
                                         connector={"initiator": initiator}))
    exports = c.transport.call("controller", "exports_for_host",
                               {"host": f"{c.node}@a"}, timeout=10)
    assert [e["volume"]["id"] for e in exports] == [attached]
    assert sorted(exports[0]["initiators"]) == ["iqn.1993-08.org.debian:01:aa",
                                                "iqn.1993-08.org.debian:01:bb"]
