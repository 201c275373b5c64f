"""Migration state logic: os-retype (on-demand) and os-migrate_volume through the API,
then the scheduler's choice and the controller's end, on each test database.

The agents are not here: the recording fake transport takes the casts, and the test
plays the agent's ``volume_migrated`` result. The copy itself is tested for real in
the storage-node VM (tests/agent_vm/test_migration.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config
from db import migration_request
from db.models import Pool, QuotaUsage, Service, Snapshot, Volume, utcnow
from scheduler.events import ControllerEndpoint
from scheduler.manager import SchedulerManager
from scheduler.sweeper import Sweeper
from tests.api.conftest import PROJECT, RecordingFakeTransport, create_volume, headers, url

SOURCE, DEST = "node1@lvm#lvm", "node1@ssd#ssd"


def _backends(sessions: sessionmaker[Session], *, dest_free: int = 100) -> None:
    now = utcnow()
    with sessions() as session, session.begin():
        for host, name, free in ((SOURCE, "lvm", 100), (DEST, "ssd", dest_free)):
            session.add(Service(host=host.split("#")[0], binary="cinderblock-volume",
                                topic="cinder-volume", availability_zone="nova",
                                last_seen_at=now))
            session.add(Pool(host=host, capabilities={
                "volume_backend_name": name, "total_capacity_gb": 100,
                "free_capacity_gb": free, "reserved_percentage": 0}))


def _type(client: TestClient, name: str, **specs: str) -> str:
    response = client.post(url("types"), headers=headers(),
                           json={"volume_type": {"name": name, "extra_specs": specs}})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]["id"]


def _volume(client: TestClient, sessions: sessionmaker[Session], type_name: str = "slow",
            **values: Any) -> str:
    if type_name == "slow":
        _type(client, "slow", volume_backend_name="lvm")
    volume_id = create_volume(client, size=2, volume_type=type_name)["id"]
    with sessions() as session, session.begin():
        row = session.get(Volume, volume_id)
        row.host, row.status, row.provider_location = SOURCE, "available", "old-location"
        for key, value in values.items():
            setattr(row, key, value)
    return volume_id


def _action(client: TestClient, volume_id: str, body: dict[str, Any], **kw: Any):  # noqa: ANN202
    return client.post(url(f"volumes/{volume_id}/action"), headers=headers(**kw), json=body)


def _row(sessions: sessionmaker[Session], volume_id: str) -> Volume:
    with sessions() as session:
        row = session.get(Volume, volume_id)
        session.expunge(row)
        return row


def _pool_allocation(sessions: sessionmaker[Session], host: str) -> int:
    with sessions() as session:
        return session.scalar(select(Pool.allocated_capacity_gb).where(Pool.host == host))


def _in_use(sessions: sessionmaker[Session], resource: str) -> int:
    with sessions() as session:
        return sum(session.scalars(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == resource)))


@pytest.fixture
def scheduler(api_conf: Config, session_factory: sessionmaker[Session]
              ) -> tuple[SchedulerManager, RecordingFakeTransport]:
    sent = RecordingFakeTransport()
    return SchedulerManager(session_factory, sent, api_conf), sent


def _retype_and_schedule(client: TestClient, transport: RecordingFakeTransport,
                         scheduler: tuple[SchedulerManager, RecordingFakeTransport],
                         volume_id: str) -> dict[str, Any]:
    response = _action(client, volume_id, {"os-retype": {
        "new_type": "fast", "migration_policy": "on-demand"}})
    assert response.status_code == 202, response.text
    assert transport.casts[-1] == ("scheduler", "migrate_volume", {"volume_id": volume_id})
    manager, sent = scheduler
    manager.migrate_volume(volume_id)
    target, method, args = sent.casts[-1]
    assert (target, method) == ("volume.node1@lvm", "migrate_volume")
    return args


def _retyping(client: TestClient, session_factory: sessionmaker[Session],
              transport: RecordingFakeTransport,
              scheduler: tuple[SchedulerManager, RecordingFakeTransport]
              ) -> tuple[str, str, dict[str, Any]]:
    """An available volume on node1@lvm retyped to "fast" (backend ssd, on node1@ssd) and
    its migration sent to the source agent: the volume id, the new type's id and the
    agent's migrate_volume arguments."""
    _backends(session_factory)
    volume_id = _volume(client, session_factory)
    fast_id = _type(client, "fast", volume_backend_name="ssd")
    return volume_id, fast_id, _retype_and_schedule(client, transport, scheduler, volume_id)


