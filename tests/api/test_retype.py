"""os-retype: in place when the backend still fits; a move to another backend only
with migration_policy on-demand (the migration itself: tests/api/test_migration.py)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Pool, QuotaUsage, Snapshot, VolumeType
from tests.api.conftest import PROJECT, create_volume, headers, place, url


def _type(client: TestClient, name: str, **specs: str) -> str:
    response = client.post(url("types"), headers=headers(),
                           json={"volume_type": {"name": name, "extra_specs": specs}})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]["id"]


def _setup(client: TestClient, sessions: sessionmaker[Session]) -> dict:
    with sessions() as session, session.begin():
        session.add(Pool(host="node2@lvm#lvm", capabilities={"volume_backend_name": "lvm"}))
    volume = create_volume(client, size=2)
    place(sessions, volume["id"], host="node2@lvm#lvm")
    return volume


def _retype(client: TestClient, volume_id: str, new_type: str, **extra: str):  # noqa: ANN202
    return client.post(url(f"volumes/{volume_id}/action"), headers=headers(),
                       json={"os-retype": {"new_type": new_type, **extra}})


def _in_use(sessions: sessionmaker[Session], resource: str) -> int:
    with sessions() as session:
        return session.scalar(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == resource)) or 0


def test_retype_on_the_same_backend_moves_type_and_quota(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _setup(client, session_factory)
    with session_factory() as session, session.begin():
        default_id = session.scalar(select(VolumeType.id)
                                    .where(VolumeType.name == "__DEFAULT__"))
        session.add(Snapshot(project_id=PROJECT, volume_id=volume["id"], status="available",
                             volume_size=2, volume_type_id=default_id))
    same_id = _type(client, "same", volume_backend_name="lvm")
    response = _retype(client, volume["id"], "same")
    assert response.status_code == 202, response.text
    shown = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert (shown["volume_type"], shown["status"]) == ("same", "available")
    assert _in_use(session_factory, "volumes_same") == 1
    assert _in_use(session_factory, "gigabytes_same") == 4  # the volume and its snapshot
    assert _in_use(session_factory, "snapshots_same") == 1
    assert _in_use(session_factory, "gigabytes___DEFAULT__") == 0
    with session_factory() as session:
        assert session.scalar(select(Snapshot.volume_type_id)) == same_id
    again = _retype(client, volume["id"], "same")
    assert again.status_code == 400 and "has to be different" in again.text


def test_retype_needing_another_backend_is_refused_without_on_demand(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _setup(client, session_factory)
    _type(client, "elsewhere", volume_backend_name="ceph")
    never = _retype(client, volume["id"], "elsewhere")
    assert never.status_code == 400
    assert never.json()["badRequest"]["message"] == (
        "Invalid input received: Retype requires migration but is not allowed.")
    shown = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert shown["volume_type"] == "__DEFAULT__"


def test_retype_input_errors(client: TestClient,
                             session_factory: sessionmaker[Session]) -> None:
    volume = _setup(client, session_factory)
    assert _retype(client, volume["id"], "missing").json()["badRequest"]["message"] == (
        "Invalid input received: Invalid volume_type passed: missing.")
    _type(client, "ok")
    assert _retype(client, volume["id"], "ok", migration_policy="sometimes"
                   ).status_code == 400
    bare = client.post(url(f"volumes/{volume['id']}/action"), headers=headers(),
                       json={"os-retype": {}})
    assert bare.status_code == 400


def test_retype_into_an_encrypted_type_is_refused_as_create_is(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _setup(client, session_factory)
    encrypted = _type(client, "encrypted", volume_backend_name="lvm")
    assert client.post(url(f"types/{encrypted}/encryption"), headers=headers(), json={
        "encryption": {"provider": "luks", "control_location": "front-end"}}
    ).status_code == 200
    refused = _retype(client, volume["id"], "encrypted")
    assert refused.status_code == 400, refused.text
    created = client.post(url("volumes"), headers=headers(),
                          json={"volume": {"size": 1, "volume_type": "encrypted"}})
    assert refused.json() == created.json()
    assert "no key manager" in refused.json()["badRequest"]["message"]
    shown = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert shown["volume_type"] == "__DEFAULT__"
    assert _in_use(session_factory, "volumes_encrypted") == 0
