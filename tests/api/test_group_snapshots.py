"""group_snapshots (3.14, 3.19): a snapshot of every volume of a group, taken together."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Snapshot
from tests.api.conftest import RecordingFakeTransport, create_volume, headers, place, url

V = "3.19"


def _group(client: TestClient, sessions: sessionmaker[Session], volumes: int
           ) -> tuple[str, list[str]]:
    client.post(url("group_types"), headers=headers(version=V),
                json={"group_type": {"name": "gt"}})
    group = client.post(url("groups"), headers=headers(version=V), json={"group": {
        "group_type": "gt", "volume_types": ["__DEFAULT__"]}}).json()["group"]["id"]
    ids = []
    for _ in range(volumes):
        volume = create_volume(client, group_id=group)
        place(sessions, volume["id"])
        ids.append(volume["id"])
    return group, ids


def _create(client: TestClient, group_id: str) -> dict[str, Any]:
    response = client.post(url("group_snapshots"), headers=headers(version=V),
                           json={"group_snapshot": {"group_id": group_id, "name": "gs"}})
    assert response.status_code == 202, response.text
    return response.json()["group_snapshot"]


def _show(client: TestClient, group_snapshot_id: str) -> Any:
    return client.get(url(f"group_snapshots/{group_snapshot_id}"), headers=headers(version=V))


def test_create_snapshots_every_member(client: TestClient, transport: RecordingFakeTransport,
                                       session_factory: sessionmaker[Session]) -> None:
    group, volume_ids = _group(client, session_factory, 2)
    created = _create(client, group)
    assert list(created) == ["id", "name", "group_type_id"]
    casts = [(m, a["snapshot"]["volume_id"]) for _, m, a in transport.casts[-2:]]
    assert sorted(casts) == sorted(("create_snapshot", v) for v in volume_ids)
    shown = _show(client, created["id"]).json()["group_snapshot"]
    assert set(shown) == {"id", "group_id", "group_type_id", "status", "created_at", "name",
                          "description"}
    assert (shown["status"], shown["group_id"]) == ("creating", group)
    with session_factory() as session:
        members = list(session.scalars(select(Snapshot)))
    assert {m.group_snapshot_id for m in members} == {created["id"]}
    alone = client.delete(url(f"snapshots/{members[0].id}"), headers=headers())
    assert alone.status_code == 400
    assert client.post(url(f"groups/{group}/action"), headers=headers(version=V),
                       json={"delete": {"delete-volumes": True}}).status_code == 400


def test_delete_takes_all_members_and_empty_groups_are_instant(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    group, _ = _group(client, session_factory, 2)
    created = _create(client, group)
    path = url(f"group_snapshots/{created['id']}")
    assert client.delete(path, headers=headers(version=V)).status_code == 400  # creating
    with session_factory() as session, session.begin():
        session.execute(update(Snapshot).values(status="available"))
    reset = {"reset_status": {"status": "available"}}
    assert client.post(f"{path}/action", headers=headers(version="3.18"), json=reset
                       ).status_code == 400
    assert client.post(f"{path}/action", headers=headers(version=V, roles="member"),
                       json=reset).status_code == 403
    assert client.post(f"{path}/action", headers=headers(version=V), json=reset
                       ).status_code == 202
    assert client.delete(path, headers=headers(version=V)).status_code == 202
    assert [m for _, m, _ in transport.casts[-2:]] == ["delete_snapshot", "delete_snapshot"]
    assert _show(client, created["id"]).json()["group_snapshot"]["status"] == "deleting"
    empty = _empty_group(client)
    instant = _create(client, empty)
    assert _show(client, instant["id"]).json()["group_snapshot"]["status"] == "available"
    assert client.delete(url(f"group_snapshots/{instant['id']}"),
                         headers=headers(version=V)).status_code == 202
    assert _show(client, instant["id"]).status_code == 404


def _empty_group(client: TestClient) -> str:
    return client.post(url("groups"), headers=headers(version=V), json={"group": {
        "group_type": "gt", "volume_types": ["__DEFAULT__"]}}).json()["group"]["id"]
