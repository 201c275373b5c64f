"""POST /volumes/{id}/action: extend, flags, and the admin actions."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.agent_messages import PendingExtend, pending_extend
from db.models import QuotaUsage, Volume, VolumeAdminMetadata
from tests.api.conftest import (
    PROJECT,
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    sample,
    url,
)


def _act(client: TestClient, volume_id: str, body: object, **kw: str):  # noqa: ANN202
    return client.post(url(f"volumes/{volume_id}/action"), headers=headers(**kw), json=body)


def _show(client: TestClient, volume_id: str) -> dict:
    return client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]


def test_extend_reserves_quota_and_casts_agent(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, size=1)
    place(session_factory, volume["id"], host="node2@lvm#lvm")
    response = _act(client, volume["id"], {"os-extend": {"new_size": 3}})
    assert response.status_code == 202 and response.content == b""
    target, method, args = transport.casts[-1]
    assert (target, method) == ("volume.node2@lvm", "extend_volume")
    assert args["new_size"] == 3 and len(args["reservations"]) == 2
    assert _show(client, volume["id"])["status"] == "extending"
    with session_factory() as session:
        gigabytes = session.scalars(select(QuotaUsage).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == "gigabytes")).one()
        assert (gigabytes.in_use, gigabytes.reserved) == (1, 2)
        # What the sweeper needs to send the extend again if the agent loses it.
        row = session.get(Volume, volume["id"])
        assert row is not None
        assert pending_extend(row) == PendingExtend(3, args["reservations"])
    busy = _act(client, volume["id"], {"os-extend": {"new_size": 4}})
    assert busy.status_code == 400


def test_extend_to_smaller_size_is_cinders_400(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, size=2)
    place(session_factory, volume["id"])
    response = _act(client, volume["id"], {"os-extend": {"new_size": 1}})
    assert response.json() == sample("36_action_os-extend_smaller_400.json")[
        "response"]["body"]
    for bad in ({"os-extend": {}}, {"os-extend": {"new_size": "x"}}, {"os-extend": 3}):
        assert _act(client, volume["id"], bad).status_code == 400


def test_extend_over_quota_is_413(client: TestClient,
                                  session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, size=1)
    place(session_factory, volume["id"])
    response = _act(client, volume["id"], {"os-extend": {"new_size": 5000}})
    assert response.status_code == 413
    assert response.json()["overLimit"]["message"].startswith(
        "VolumeSizeExceedsAvailableQuota")
    assert _show(client, volume["id"])["status"] == "available"


def test_set_bootable_and_readonly(client: TestClient,
                                   session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"])
    assert _act(client, volume["id"], {"os-set_bootable": {"bootable": "true"}}
                ).status_code == 200
    assert _show(client, volume["id"])["bootable"] == "true"
    assert _act(client, volume["id"], {"os-update_readonly_flag": {"readonly": True}}
                ).status_code == 202
    with session_factory() as session:
        flag = session.scalars(select(VolumeAdminMetadata.value).where(
            VolumeAdminMetadata.volume_id == volume["id"])).one()
    assert flag == "True"
    assert _act(client, volume["id"], {"os-set_bootable": {"bootable": "perhaps"}}
                ).status_code == 400


def test_readonly_flag_shows_in_the_volumes_metadata(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    """Cinder shows the admin key ``readonly`` as "True"/"False" in ``metadata`` of show,
    detail lists and update, over a user key of that name, to every user (Tempest's
    test_volume_readonly_update); other admin keys stay hidden."""
    volume = create_volume(client, metadata={"readonly": "mine", "color": "blue"})
    place(session_factory, volume["id"])
    with session_factory() as session, session.begin():
        session.add(VolumeAdminMetadata(volume_id=volume["id"], key="progress", value="50"))
    assert _show(client, volume["id"])["metadata"] == {"readonly": "mine", "color": "blue"}
    for flag, shown in ((True, "True"), (False, "False")):
        assert _act(client, volume["id"], {"os-update_readonly_flag": {"readonly": flag}}
                    ).status_code == 202
        expected = {"readonly": shown, "color": "blue"}
        assert _show(client, volume["id"])["metadata"] == expected
        member = client.get(url(f"volumes/{volume['id']}"), headers=headers(roles="member"))
        assert member.json()["volume"]["metadata"] == expected
        listed = client.get(url("volumes/detail"), headers=headers()).json()["volumes"]
        assert [v["metadata"] for v in listed] == [expected]
    updated = client.put(url(f"volumes/{volume['id']}"), headers=headers(),
                         json={"volume": {"name": "renamed"}})
    assert updated.json()["volume"]["metadata"] == {"readonly": "False", "color": "blue"}


def test_reset_status_matches_samples(client: TestClient) -> None:
    volume = create_volume(client)
    assert _act(client, volume["id"], {"os-reset_status": {"status": "error"}}
                ).status_code == 202
    assert _show(client, volume["id"])["status"] == "error"
    bad = _act(client, volume["id"], {"os-reset_status": {"status": "bogus"}})
    assert bad.json() == sample("40_action_os-reset_status_bad_status_400.json")[
        "response"]["body"]
    member = _act(client, volume["id"], {"os-reset_status": {"status": "available"}},
                  roles="member")
    assert member.status_code == 403 and "forbidden" in member.json()


def test_unknown_action(client: TestClient) -> None:
    volume = create_volume(client)
    response = _act(client, volume["id"], {"os-bogus": {}})
    assert response.json() == sample("45_action_unknown_400.json")["response"]["body"]
    assert _act(client, volume["id"], {}).status_code == 400


def test_force_delete(client: TestClient, transport: RecordingFakeTransport,
                      session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"], host="node3@lvm#lvm", status="creating")
    assert _act(client, volume["id"], {"os-force_delete": {}}, roles="member"
                ).status_code == 403
    assert _act(client, volume["id"], {"os-force_delete": {}}).status_code == 202
    assert transport.casts[-1][:2] == ("volume.node3@lvm", "delete_volume")
    assert _show(client, volume["id"])["status"] == "deleting"


def test_force_delete_ignores_the_status_but_not_an_attachment(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    """As Cinder: any status goes, even deleting (the delete is sent again); an attached
    volume is refused."""
    for status in ("attaching", "maintenance", "deleting", "in-use"):
        volume = create_volume(client)
        place(session_factory, volume["id"], status=status)
        assert _act(client, volume["id"], {"os-force_delete": {}}).status_code == 202, status
        assert transport.casts[-1][1] == "delete_volume"
        assert _show(client, volume["id"])["status"] == "deleting"
    attached = create_volume(client)
    place(session_factory, attached["id"], status="in-use")
    with session_factory() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == attached["id"])
                        .values(attach_status="attached"))
    refused = _act(client, attached["id"], {"os-force_delete": {}})
    assert refused.status_code == 400 and "attached" in refused.json()["badRequest"]["message"]
    assert _show(client, attached["id"])["status"] == "in-use"


def test_extend_in_use_needs_3_42(client: TestClient, transport: RecordingFakeTransport,
                                  session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"], status="in-use")
    assert _act(client, volume["id"], {"os-extend": {"new_size": 2}}).status_code == 400
    assert _act(client, volume["id"], {"os-extend": {"new_size": 2}},
                version="3.42").status_code == 202
    assert transport.casts[-1][1] == "extend_volume"
    assert _show(client, volume["id"])["status"] == "extending"
