"""Groups from a source (``groups/action`` ``create-from-src``, 3.14): each volume of the
new group is a create from the matching snapshot or a clone of the matching volume."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from common.config import Config
from db.models import Group, QuotaUsage, Snapshot, Volume
from scheduler.events import ControllerEndpoint
from scheduler.manager import SchedulerManager
from scheduler.sweeper import Sweeper
from tests.api.conftest import (
    OTHER_PROJECT,
    PROJECT,
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    url,
)

V = "3.25"


def _group(client: TestClient, sessions: sessionmaker[Session], volumes: int,
           **kw: Any) -> tuple[str, list[str]]:
    client.post(url("group_types"), headers=headers(version=V),
                json={"group_type": {"name": "gt"}})
    group = client.post(url("groups"), headers=headers(version=V), json={"group": {
        "group_type": "gt", "volume_types": ["__DEFAULT__"], **kw}}).json()["group"]["id"]
    ids = []
    for size in range(1, volumes + 1):
        volume = create_volume(client, group_id=group, size=size)
        place(sessions, volume["id"])
        ids.append(volume["id"])
    return group, ids


def _from_source(client: TestClient, version: str = V, **source: Any) -> Any:
    return client.post(url("groups/action"), headers=headers(version=version),
                       json={"create-from-src": source})


def _members(sessions: sessionmaker[Session], group_id: str) -> list[Volume]:
    with sessions() as session:
        return list(session.scalars(select(Volume).where(Volume.group_id == group_id)
                                    .order_by(Volume.size)))


def _in_use(sessions: sessionmaker[Session], resource: str) -> int:
    with sessions() as session:
        return int(session.scalar(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == resource)) or 0)


def test_from_a_group_snapshot_each_snapshot_becomes_a_volume(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    source, _ = _group(client, session_factory, 2, availability_zone="nova")
    snapshot = client.post(url("group_snapshots"), headers=headers(version=V), json={
        "group_snapshot": {"group_id": source}}).json()["group_snapshot"]
    with session_factory() as session, session.begin():
        session.execute(update(Snapshot).values(status="available"))
    with session_factory() as session:
        by_size = {s.volume_size: s.id for s in session.scalars(select(Snapshot))}
    casts_before = len(transport.casts)
    created = _from_source(client, group_snapshot_id=snapshot["id"], name=" copy ",
                           description="from gs")
    assert created.status_code == 202, created.text
    body = created.json()["group"]
    assert body == {"id": body["id"], "name": "copy"}
    shown = client.get(url(f"groups/{body['id']}?list_volume=true"),
                       headers=headers(version=V)).json()["group"]
    assert (shown["group_snapshot_id"], shown["source_group_id"]) == (snapshot["id"], None)
    assert (shown["status"], shown["description"], shown["availability_zone"]) == \
        ("creating", "from gs", "nova")
    members = _members(session_factory, body["id"])
    assert sorted(shown["volumes"]) == sorted(v.id for v in members)
    assert [(v.size, v.snapshot_id, v.status, v.availability_zone) for v in members] == \
        [(size, by_size[size], "creating", "nova") for size in (1, 2)]
    casts = transport.casts[casts_before:]
    assert [(target, method, args["volume_id"]) for target, method, args in casts] == \
        [("scheduler", "create_volume", v.id) for v in members]
    assert (_in_use(session_factory, "groups"), _in_use(session_factory, "volumes"),
            _in_use(session_factory, "gigabytes")) == (2, 4, 6 + 3)


def test_from_a_group_each_volume_is_cloned(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    source, volume_ids = _group(client, session_factory, 2)
    created = _from_source(client, source_group_id=source)
    assert created.status_code == 202, created.text
    group_id = created.json()["group"]["id"]
    shown = client.get(url(f"groups/{group_id}"), headers=headers(version=V)).json()["group"]
    assert (shown["group_snapshot_id"], shown["source_group_id"], shown["name"]) == \
        (None, source, None)
    assert shown["volume_types"] == \
        client.get(url(f"groups/{source}"), headers=headers(version=V)
                   ).json()["group"]["volume_types"]
    members = _members(session_factory, group_id)
    assert [(v.source_volid, v.size) for v in members] == list(zip(volume_ids, (1, 2), strict=True))
    assert [m for _, m, _ in transport.casts[-2:]] == ["create_volume", "create_volume"]


def test_refusals_leave_nothing_behind(client: TestClient,
                                      session_factory: sessionmaker[Session]) -> None:
    source, volume_ids = _group(client, session_factory, 2)
    empty, _ = _group(client, session_factory, 0)
    assert _from_source(client, version="3.13", source_group_id=source).status_code == 404
    for bad in ({}, {"source_group_id": source, "group_snapshot_id": source},
                {"source_group_id": "not-a-uuid"}, {"source_group_id": source, "x": 1}):
        assert _from_source(client, **bad).status_code == 400, bad
    assert client.post(url("groups/action"), headers=headers(version=V),
                       json={"create-from-src": {"source_group_id": source},
                             "other": {}}).status_code == 400
    assert _from_source(client, source_group_id=empty).json() == {"badRequest": {
        "code": 400,
        "message": "Invalid Group: Source Group is empty. No group will be created."}}
    missing = "0b6c3f0e-66d2-4f7c-9a8e-2d1a1c4d5e6f"
    assert _from_source(client, source_group_id=missing).status_code == 404
    assert _from_source(client, group_snapshot_id=missing).status_code == 404
    other = client.post(url("groups/action", OTHER_PROJECT),
                        headers=headers(OTHER_PROJECT, roles="member", version=V),
                        json={"create-from-src": {"source_group_id": source}})
    assert other.status_code == 404
    assert client.put(url(f"os-quota-sets/{PROJECT}"), headers=headers(),
                      json={"quota_set": {"volumes": 3}}).status_code == 200
    over = _from_source(client, source_group_id=source)
    assert over.status_code == 413, over.text
    assert client.put(url(f"os-quota-sets/{PROJECT}"), headers=headers(),
                      json={"quota_set": {"volumes": -1}}).status_code == 200
    with session_factory() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == volume_ids[1])
                        .values(status="error"))
    busy = _from_source(client, source_group_id=source)
    assert busy.json()["badRequest"]["message"] == \
        "Invalid volume: Source volume status must be available or in-use."
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Group)) == 2
        assert session.scalar(select(func.count()).select_from(Volume)) == 2
    assert (_in_use(session_factory, "groups"), _in_use(session_factory, "volumes")) == (2, 2)


def _cloned_group(client: TestClient, sessions: sessionmaker[Session]) -> tuple[str, list[str]]:
    """A group cloned from a two-volume group, its new volumes placed and still creating."""
    source, _ = _group(client, sessions, 2)
    created = _from_source(client, source_group_id=source)
    assert created.status_code == 202, created.text
    group_id = created.json()["group"]["id"]
    ids = [v.id for v in _members(sessions, group_id)]
    for volume_id in ids:
        place(sessions, volume_id, status="creating")
    return group_id, ids


def _group_status(client: TestClient, group_id: str) -> str:
    return client.get(url(f"groups/{group_id}"), headers=headers(version=V)
                      ).json()["group"]["status"]


def test_the_group_stays_creating_until_its_last_volume_is_created(
        client: TestClient, session_factory: sessionmaker[Session],
        api_conf: Config) -> None:
    group_id, ids = _cloned_group(client, session_factory)
    controller = ControllerEndpoint(session_factory, None, api_conf)  # type: ignore[arg-type]
    assert _group_status(client, group_id) == "creating"
    controller.volume_created(ids[0], "available", host="node2@lvm#lvm")
    assert _group_status(client, group_id) == "creating"
    controller.volume_created(ids[1], "available", host="node2@lvm#lvm")
    assert _group_status(client, group_id) == "available"


def test_one_failed_volume_leaves_the_group_in_error(
        client: TestClient, session_factory: sessionmaker[Session],
        api_conf: Config) -> None:
    group_id, ids = _cloned_group(client, session_factory)
    controller = ControllerEndpoint(session_factory, None, api_conf)  # type: ignore[arg-type]
    last_attempt = {"retry": {"num_attempts": api_conf.default.scheduler_max_attempts}}
    controller.volume_created(ids[0], "error", host="node2@lvm#lvm", error="disk full",
                              request_spec=last_attempt)
    assert _group_status(client, group_id) == "creating"
    controller.volume_created(ids[1], "available", host="node2@lvm#lvm")
    assert _group_status(client, group_id) == "error"


def test_the_sweeper_settles_a_group_whose_volumes_left_creating_another_way(
        client: TestClient, session_factory: sessionmaker[Session],
        api_conf: Config, transport: RecordingFakeTransport) -> None:
    group_id, ids = _cloned_group(client, session_factory)
    sweeper = Sweeper(session_factory, SchedulerManager(session_factory, transport, api_conf),
                      api_conf)
    assert sweeper.sweep().groups_settled == []
    for volume_id in ids:
        assert client.post(url(f"volumes/{volume_id}/action"), headers=headers(),
                           json={"os-reset_status": {"status": "available"}}
                           ).status_code == 202
    assert _group_status(client, group_id) == "creating"
    assert sweeper.sweep().groups_settled == [group_id]
    assert _group_status(client, group_id) == "available"
