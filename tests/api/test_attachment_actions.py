"""The legacy attach and detach actions, on every test database, with a fake volume RPC.

Nova's old sequence must move the volume as Cinder's does (available -> attaching ->
in-use -> detaching -> available) through the same attachment rows the attachments
API uses, and a failing agent must put the volume back where it was.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import VolumeAttachment
from tests.api.attachment_fakes import FakeVolumeRpc, placed_volume_fixture, rpc_fixture  # noqa: F401
from tests.api.conftest import create_volume, headers, place, sample, url

INSTANCE = "16e0f9fd-7dcd-4ea3-b07a-3d5e94c598be"
SECOND_INSTANCE = "5c0fd0a4-2b9e-4a61-9d0e-8f6f2a1c7b33"
CONNECTOR = {"initiator": "iqn.1994-05.com.redhat:abc", "ip": "127.0.0.1", "host": "node2",
             "multipath": False, "platform": "x86_64", "os_type": "linux2"}


@pytest.fixture
def volume_id(placed_volume: dict[str, Any]) -> str:
    return placed_volume["id"]


def _act(client: TestClient, volume_id: str, body: Any, **kw: Any):  # noqa: ANN202
    return client.post(url(f"volumes/{volume_id}/action"), headers=headers(**kw), json=body)


def _volume(client: TestClient, volume_id: str) -> dict[str, Any]:
    return client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]


def _rows(sessions: sessionmaker[Session], volume_id: str) -> list[tuple[str, bool]]:
    with sessions() as session:
        return [(row.attach_status, row.connector is not None) for row in session.scalars(
            select(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id))]


def test_nova_legacy_attach_and_detach(client: TestClient, rpc: FakeVolumeRpc,
                                       volume_id: str,
                                       session_factory: sessionmaker[Session]) -> None:
    assert _act(client, volume_id, {"os-reserve": None}).status_code == 202
    assert _volume(client, volume_id)["status"] == "attaching"
    response = _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert response.status_code == 200
    info = response.json()["connection_info"]
    assert info.keys() == sample("41_action_os-initialize_connection.json")[
        "response"]["body"]["connection_info"].keys()
    assert info["driver_volume_type"] == "iscsi"
    assert (info["data"]["target_lun"], info["data"]["auth_method"]) == (0, "CHAP")
    assert rpc.exports == {volume_id: {CONNECTOR["initiator"]}}
    attached = _act(client, volume_id, {"os-attach": {
        "instance_uuid": INSTANCE, "mountpoint": "/dev/vdb", "mode": "rw"}})
    assert attached.status_code == 202
    body = _volume(client, volume_id)
    assert body["status"] == "in-use"
    [attachment] = body["attachments"]
    assert (attachment["server_id"], attachment["device"]) == (INSTANCE, "/dev/vdb")
    assert client.delete(url(f"volumes/{volume_id}"), headers=headers()).status_code == 400

    assert _act(client, volume_id, {"os-begin_detaching": None}).status_code == 202
    assert _volume(client, volume_id)["status"] == "detaching"
    assert _act(client, volume_id, {"os-terminate_connection": {"connector": CONNECTOR}}
                ).status_code == 202
    assert rpc.exports == {}
    assert _rows(session_factory, volume_id) == [("attached", False)]
    assert _act(client, volume_id, {"os-detach": {"attachment_id": attachment["attachment_id"]}}
                ).status_code == 202
    assert _volume(client, volume_id)["status"] == "available"
    assert _rows(session_factory, volume_id) == []
    assert [call[0] for call in rpc.calls] == ["initialize_connection", "terminate_connection"]
    assert client.delete(url(f"volumes/{volume_id}"), headers=headers()).status_code == 202


def test_detach_without_terminate_still_unexports(client: TestClient, rpc: FakeVolumeRpc,
                                                  volume_id: str) -> None:
    _act(client, volume_id, {"os-reserve": None})
    _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    _act(client, volume_id, {"os-attach": {"host_name": "node2", "mountpoint": "/dev/sdb"}})
    assert _act(client, volume_id, {"os-detach": {}}).status_code == 202
    assert rpc.exports == {} and _volume(client, volume_id)["status"] == "available"


def test_connector_is_required_and_checked(client: TestClient, rpc: FakeVolumeRpc,
                                          volume_id: str) -> None:
    missing = _act(client, volume_id, {"os-initialize_connection": {}})
    assert missing.json() == sample("43_action_os-initialize_connection_no_connector_400.json")[
        "response"]["body"]
    no_initiator = _act(client, volume_id, {"os-initialize_connection": {
        "connector": {"ip": "127.0.0.1", "host": "node2"}}})
    assert no_initiator.status_code == 400
    assert "initiator" in no_initiator.json()["badRequest"]["message"]
    assert rpc.calls == []


def test_reserve_twice_is_refused_and_unreserve_releases(client: TestClient,
                                                         rpc: FakeVolumeRpc,
                                                         volume_id: str,
                                                         session_factory: sessionmaker[Session]
                                                         ) -> None:
    assert _act(client, volume_id, {"os-reserve": {}}).status_code == 202
    again = _act(client, volume_id, {"os-reserve": {}})
    assert again.status_code == 400
    assert _act(client, volume_id, {"os-unreserve": {}}).status_code == 202
    assert _volume(client, volume_id)["status"] == "available"
    assert _rows(session_factory, volume_id) == []
    assert _act(client, volume_id, {"os-unreserve": {}}).status_code == 202


def test_concurrent_reserves_one_wins(client: TestClient, rpc: FakeVolumeRpc,
                                      volume_id: str,
                                      session_factory: sessionmaker[Session]) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(
            lambda _: _act(client, volume_id, {"os-reserve": None}).status_code, range(6)))
    assert statuses == [202] + [400] * 5
    assert _rows(session_factory, volume_id) == [("reserved", False)]


def test_silent_agent_on_initialize_rolls_back(client: TestClient, rpc: FakeVolumeRpc,
                                               volume_id: str,
                                               session_factory: sessionmaker[Session]) -> None:
    _act(client, volume_id, {"os-reserve": None})
    rpc.fail = "timeout"
    response = _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert response.status_code == 503
    assert _volume(client, volume_id)["status"] == "available"
    assert _rows(session_factory, volume_id) == []
    rpc.fail = "remote"
    failed = _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert failed.status_code == 500
    assert _volume(client, volume_id)["status"] == "available"
    assert _rows(session_factory, volume_id) == []


def test_begin_and_roll_detaching(client: TestClient, rpc: FakeVolumeRpc,
                                  volume_id: str) -> None:
    refused = _act(client, volume_id, {"os-begin_detaching": None})
    assert refused.status_code == 400
    _act(client, volume_id, {"os-attach": {"instance_uuid": INSTANCE, "mountpoint": "/dev/vdb"}})
    assert _volume(client, volume_id)["status"] == "in-use"
    _act(client, volume_id, {"os-begin_detaching": None})
    assert _act(client, volume_id, {"os-roll_detaching": None}).status_code == 202
    assert _volume(client, volume_id)["status"] == "in-use"


def test_read_only_volume_attaches_only_read_only(client: TestClient, rpc: FakeVolumeRpc,
                                                  volume_id: str) -> None:
    _act(client, volume_id, {"os-update_readonly_flag": {"readonly": True}})
    refused = _act(client, volume_id, {"os-attach": {
        "instance_uuid": INSTANCE, "mountpoint": "/dev/vdb", "mode": "rw"}})
    assert refused.status_code == 400
    response = _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    assert response.json()["connection_info"]["data"]["access_mode"] == "ro"


def test_force_detach_is_admin_only(client: TestClient, rpc: FakeVolumeRpc,
                                    volume_id: str) -> None:
    _act(client, volume_id, {"os-reserve": None})
    _act(client, volume_id, {"os-initialize_connection": {"connector": CONNECTOR}})
    _act(client, volume_id, {"os-attach": {"instance_uuid": INSTANCE, "mountpoint": "/dev/vdb"}})
    denied = _act(client, volume_id, {"os-force_detach": {}}, roles="member")
    assert denied.status_code == 403
    assert _act(client, volume_id, {"os-force_detach": {}}).status_code == 202
    assert rpc.exports == {} and _volume(client, volume_id)["status"] == "available"
    unknown = _act(client, volume_id, {"os-detach": {
        "attachment_id": "a6b3c509-60c0-4645-833d-2efdf7d8e1cd"}})
    assert unknown.status_code == 404


def test_terminate_keeps_the_access_another_instance_of_the_host_uses(
        client: TestClient, rpc: FakeVolumeRpc, session_factory: sessionmaker[Session]) -> None:
    """Two instances of one compute host on a multiattach volume share its initiator:
    the first one's os-terminate_connection must not cut the second one off."""
    kind = client.post(url("types"), headers=headers(), json={"volume_type": {
        "name": "multi", "extra_specs": {"multiattach": "<is> True"}}})
    assert kind.status_code == 200, kind.text
    volume_id = create_volume(client, volume_type="multi")["id"]
    place(session_factory, volume_id)
    for instance in (INSTANCE, SECOND_INSTANCE):
        assert _act(client, volume_id, {"os-reserve": None}).status_code == 202
        assert _act(client, volume_id, {"os-initialize_connection": {
            "connector": CONNECTOR}}).status_code == 200
        assert _act(client, volume_id, {"os-attach": {
            "instance_uuid": instance, "mountpoint": "/dev/vdb"}}).status_code == 202
    assert _rows(session_factory, volume_id) == [("attached", True)] * 2
    first, _ = (a["attachment_id"] for a in sorted(
        _volume(client, volume_id)["attachments"], key=lambda a: a["server_id"] != INSTANCE))

    assert _act(client, volume_id, {"os-begin_detaching": None}).status_code == 202
    assert _act(client, volume_id, {"os-terminate_connection": {"connector": CONNECTOR}}
                ).status_code == 202
    assert _act(client, volume_id, {"os-detach": {"attachment_id": first}}).status_code == 202
    assert rpc.exports == {volume_id: {CONNECTOR["initiator"]}}
    assert _volume(client, volume_id)["status"] == "in-use"
    assert _rows(session_factory, volume_id) == [("attached", True)]

    assert _act(client, volume_id, {"os-terminate_connection": {"connector": CONNECTOR}}
                ).status_code == 202
    assert rpc.exports == {}
    assert _act(client, volume_id, {"os-detach": {}}).status_code == 202
    assert _volume(client, volume_id)["status"] == "available"