def test_retype_to_another_backend_moves_volume_type_and_quota(
        client: TestClient, session_factory: sessionmaker[Session],
        transport: RecordingFakeTransport, api_conf: Config,
        scheduler: tuple[SchedulerManager, RecordingFakeTransport]) -> None:
    volume_id, fast_id, args = _retyping(client, session_factory, transport, scheduler)
    assert args["volume"]["host"] == SOURCE and args["destination"]["host"] == DEST
    assert args["destination"]["volume_type_id"] == fast_id
    assert args["destination"]["extra_specs"] == {"volume_backend_name": "ssd"}
    moving = _row(session_factory, volume_id)
    assert (moving.status, moving.migration_status) == ("retyping", "migrating")
    assert _pool_allocation(session_factory, DEST) == 2
    shown = client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]
    assert shown["os-vol-mig-status-attr:migstat"] == "migrating"

    manager, sent = scheduler
    assert manager.migrations.migration_destination(volume_id) == DEST
    ControllerEndpoint(session_factory, manager, api_conf).volume_migrated(
        volume_id, "success", DEST, "new-location", "CHAP u s")
    moved = _row(session_factory, volume_id)
    assert (moved.status, moved.migration_status, moved.host) == ("available", "success", DEST)
    assert (moved.volume_type_id, moved.provider_location) == (fast_id, "new-location")
    assert moved.task_started_at is None and moved.status_reason is None
    assert manager.migrations.migration_destination(volume_id) is None
    assert sent.casts[-1][:2] == ("volume.node1@lvm", "delete_migration_source")
    assert sent.casts[-1][2]["volume"]["provider_location"] == "old-location"
    assert _pool_allocation(session_factory, DEST) == 2
    assert _in_use(session_factory, "volumes_fast") == 1
    assert _in_use(session_factory, "gigabytes_fast") == 2
    assert _in_use(session_factory, "volumes_slow") == 0
    with session_factory() as session:
        assert migration_request.pending(session.get(Volume, volume_id)) is None
    shown = client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]
    assert (shown["volume_type"], shown["status"]) == ("fast", "available")
    # a finished migration blocks nothing (Cinder's AVAILABLE_MIGRATION_STATUS)
    snapshot = client.post(url("snapshots"), headers=headers(),
                           json={"snapshot": {"volume_id": volume_id}})
    assert snapshot.status_code == 202, snapshot.text


def test_failed_copy_leaves_the_volume_where_it_was(
        client: TestClient, session_factory: sessionmaker[Session],
        transport: RecordingFakeTransport,
        scheduler: tuple[SchedulerManager, RecordingFakeTransport]) -> None:
    volume_id, _, _ = _retyping(client, session_factory, transport, scheduler)
    manager, sent = scheduler
    casts = len(sent.casts)
    manager.migrations.volume_migrated(volume_id, "success", "node9@other#other")
    assert _row(session_factory, volume_id).migration_status == "migrating"  # stale: dropped
    manager.migrations.volume_migrated(volume_id, "error", DEST, error="copy failed: EIO")
    row = _row(session_factory, volume_id)
    assert (row.status, row.migration_status, row.host) == ("available", "error", SOURCE)
    assert row.provider_location == "old-location" and "EIO" in row.status_reason
    assert row.volume_type.name == "slow"
    assert len(sent.casts) == casts  # nothing deleted on the source
    assert _pool_allocation(session_factory, DEST) == 0
    assert _in_use(session_factory, "volumes_fast") == 0
    assert _in_use(session_factory, "volumes_slow") == 1
    again = _action(client, volume_id, {"os-retype": {"new_type": "fast",
                                                      "migration_policy": "on-demand"}})
    assert again.status_code == 202, again.text  # a failed migration may be retried


def test_no_backend_passing_the_new_type_fails_the_migration_at_once(
        client: TestClient, session_factory: sessionmaker[Session],
        transport: RecordingFakeTransport,
        scheduler: tuple[SchedulerManager, RecordingFakeTransport]) -> None:
    _backends(session_factory, dest_free=1)
    volume_id = _volume(client, session_factory)
    _type(client, "fast", volume_backend_name="ssd")
    response = _action(client, volume_id, {"os-retype": {
        "new_type": "fast", "migration_policy": "on-demand"}})
    assert response.status_code == 202, response.text
    manager, sent = scheduler
    manager.migrate_volume(volume_id)
    assert sent.casts == []
    row = _row(session_factory, volume_id)
    assert (row.status, row.migration_status) == ("available", "error")
    assert "No valid backend" in row.status_reason
    assert _pool_allocation(session_factory, DEST) == 0


