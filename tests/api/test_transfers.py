"""os-volume-transfer and volume-transfers (3.55/3.57): offer, accept with the key, quota."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import QuotaUsage, Snapshot, Transfer, Volume
from tests.api.conftest import OTHER_PROJECT, PROJECT, create_volume, headers, place, url

RECEIVER = headers(OTHER_PROJECT, roles="member", user="bob")


def _available(client: TestClient, sessions: sessionmaker[Session], size: int = 2
               ) -> dict[str, Any]:
    volume = create_volume(client, size=size)
    place(sessions, volume["id"])
    return volume


def _offer(client: TestClient, volume_id: str, collection: str = "os-volume-transfer",
           version: str | None = None, **spec: Any) -> dict[str, Any]:
    response = client.post(url(collection), headers=headers(version=version),
                           json={"transfer": {"volume_id": volume_id, "name": "t", **spec}})
    assert response.status_code == 202, response.text
    return response.json()["transfer"]


def _in_use(sessions: sessionmaker[Session], project: str, resource: str) -> int:
    with sessions() as session:
        return session.scalar(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == project, QuotaUsage.resource == resource)) or 0


def _volume(client: TestClient, volume_id: str, project: str = PROJECT) -> Any:
    """As a member of ``project`` (admins see every project's volumes)."""
    return client.get(url(f"volumes/{volume_id}", project),
                      headers=headers(project, roles="member"))


def test_offer_and_accept_move_volume_snapshots_and_quota(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _available(client, session_factory, size=2)
    snap = client.post(url("snapshots"), headers=headers(),
                       json={"snapshot": {"volume_id": volume["id"]}}).json()["snapshot"]
    with session_factory() as session, session.begin():
        session.get(Snapshot, snap["id"]).status = "available"
    offer = _offer(client, volume["id"])
    assert list(offer) == ["id", "created_at", "name", "volume_id", "auth_key", "links"]
    assert len(offer["auth_key"]) == 16
    with session_factory() as session:
        stored = session.get(Transfer, offer["id"])
        assert offer["auth_key"] not in (stored.crypt_hash, stored.salt)
    assert _volume(client, volume["id"]).json()["volume"]["status"] == "awaiting-transfer"
    assert client.delete(url(f"volumes/{volume['id']}"), headers=headers()).status_code == 400
    wrong = client.post(url(f"os-volume-transfer/{offer['id']}/accept", OTHER_PROJECT),
                        headers=RECEIVER, json={"accept": {"auth_key": "0" * 16}})
    assert wrong.status_code == 400
    assert wrong.json()["badRequest"]["message"] == (
        f"Invalid auth key: Attempt to transfer {offer['id']} with invalid auth key.")
    accepted = client.post(url(f"os-volume-transfer/{offer['id']}/accept", OTHER_PROJECT),
                           headers=RECEIVER, json={"accept": {"auth_key": offer["auth_key"]}})
    assert accepted.status_code == 202, accepted.text
    assert list(accepted.json()["transfer"]) == ["id", "name", "volume_id", "links"]
    assert _volume(client, volume["id"]).status_code == 404
    moved = _volume(client, volume["id"], OTHER_PROJECT).json()["volume"]
    assert (moved["status"], moved["user_id"]) == ("available", "bob")
    assert client.get(url(f"snapshots/{snap['id']}", OTHER_PROJECT),
                      headers=RECEIVER).status_code == 200
    for project, expected in ((PROJECT, 0), (OTHER_PROJECT, 1)):
        assert _in_use(session_factory, project, "volumes") == expected
        assert _in_use(session_factory, project, "snapshots") == expected
        assert _in_use(session_factory, project, "gigabytes") == 4 * expected
        assert _in_use(session_factory, project, "volumes___DEFAULT__") == expected
    assert client.get(url(f"os-volume-transfer/{offer['id']}"),
                      headers=headers()).status_code == 404


def test_accept_over_quota_is_413_and_changes_nothing(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _available(client, session_factory)
    offer = _offer(client, volume["id"])
    assert client.put(url(f"os-quota-sets/{OTHER_PROJECT}"), headers=headers(),
                      json={"quota_set": {"volumes": 0}}).status_code == 200
    refused = client.post(url(f"os-volume-transfer/{offer['id']}/accept", OTHER_PROJECT),
                          headers=RECEIVER, json={"accept": {"auth_key": offer["auth_key"]}})
    assert refused.status_code == 413
    assert _volume(client, volume["id"]).json()["volume"]["status"] == "awaiting-transfer"
    assert _in_use(session_factory, PROJECT, "volumes") == 1


def test_list_show_and_withdraw(client: TestClient,
                                session_factory: sessionmaker[Session]) -> None:
    volume = _available(client, session_factory)
    offer = _offer(client, volume["id"])
    listed = client.get(url("os-volume-transfer"), headers=headers()).json()
    assert [list(t) for t in listed["transfers"]] == [["id", "name", "volume_id", "links"]]
    detail = client.get(url("os-volume-transfer/detail"), headers=headers()).json()
    assert list(detail["transfers"][0]) == ["id", "created_at", "name", "volume_id", "links"]
    assert client.get(url("os-volume-transfer", OTHER_PROJECT), headers=RECEIVER
                      ).json() == {"transfers": []}
    assert client.get(url(f"os-volume-transfer/{offer['id']}", OTHER_PROJECT),
                      headers=RECEIVER).status_code == 404
    assert client.delete(url(f"os-volume-transfer/{offer['id']}"),
                         headers=headers()).status_code == 202
    assert _volume(client, volume["id"]).json()["volume"]["status"] == "available"
    busy = create_volume(client)
    refused = client.post(url("os-volume-transfer"), headers=headers(),
                          json={"transfer": {"volume_id": busy["id"]}})
    assert refused.json()["badRequest"]["message"] == "Invalid volume: status must be available"


def test_volume_transfers_from_3_55_with_no_snapshots_and_history(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _available(client, session_factory)
    assert client.get(url("volume-transfers"), headers=headers(version="3.54")
                      ).status_code == 404
    legacy = client.post(url("os-volume-transfer"), headers=headers(), json={
        "transfer": {"volume_id": volume["id"], "no_snapshots": True}})
    assert legacy.status_code == 400
    offer = _offer(client, volume["id"], "volume-transfers", "3.57", no_snapshots=True)
    assert offer["no_snapshots"] is True
    assert (offer["source_project_id"], offer["destination_project_id"], offer["accepted"]) \
        == (PROJECT, None, False)
    shown = client.get(url(f"volume-transfers/{offer['id']}"),
                       headers=headers(version="3.55")).json()["transfer"]
    assert "accepted" not in shown and shown["no_snapshots"] is True
    accepted = client.post(url(f"volume-transfers/{offer['id']}/accept", OTHER_PROJECT),
                           headers=headers(OTHER_PROJECT, roles="member", version="3.57"),
                           json={"accept": {"auth_key": offer["auth_key"]}})
    assert accepted.status_code == 202


def test_accepted_transfers_stay_as_history_that_no_list_shows(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    """As in Cinder, whose accepted transfers are soft-deleted rows with ``accepted`` and
    ``destination_project_id`` set: kept, but found by no list, show or accept."""
    volume = _available(client, session_factory)
    offer = _offer(client, volume["id"], "volume-transfers", "3.57")
    # Keys of Cinder's api-ref samples volume_transfers/v3.57/volume-transfers-*.json.
    assert set(offer) == {"accepted", "auth_key", "created_at", "destination_project_id", "id",
                          "links", "name", "no_snapshots", "source_project_id", "volume_id"}
    path = url(f"volume-transfers/{offer['id']}")
    shown = client.get(path, headers=headers(version="3.57")).json()["transfer"]
    assert set(shown) == set(offer) - {"auth_key"}
    accept = {"accept": {"auth_key": offer["auth_key"]}}
    receiver = headers(OTHER_PROJECT, roles="member", version="3.57")
    assert client.post(url(f"volume-transfers/{offer['id']}/accept", OTHER_PROJECT),
                       headers=receiver, json=accept).status_code == 202
    with session_factory() as session:
        kept = session.get(Transfer, offer["id"])
        assert (kept.accepted, kept.project_id, kept.destination_project_id) == \
            (True, PROJECT, OTHER_PROJECT)
    again = client.post(url(f"volume-transfers/{offer['id']}/accept", OTHER_PROJECT),
                        headers=receiver, json=accept)
    assert again.json()["itemNotFound"]["message"] == \
        f"Transfer {offer['id']} could not be found."
    for project, caller in ((PROJECT, headers(version="3.57")), (OTHER_PROJECT, receiver)):
        for listing in ("volume-transfers", "volume-transfers/detail"):
            assert client.get(url(f"{listing}?all_tenants=1", project), headers=caller
                              ).json()["transfers"] == []
    assert client.get(path, headers=headers(version="3.57")).status_code == 404
    assert client.delete(path, headers=headers(version="3.57")).status_code == 404

    back = client.post(url("volume-transfers", OTHER_PROJECT), headers=receiver,
                       json={"transfer": {"volume_id": volume["id"]}}).json()["transfer"]
    assert (back["source_project_id"], back["accepted"]) == (OTHER_PROJECT, False)
    assert [t["id"] for t in client.get(url("volume-transfers", OTHER_PROJECT),
                                        headers=receiver).json()["transfers"]] == [back["id"]]
    assert client.delete(url(f"volume-transfers/{back['id']}", OTHER_PROJECT),
                         headers=receiver).status_code == 202
    with session_factory() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == volume["id"]).values(host=None))
    assert client.delete(url(f"volumes/{volume['id']}", OTHER_PROJECT),
                         headers=receiver).status_code == 202
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Transfer)) == 0
