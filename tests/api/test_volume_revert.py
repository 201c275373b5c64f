"""POST /volumes/{id}/action {"revert": ...} (3.40): Cinder's checks, statuses and cast."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Snapshot, Volume, utcnow
from tests.api.conftest import RecordingFakeTransport, create_volume, headers, place, url

V340 = "3.40"


def _snapshot(client: TestClient, sessions: sessionmaker[Session], volume_id: str,
              age: int = 0) -> str:
    """An available snapshot, ``age`` seconds old (so "latest" is unambiguous)."""
    response = client.post(url("snapshots"), headers=headers(),
                           json={"snapshot": {"volume_id": volume_id}})
    assert response.status_code == 202, response.text
    snapshot_id = response.json()["snapshot"]["id"]
    with sessions() as session, session.begin():
        session.execute(update(Snapshot).where(Snapshot.id == snapshot_id).values(
            status="available", created_at=utcnow() - timedelta(seconds=age)))
    return snapshot_id


def _revert(client: TestClient, volume_id: str, body: object, version: str = V340):  # noqa: ANN202
    return client.post(url(f"volumes/{volume_id}/action"), headers=headers(version=version),
                       json=body)


def _statuses(sessions: sessionmaker[Session], volume_id: str, snapshot_id: str
              ) -> tuple[str, str]:
    with sessions() as session:
        return (session.get(Volume, volume_id).status, session.get(Snapshot, snapshot_id).status)


def _volume_with_snapshots(client: TestClient, sessions: sessionmaker[Session]
                           ) -> tuple[str, str, str]:
    volume = create_volume(client, size=2)
    place(sessions, volume["id"])
    older = _snapshot(client, sessions, volume["id"], age=60)
    latest = _snapshot(client, sessions, volume["id"])
    return volume["id"], older, latest


def test_revert_to_latest_marks_both_and_casts_the_agent(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume_id, _, latest = _volume_with_snapshots(client, session_factory)
    response = _revert(client, volume_id, {"revert": {"snapshot_id": latest}})
    assert response.status_code == 202 and response.content == b""
    assert _statuses(session_factory, volume_id, latest) == ("reverting", "restoring")
    target, method, args = transport.casts[-1]
    assert (target, method) == ("volume.node2@lvm", "revert_to_snapshot")
    assert args["volume"]["id"] == volume_id and args["snapshot"] == {
        "id": latest, "volume_id": volume_id, "volume_size": 2, "host": "node2@lvm#lvm"}
    again = _revert(client, volume_id, {"revert": {"snapshot_id": latest}})
    assert again.status_code == 409
    assert again.json()["conflictingRequest"]["message"] == (
        f"Invalid volume: Can't revert volume {volume_id} to its latest snapshot {latest}. "
        "Volume's status must be 'available'.")


def test_only_the_latest_snapshot_of_the_same_size(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume_id, older, latest = _volume_with_snapshots(client, session_factory)
    response = _revert(client, volume_id, {"revert": {"snapshot_id": older}})
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == (
        f"Specified snapshot {older} is None or not the latest one of volume {volume_id}.")
    assert _revert(client, volume_id, {"revert": {}}).status_code == 400
    assert _revert(client, volume_id, {"revert": "x"}).status_code == 400
    with session_factory() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == volume_id).values(size=3))
    bigger = _revert(client, volume_id, {"revert": {"snapshot_id": latest}})
    assert bigger.status_code == 400
    assert "The volume size must be equal to the snapshot size." in bigger.text
    assert _statuses(session_factory, volume_id, latest) == ("available", "available")


def test_without_snapshots_or_before_340_is_400(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"])
    none = _revert(client, volume["id"], {"revert": {"snapshot_id": volume["id"]}})
    assert none.status_code == 400
    assert none.json()["badRequest"]["message"] == (
        f"Volume {volume['id']} doesn't have any snapshots.")
    old = _revert(client, volume["id"], {"revert": {"snapshot_id": volume["id"]}}, "3.39")
    assert old.status_code == 400 and "There is no such action: revert" in old.text


def test_busy_snapshot_is_409_and_the_volume_stays_available(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume_id, _, latest = _volume_with_snapshots(client, session_factory)
    with session_factory() as session, session.begin():
        session.execute(update(Snapshot).where(Snapshot.id == latest).values(
            status="backing-up"))
    response = _revert(client, volume_id, {"revert": {"snapshot_id": latest}})
    assert response.status_code == 409
    assert response.json()["conflictingRequest"]["message"].startswith("Invalid snapshot: ")
    assert _statuses(session_factory, volume_id, latest) == ("available", "backing-up")


def test_lost_broker_undoes_both_statuses(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume_id, _, latest = _volume_with_snapshots(client, session_factory)
    transport.fail = True
    response = _revert(client, volume_id, {"revert": {"snapshot_id": latest}})
    assert response.status_code == 503
    assert _statuses(session_factory, volume_id, latest) == ("available", "available")