def test_moves_refused_up_front(client: TestClient,
                                session_factory: sessionmaker[Session]) -> None:
    _backends(session_factory)
    _type(client, "fast", volume_backend_name="ssd")
    attached = _volume(client, session_factory, status="in-use", attach_status="attached")
    body = {"os-retype": {"new_type": "fast", "migration_policy": "on-demand"}}
    refused = _action(client, attached, body)
    assert refused.status_code == 400 and "swap_volume" in refused.text
    never = _action(client, attached, {"os-retype": {"new_type": "fast"}})
    assert never.json()["badRequest"]["message"] == (
        "Invalid input received: Retype requires migration but is not allowed.")
    snapped = create_volume(client, size=2, volume_type="slow")["id"]
    with session_factory() as session, session.begin():
        row = session.get(Volume, snapped)
        row.host, row.status = SOURCE, "available"
        session.add(Snapshot(project_id=PROJECT, volume_id=snapped, status="available",
                             volume_size=2, volume_type_id=row.volume_type_id))
    refused = _action(client, snapped, body)
    assert refused.status_code == 400 and "must not have snapshots" in refused.text
    assert _row(session_factory, snapped).migration_status is None


def test_os_migrate_volume_locks_and_ends(
        client: TestClient, session_factory: sessionmaker[Session],
        transport: RecordingFakeTransport,
        scheduler: tuple[SchedulerManager, RecordingFakeTransport]) -> None:
    _backends(session_factory)
    pinned = _volume(client, session_factory)
    body = {"os-migrate_volume": {"host": "node1@ssd", "lock_volume": True}}
    manager, sent = scheduler
    assert _action(client, pinned, body).status_code == 202
    manager.migrate_volume(pinned)  # its type names the source backend: ssd does not pass
    row = _row(session_factory, pinned)
    assert (row.status, row.migration_status) == ("available", "error")
    assert "No valid backend" in row.status_reason and sent.casts == []
    volume_id = _volume(client, session_factory, "__DEFAULT__")
    member = _action(client, volume_id, body, roles="member", user="demo")
    assert member.status_code == 403
    same = _action(client, volume_id, {"os-migrate_volume": {"host": SOURCE}})
    assert same.status_code == 400 and "different than the current one" in same.text
    unknown = _action(client, volume_id, {"os-migrate_volume": {"host": "nowhere@x"}})
    assert unknown.json()["badRequest"]["message"] == (
        "Invalid host: No available service named 'nowhere@x'")
    started = _action(client, volume_id, body)
    assert started.status_code == 202, started.text
    assert _row(session_factory, volume_id).status == "maintenance"
    manager.migrate_volume(volume_id)
    assert sent.casts[-1][2]["destination"]["host"] == DEST
    manager.migrations.volume_migrated(volume_id, "success", DEST, "there", None)
    row = _row(session_factory, volume_id)
    assert (row.status, row.migration_status, row.host) == ("available", "success", DEST)
    assert row.volume_type.name == "__DEFAULT__"


def test_sweeper_gives_up_an_overdue_migration(
        client: TestClient, session_factory: sessionmaker[Session], api_conf: Config,
        transport: RecordingFakeTransport,
        scheduler: tuple[SchedulerManager, RecordingFakeTransport]) -> None:
    volume_id, _, _ = _retyping(client, session_factory, transport, scheduler)
    manager, sent = scheduler
    sweeper = Sweeper(session_factory, manager, api_conf)
    assert volume_id not in sweeper.sweep().failed  # within its allowance
    with session_factory() as session, session.begin():
        row = session.get(Volume, volume_id)
        request = migration_request.pending(row)
        request.started -= 86400
        migration_request.record(row, request)
        row.task_started_at = utcnow() - timedelta(days=1)
    assert volume_id in sweeper.sweep().failed
    target, method, args = sent.casts[-1]
    assert (target, method) == ("volume.node1@ssd", "remove_migration_target")
    assert args["delete"] is True and args["volume"]["host"] == DEST
    row = _row(session_factory, volume_id)
    assert (row.status, row.migration_status, row.host) == ("available", "error", SOURCE)
    assert _pool_allocation(session_factory, DEST) == 0
