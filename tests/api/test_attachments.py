"""The attachments API (3.27+) on every test database, with a fake volume RPC client.

What Nova relies on: reserve, connect, complete and delete move the volume through
reserved -> attaching -> in-use -> available, connection_info carries the target and
CHAP credentials, a failing or silent agent leaves nothing half-attached, and of
racing attaches of a single-attach volume exactly one wins.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Volume, VolumeAttachment
from scheduler.events import ControllerEndpoint
from tests.api.attachment_fakes import (  # noqa: F401  (fixtures)
    CHAP,
    FakeVolumeRpc,
    placed_volume_fixture,
    rpc_fixture,
)
from tests.api.conftest import OTHER_PROJECT, create_volume, headers, place, sample, url

INSTANCE = "16e0f9fd-7dcd-4ea3-b07a-3d5e94c598be"
CONNECTOR = {"initiator": "iqn.1994-05.com.redhat:abc", "ip": "127.0.0.1", "host": "node2",
             "multipath": False, "platform": "x86_64", "os_type": "linux2"}
V = "3.54"


@pytest.fixture
def volume(placed_volume: dict[str, Any]) -> dict[str, Any]:
    return placed_volume


def _attach(client: TestClient, volume_id: str, version: str = V, **spec: Any):  # noqa: ANN202
    return client.post(url("attachments"), headers=headers(version=version),
                       json={"attachment": {"volume_uuid": volume_id,
                                            "instance_uuid": INSTANCE, **spec}})


def _status(client: TestClient, volume_id: str) -> str:
    return client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]["status"]


def _rows(sessions: sessionmaker[Session], volume_id: str) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(VolumeAttachment.attach_status)
                                    .where(VolumeAttachment.volume_id == volume_id)))


def test_reserve_connect_complete_detach(client: TestClient, rpc: FakeVolumeRpc,
                                         volume: dict[str, Any],
                                         session_factory: sessionmaker[Session]) -> None:
    reserved = _attach(client, volume["id"], connector=None)
    assert reserved.status_code == 200
    body = reserved.json()["attachment"]
    assert body.keys() == sample("47_attachment_create_reserve_mv_3.27.json")[
        "response"]["body"]["attachment"].keys()
    assert (body["status"], body["attach_mode"], body["connection_info"]) == (
        "reserved", "null", {})
    assert _status(client, volume["id"]) == "reserved"
    attachment_id = body["id"]

    updated = client.put(url(f"attachments/{attachment_id}"), headers=headers(version=V),
                         json={"attachment": {"connector": CONNECTOR}})
    assert updated.status_code == 200
    info = updated.json()["attachment"]["connection_info"]
    assert info["driver_volume_type"] == "iscsi" and info["attachment_id"] == attachment_id
    assert (info["auth_method"], info["auth_username"]) == ("CHAP", "fakeuser")
    assert info["target_portal"] == "10.0.2.15:3260" and info["access_mode"] == "rw"
    assert updated.json()["attachment"]["status"] == "attaching"
    assert _status(client, volume["id"]) == "attaching"
    assert rpc.exports == {volume["id"]: {CONNECTOR["initiator"]}}
    with session_factory() as session:
        row = session.get(Volume, volume["id"])
        assert row is not None and row.provider_auth == CHAP and row.provider_location

    completed = client.post(url(f"attachments/{attachment_id}/action"),
                            headers=headers(version="3.44"), json={"os-complete": None})
    assert completed.status_code == 204 and completed.content == b""
    shown = client.get(url(f"attachments/{attachment_id}"), headers=headers(version=V))
    assert shown.json()["attachment"]["status"] == "attached"
    assert shown.json()["attachment"]["attached_at"]
    volume_body = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert volume_body["status"] == "in-use"
    assert [(a["attachment_id"], a["server_id"], a["host_name"])
            for a in volume_body["attachments"]] == [(attachment_id, INSTANCE, "node2")]
    assert "provider_auth" not in str(volume_body)

    refused = client.delete(url(f"volumes/{volume['id']}"), headers=headers())
    assert refused.json() == sample("57_volume_delete_in-use_400.json")["response"]["body"]

    deleted = client.delete(url(f"attachments/{attachment_id}"), headers=headers(version=V))
    assert deleted.status_code == 200 and deleted.json() == {"attachments": []}
    assert rpc.calls[-1][:2] == ("terminate_connection", volume["id"])
    assert rpc.exports == {}
    assert _status(client, volume["id"]) == "available"
    assert _rows(session_factory, volume["id"]) == []
    gone = client.get(url(f"attachments/{attachment_id}"), headers=headers(version=V))
    assert gone.status_code == 404
    assert gone.json()["itemNotFound"]["message"] == (
        f"Volume attachment could not be found with filter: attachment_id = {attachment_id}.")


def test_create_with_connector_and_read_only_mode(client: TestClient, rpc: FakeVolumeRpc,
                                                  volume: dict[str, Any]) -> None:
    response = _attach(client, volume["id"], connector=CONNECTOR, mode="ro")
    assert response.status_code == 200
    body = response.json()["attachment"]
    assert (body["status"], body["attach_mode"]) == ("attaching", "ro")
    assert body["connection_info"]["access_mode"] == "ro"
    assert rpc.calls[-1][2]["mode"] == "ro"
    too_old = _attach(client, volume["id"], version="3.53", connector=CONNECTOR, mode="ro")
    assert too_old.status_code == 400 and "'mode' was unexpected" in too_old.text


def test_served_from_3_27_and_complete_from_3_44(client: TestClient, rpc: FakeVolumeRpc,
                                                 volume: dict[str, Any]) -> None:
    old = _attach(client, volume["id"], version="3.26")
    assert old.json() == sample("46_attachment_create_mv_3.26_404.json")["response"]["body"]
    attachment_id = _attach(client, volume["id"], version="3.27").json()["attachment"]["id"]
    early = client.post(url(f"attachments/{attachment_id}/action"),
                        headers=headers(version="3.43"), json={"os-complete": None})
    assert early.status_code == 404
    bogus = client.post(url(f"attachments/{attachment_id}/action"),
                        headers=headers(version=V), json={"os-bogus": None})
    assert bogus.status_code == 400


@pytest.mark.parametrize("connector", [{}, {"ip": "10.0.0.1"}, {"initiator": "not-iqn"},
                                       {"initiator": 5}, "iqn.x", {**CONNECTOR, "mode": "rx"}])
def test_bad_connector_is_400_and_reserves_nothing(client: TestClient, rpc: FakeVolumeRpc,
                                                   volume: dict[str, Any],
                                                   connector: Any) -> None:
    response = _attach(client, volume["id"], connector=connector)
    assert response.status_code == 400
    if connector:
        assert "initiator" in response.json()["badRequest"]["message"] or \
            "mode" in response.json()["badRequest"]["message"]
    assert _status(client, volume["id"]) == "available"
    assert rpc.calls == []


def test_bad_bodies_are_400(client: TestClient, rpc: FakeVolumeRpc,
                            volume: dict[str, Any]) -> None:
    for body in ({}, {"attachment": {}}, {"attachment": {"volume_uuid": "nope"}},
                 {"attachment": {"volume_uuid": volume["id"], "instance_uuid": "x"}},
                 {"attachment": {"volume_uuid": volume["id"], "bogus": 1}}):
        response = client.post(url("attachments"), headers=headers(version=V), json=body)
        assert response.status_code == 400, body
    attachment_id = _attach(client, volume["id"]).json()["attachment"]["id"]
    for body in ({"attachment": {}}, {"attachment": {"connector": {}}}, {"connector": {}}):
        response = client.put(url(f"attachments/{attachment_id}"),
                              headers=headers(version=V), json=body)
        assert response.status_code == 400, body
    missing = _attach(client, "a6b3c509-60c0-4645-833d-2efdf7d8e1cd")
    assert missing.status_code == 404


def test_silent_agent_rolls_back_create(client: TestClient, rpc: FakeVolumeRpc,
                                        volume: dict[str, Any],
                                        session_factory: sessionmaker[Session]) -> None:
    rpc.fail = "timeout"
    response = _attach(client, volume["id"], connector=CONNECTOR)
    assert response.status_code == 503
    assert "did not answer in time" in response.json()["serviceUnavailable"]["message"]
    assert _status(client, volume["id"]) == "available"
    assert _rows(session_factory, volume["id"]) == []
    assert rpc.revoked == [(volume["id"], CONNECTOR["initiator"])]
    rpc.fail = None
    assert _attach(client, volume["id"], connector=CONNECTOR).status_code == 200


def test_failing_agent_on_update_leaves_error_attachment(
        client: TestClient, rpc: FakeVolumeRpc, volume: dict[str, Any],
        session_factory: sessionmaker[Session]) -> None:
    attachment_id = _attach(client, volume["id"]).json()["attachment"]["id"]
    rpc.fail = "remote"
    response = client.put(url(f"attachments/{attachment_id}"), headers=headers(version=V),
                          json={"attachment": {"connector": CONNECTOR}})
    assert response.status_code == 500
    assert "export volume failed (fake)" in response.json()["computeFault"]["message"]
    assert _status(client, volume["id"]) == "available"
    assert _rows(session_factory, volume["id"]) == ["error_attaching"]
    assert client.delete(url(f"volumes/{volume['id']}"), headers=headers()).status_code == 400
    rpc.fail = None
    assert client.delete(url(f"attachments/{attachment_id}"),
                         headers=headers(version=V)).status_code == 200
    with session_factory() as session:
        assert session.scalar(select(Volume.attach_status).where(
            Volume.id == volume["id"])) == "detached"


def test_silent_agent_on_detach_keeps_volume_in_use(client: TestClient, rpc: FakeVolumeRpc,
                                                    volume: dict[str, Any]) -> None:
    attachment_id = _attach(client, volume["id"], connector=CONNECTOR).json()["attachment"]["id"]
    client.post(url(f"attachments/{attachment_id}/action"), headers=headers(version=V),
                json={"os-complete": None})
    rpc.fail = "timeout"
    response = client.delete(url(f"attachments/{attachment_id}"), headers=headers(version=V))
    assert response.status_code == 503
    assert _status(client, volume["id"]) == "in-use"
    rpc.fail = None
    assert client.delete(url(f"attachments/{attachment_id}"),
                         headers=headers(version=V)).status_code == 200
    assert _status(client, volume["id"]) == "available"


def test_concurrent_attaches_of_single_attach_volume_one_wins(
        client: TestClient, rpc: FakeVolumeRpc, volume: dict[str, Any],
        session_factory: sessionmaker[Session]) -> None:
    def attach(i: int) -> int:
        connector = {**CONNECTOR, "initiator": f"iqn.2026-01.test:host{i}"}
        return _attach(client, volume["id"], connector=connector).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(attach, range(8)))
    assert statuses == [200] + [400] * 7
    assert _rows(session_factory, volume["id"]) == ["attaching"]
    assert _status(client, volume["id"]) == "attaching"
    assert len(rpc.exports[volume["id"]]) == 1


def test_multiattach_type_allows_two_and_keeps_export_until_last(
        client: TestClient, rpc: FakeVolumeRpc,
        session_factory: sessionmaker[Session]) -> None:
    kind = client.post(url("types"), headers=headers(),
                       json={"volume_type": {"name": "multi", "extra_specs": {
                           "multiattach": "<is> True"}}})
    assert kind.status_code == 200, kind.text
    created = create_volume(client, volume_type="multi")
    place(session_factory, created["id"])
    ids = []
    for host in ("a", "b"):
        connector = {**CONNECTOR, "initiator": f"iqn.2026-01.test:{host}", "host": host}
        response = _attach(client, created["id"], connector=connector)
        assert response.status_code == 200, response.text
        ids.append(response.json()["attachment"]["id"])
        client.post(url(f"attachments/{ids[-1]}/action"), headers=headers(version=V),
                    json={"os-complete": None})
    assert _status(client, created["id"]) == "in-use"
    assert rpc.exports[created["id"]] == {"iqn.2026-01.test:a", "iqn.2026-01.test:b"}
    left = client.delete(url(f"attachments/{ids[0]}"), headers=headers(version=V)).json()
    assert [a["id"] for a in left["attachments"]] == [ids[1]]
    assert _status(client, created["id"]) == "in-use"
    client.delete(url(f"attachments/{ids[1]}"), headers=headers(version=V))
    assert _status(client, created["id"]) == "available" and rpc.exports == {}


def test_single_attach_volume_refuses_second_reserve(client: TestClient, rpc: FakeVolumeRpc,
                                                     volume: dict[str, Any]) -> None:
    assert _attach(client, volume["id"]).status_code == 200
    second = client.post(url("attachments"), headers=headers(version=V), json={
        "attachment": {"volume_uuid": volume["id"],
                       "instance_uuid": "0b7f4a36-4a2f-4d8e-9f0c-6a0d0c5a7e11"}})
    assert second.status_code == 400
    assert "status must be available to reserve" in second.json()["badRequest"]["message"]
    refused = client.delete(url(f"volumes/{volume['id']}"), headers=headers())
    assert refused.status_code == 400


def test_lists_filters_and_projects(client: TestClient, rpc: FakeVolumeRpc,
                                    volume: dict[str, Any],
                                    session_factory: sessionmaker[Session]) -> None:
    mine = _attach(client, volume["id"], connector=CONNECTOR).json()["attachment"]
    theirs_volume = create_volume(client, OTHER_PROJECT)
    place(session_factory, theirs_volume["id"])
    theirs = client.post(url("attachments", OTHER_PROJECT),
                         headers=headers(OTHER_PROJECT, version=V),
                         json={"attachment": {"volume_uuid": theirs_volume["id"]}})
    assert theirs.status_code == 200
    theirs_id = theirs.json()["attachment"]["id"]
    brief = client.get(url("attachments"), headers=headers(version=V)).json()["attachments"]
    assert brief == [{"id": mine["id"], "status": "attaching", "instance": INSTANCE,
                      "volume_id": volume["id"]}]
    detail = client.get(url("attachments/detail"), headers=headers(version=V)).json()
    assert detail["attachments"][0]["connection_info"]["auth_method"] == "CHAP"
    everyone = client.get(url("attachments?all_tenants=1"), headers=headers(version=V)).json()
    assert {a["id"] for a in everyone["attachments"]} == {mine["id"], theirs_id}
    filtered = client.get(url("attachments?status=reserved&all_tenants=1"),
                          headers=headers(version=V)).json()
    assert [a["id"] for a in filtered["attachments"]] == [theirs_id]
    member = headers(OTHER_PROJECT, version=V, roles="member")
    assert client.get(url(f"attachments/{mine['id']}", OTHER_PROJECT),
                      headers=member).status_code == 404
    assert client.delete(url(f"attachments/{mine['id']}", OTHER_PROJECT),
                         headers=member).status_code == 404
    own = client.get(url("attachments?all_tenants=1", OTHER_PROJECT), headers=member).json()
    assert [a["id"] for a in own["attachments"]] == [theirs_id]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(VolumeAttachment)) == 2


def test_exports_recorded_for_agent_restart(client: TestClient, rpc: FakeVolumeRpc,
                                            volume: dict[str, Any], api_conf: Any,
                                            session_factory: sessionmaker[Session]) -> None:
    """A restarted agent asks the controller what to export: attachments made here must
    answer with the initiator and the CHAP credentials the agent first made."""
    controller = ControllerEndpoint(session_factory, None, api_conf)  # type: ignore[arg-type]
    attachment_id = _attach(client, volume["id"], connector=CONNECTOR).json()["attachment"]["id"]
    [export] = controller.exports_for_host("node2@lvm")
    assert export["initiators"] == [CONNECTOR["initiator"]]
    assert export["volume"]["provider_auth"] == CHAP
    client.delete(url(f"attachments/{attachment_id}"), headers=headers(version=V))
    assert controller.exports_for_host("node2@lvm") == []


def test_unplaced_or_failed_volume_is_not_attached(client: TestClient, rpc: FakeVolumeRpc,
                                                   session_factory: sessionmaker[Session]
                                                   ) -> None:
    unplaced = create_volume(client)
    assert _attach(client, unplaced["id"], connector=CONNECTOR).status_code == 400
    failed = create_volume(client)
    place(session_factory, failed["id"], status="error")
    response = _attach(client, failed["id"])
    assert response.status_code == 400 and "error state" in response.text
    assert rpc.calls == []


def test_attachment_deleted_while_connecting_is_unexported(
        client: TestClient, rpc: FakeVolumeRpc, volume: dict[str, Any],
        session_factory: sessionmaker[Session]) -> None:
    """Another request may write while the agent works (no transaction is held open
    across the call, which on SQLite would lock the database); if it removed the
    attachment, the export just made is taken back and the caller gets a 409."""
    attachment_id = _attach(client, volume["id"]).json()["attachment"]["id"]

    def delete_meanwhile() -> None:
        with session_factory() as session:
            session.execute(delete(VolumeAttachment).where(VolumeAttachment.id == attachment_id))
            session.commit()

    rpc.meanwhile = delete_meanwhile
    response = client.put(url(f"attachments/{attachment_id}"), headers=headers(version=V),
                          json={"attachment": {"connector": CONNECTOR}})
    assert response.status_code == 409
    assert [call[0] for call in rpc.calls] == ["initialize_connection", "terminate_connection"]
    assert rpc.exports == {}


def test_lists_sort_and_page_with_a_marker(client: TestClient, rpc: FakeVolumeRpc,
                                           session_factory: sessionmaker[Session]) -> None:
    """marker, sort_key/sort_dir and sort work as on Cinder's other lists; no page
    repeats or skips an attachment."""
    volume_ids = []
    for _ in range(3):
        created = create_volume(client)
        place(session_factory, created["id"])
        volume_ids.append(created["id"])
        assert _attach(client, created["id"]).status_code == 200
    theirs_volume = create_volume(client, OTHER_PROJECT)
    place(session_factory, theirs_volume["id"])
    theirs = client.post(url("attachments", OTHER_PROJECT),
                         headers=headers(OTHER_PROJECT, version=V),
                         json={"attachment": {"volume_uuid": theirs_volume["id"]}})

    def listed(query: str, path: str = "attachments") -> list[dict[str, Any]]:
        response = client.get(url(f"{path}?{query}"), headers=headers(version=V))
        assert response.status_code == 200, response.text
        return response.json()["attachments"]

    by_volume = [a["id"] for a in listed("sort=volume_id:asc")]
    assert [a["volume_id"] for a in listed("sort=volume_id:asc")] == sorted(volume_ids)
    assert [a["id"] for a in listed("sort_key=volume_id&sort_dir=desc")] == by_volume[::-1]
    pages, marker = [], None
    while True:
        page = listed("sort=volume_id:asc&limit=1" + (f"&marker={marker}" if marker else ""),
                      "attachments/detail")
        if not page:
            break
        pages.append(page[0]["id"])
        marker = page[0]["id"]
    assert pages == by_volume
    assert [a["id"] for a in listed(f"sort_key=volume_id&sort_dir=asc&marker={by_volume[0]}")
            ] == by_volume[1:]

    def refused(query: str) -> dict[str, Any]:
        return client.get(url(f"attachments?{query}"), headers=headers(version=V)).json()
    assert "cannot be used with the 'sort' parameter" in refused(
        "sort=id&sort_key=id")["badRequest"]["message"]
    assert "Invalid sort key" in refused("sort=connector")["badRequest"]["message"]
    assert "Unknown sort direction" in refused("sort=id:up")["badRequest"]["message"]
    # Another project's attachment is no marker for this one.
    assert refused(f"marker={theirs.json()['attachment']['id']}")["itemNotFound"]["code"] == 404
