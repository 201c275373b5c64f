"""/v3/{project}/snapshots: lifecycle, shapes against Cinder's samples, quota, actions."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import QuotaUsage, Snapshot
from tests.api.conftest import (
    OTHER_PROJECT,
    PROJECT,
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    sample,
    url,
)


def _sample_body(name: str) -> Any:
    return sample(name)["response"]["body"]


def _placed_volume(client: TestClient, sessions: sessionmaker[Session], size: int = 2,
                   status: str = "available") -> dict[str, Any]:
    volume = create_volume(client, size=size)
    place(sessions, volume["id"], host="node2@lvm#lvm", status=status)
    return volume


def _snapshot(client: TestClient, volume_id: str, **spec: Any) -> dict[str, Any]:
    response = client.post(url("snapshots"), headers=headers(),
                           json={"snapshot": {"volume_id": volume_id, **spec}})
    assert response.status_code == 202, response.text
    return response.json()["snapshot"]


def _set_status(sessions: sessionmaker[Session], snapshot_id: str, status: str) -> None:
    with sessions() as session, session.begin():
        session.execute(update(Snapshot).where(Snapshot.id == snapshot_id)
                        .values(status=status, progress="100%"))


def _usage(sessions: sessionmaker[Session], resource: str) -> tuple[int, int]:
    with sessions() as session:
        row = session.scalars(select(QuotaUsage).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == resource)).one()
        return row.in_use, row.reserved


def _act(client: TestClient, snapshot_id: str, body: Any, **kw: str):  # noqa: ANN202
    return client.post(url(f"snapshots/{snapshot_id}/action"), headers=headers(**kw),
                       json=body)


def _show(client: TestClient, snapshot_id: str, **kw: str) -> dict[str, Any]:
    return client.get(url(f"snapshots/{snapshot_id}"), headers=headers(**kw)).json()["snapshot"]


def test_create_answers_cinders_body_casts_the_agent_and_counts_quota(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory, size=2)
    created = _snapshot(client, volume["id"], name="snap-1", description="sample snapshot")
    expected = _sample_body("67_snapshot_create.json")["snapshot"]
    assert list(created) == list(expected)
    assert (created["status"], created["size"], created["name"]) == ("creating", 2, "snap-1")
    target, method, args = transport.casts[-1]
    assert (target, method) == ("volume.node2@lvm", "create_snapshot")
    assert args["snapshot"] == {"id": created["id"], "volume_id": volume["id"],
                                "volume_size": 2, "host": "node2@lvm#lvm"}
    assert _usage(session_factory, "snapshots") == (1, 0)
    assert _usage(session_factory, "gigabytes") == (4, 0)
    assert _usage(session_factory, "snapshots___DEFAULT__") == (1, 0)


def test_show_and_lists_match_the_samples(client: TestClient,
                                          session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"], name="snap-1", metadata={"k": "v"})
    _set_status(session_factory, created["id"], "available")
    shown = _show(client, created["id"])
    assert list(shown) == list(_sample_body("68_snapshot_show.json")["snapshot"])
    assert shown["os-extended-snapshot-attributes:progress"] == "100%"
    assert shown["os-extended-snapshot-attributes:project_id"] == PROJECT
    assert shown["metadata"] == {"k": "v"}
    newest = _show(client, created["id"], version="3.41")
    assert set(_sample_body("69_snapshot_show_mv_3.71.json")["snapshot"]) - set(newest) == \
        {"consumes_quota"}  # 3.65, above the served maximum
    listed = client.get(url("snapshots"), headers=headers()).json()
    assert list(listed) == ["snapshots"]
    assert list(listed["snapshots"][0]) == list(
        _sample_body("70_snapshot_list.json")["snapshots"][0])
    detail = client.get(url("snapshots/detail"), headers=headers(version="3.41")).json()
    assert detail["snapshots"][0] == newest


def test_missing_snapshot_is_cinders_404(client: TestClient) -> None:
    response = client.get(url("snapshots/ccb1e603-a850-40ed-8649-2006300a2e70"),
                          headers=headers())
    assert response.status_code == 404
    assert response.json() == _sample_body("78_error_404_snapshot_show.json")


def test_create_refusals(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    unplaced = create_volume(client)
    in_use = _placed_volume(client, session_factory, status="in-use")
    cases = [
        ({"snapshot": {"name": "x"}}, 400, "'volume_id' is a required property"),
        ({"snapshot": {"volume_id": "nope"}}, 400, "is not a 'uuid'"),
        ({"snapshot": {"volume_id": None}}, 404, "Volume None could not be found."),
        ({"snapshot": {"volume_id": in_use["id"], "bogus": 1}}, 400, "'bogus' was unexpected"),
        ({"snapshot": {"volume_id": in_use["id"], "force": "maybe"}}, 400, "valid boolean"),
        ({"snapshot": {"volume_id": "ccb1e603-a850-40ed-8649-2006300a2e70"}}, 404,
         "Volume ccb1e603-a850-40ed-8649-2006300a2e70 could not be found."),
        ({"snapshot": {"volume_id": unplaced["id"]}}, 400,
         "volume has not been scheduled to any host"),
        ({"snapshot": {"volume_id": in_use["id"]}}, 400,
         f"Volume {in_use['id']} status must be available, but current status is: in-use."),
    ]
    for body, status, text in cases:
        response = client.post(url("snapshots"), headers=headers(), json=body)
        assert response.status_code == status, body
        assert text in response.text, (body, response.text)
    forced = _snapshot(client, in_use["id"], force=True)
    assert forced["status"] == "creating"


def test_snapshot_over_quota_is_413(client: TestClient,
                                    session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    assert client.put(url(f"os-quota-sets/{PROJECT}"), headers=headers(),
                      json={"quota_set": {"snapshots": 1}}).status_code == 200
    _snapshot(client, volume["id"])
    response = client.post(url("snapshots"), headers=headers(),
                           json={"snapshot": {"volume_id": volume["id"]}})
    assert response.status_code == 413
    assert response.json()["overLimit"]["message"].startswith("SnapshotLimitExceeded")
    assert _usage(session_factory, "snapshots") == (1, 0)


def test_update_renames_and_rejects_unknown_keys(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"], name="a")
    path = url(f"snapshots/{created['id']}")
    updated = client.put(path, headers=headers(),
                         json={"snapshot": {"name": "b", "description": "d"}})
    assert updated.status_code == 200
    body = updated.json()["snapshot"]
    assert (body["name"], body["description"]) == ("b", "d")
    assert "os-extended-snapshot-attributes:progress" not in body
    assert client.put(path, headers=headers(), json={"snapshot": {"size": 3}}
                      ).status_code == 400
    assert client.put(path, headers=headers(), json={"snapshot": {}}).status_code == 400


def test_delete_casts_agent_and_refuses_busy_snapshots(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"])
    path = url(f"snapshots/{created['id']}")
    refused = client.delete(path, headers=headers())
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == (
        "Invalid snapshot: Snapshot status must be available or error and must not be part "
        "of a group.")
    _set_status(session_factory, created["id"], "available")
    response = client.delete(path, headers=headers())
    assert response.status_code == 202 and response.content == b""
    target, method, args = transport.casts[-1]
    assert (target, method) == ("volume.node2@lvm", "delete_snapshot")
    assert args["snapshot"]["id"] == created["id"]
    assert _show(client, created["id"])["status"] == "deleting"
    assert _usage(session_factory, "snapshots") == (1, 0)  # until the agent confirms


def test_volume_with_snapshots_is_kept_unless_cascade(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    first, second = (_snapshot(client, volume["id"]) for _ in range(2))
    volume_path = url(f"volumes/{volume['id']}")
    refused = client.delete(volume_path, headers=headers())
    assert refused.json() == _sample_body("72_volume_delete_with_snapshot_400.json")
    _set_status(session_factory, first["id"], "available")
    busy = client.delete(f"{volume_path}?cascade=true", headers=headers())
    assert busy.status_code == 400  # the second snapshot is still creating
    assert _show(client, first["id"])["status"] == "available"
    _set_status(session_factory, second["id"], "error")
    assert client.delete(f"{volume_path}?cascade=true", headers=headers()).status_code == 202
    casts = [(method, args["snapshot"]["id"]) for _, method, args in transport.casts[-2:]]
    assert sorted(casts) == sorted([("delete_snapshot", first["id"]),
                                    ("delete_snapshot", second["id"])])
    assert client.get(volume_path, headers=headers()).json()["volume"]["status"] == "deleting"


def test_list_filters_and_pages(client: TestClient,
                                session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    other = _placed_volume(client, session_factory)
    ids = [_snapshot(client, volume["id"], name=f"s{i}")["id"] for i in range(3)]
    _snapshot(client, other["id"], name="elsewhere")
    by_volume = client.get(url(f"snapshots?volume_id={volume['id']}"), headers=headers())
    assert sorted(s["id"] for s in by_volume.json()["snapshots"]) == sorted(ids)
    by_name = client.get(url("snapshots/detail?name=s1"), headers=headers()).json()
    assert [s["id"] for s in by_name["snapshots"]] == [ids[1]]
    page = client.get(url("snapshots?limit=2&sort=name:asc"), headers=headers()).json()
    assert [s["name"] for s in page["snapshots"]] == ["elsewhere", "s0"]
    next_link = page["snapshots_links"][0]["href"]
    rest = client.get(next_link.split("/v3/", 1)[1].join(["/v3/", ""]), headers=headers())
    assert [s["name"] for s in rest.json()["snapshots"]] == ["s1", "s2"]
    skipped = client.get(url("snapshots?offset=1&limit=2&sort=name:asc"),
                         headers=headers()).json()
    assert [s["name"] for s in skipped["snapshots"]] == ["s0", "s1"]
    after = skipped["snapshots_links"][0]["href"].split("/v3/", 1)[1].join(["/v3/", ""])
    assert "offset" not in after
    assert [s["name"] for s in client.get(after, headers=headers()).json()["snapshots"]] == [
        "s2"]
    assert client.get(url("snapshots?offset=-1"), headers=headers()).status_code == 400
    counted = client.get(url("snapshots?with_count=true&limit=1"),
                         headers=headers(version="3.45")).json()
    assert counted["count"] == 4
    refused = client.get(url("snapshots?host=x"), headers=headers(roles="member"))
    assert refused.status_code == 400
    theirs = client.get(url("snapshots", OTHER_PROJECT),
                        headers=headers(OTHER_PROJECT, roles="member"))
    assert theirs.json() == {"snapshots": []}


def test_metadata_filter_from_3_22(client: TestClient,
                                   session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    tagged = _snapshot(client, volume["id"], metadata={"tier": "gold"})
    _snapshot(client, volume["id"])
    path = url('snapshots?metadata={"tier": "gold"}')
    assert len(client.get(path, headers=headers()).json()["snapshots"]) == 2
    new = client.get(path, headers=headers(version="3.22")).json()["snapshots"]
    assert [s["id"] for s in new] == [tagged["id"]]


def test_metadata_crud(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"], metadata={"a": "1"})
    path = url(f"snapshots/{created['id']}/metadata")
    assert client.get(path, headers=headers()).json() == {"metadata": {"a": "1"}}
    merged = client.post(path, headers=headers(), json={"metadata": {"b": "2"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    assert "ETag" not in merged.headers
    replaced = client.put(path, headers=headers(), json={"metadata": {"c": "3"}})
    assert replaced.json() == {"metadata": {"c": "3"}}
    assert client.put(f"{path}/c", headers=headers(), json={"meta": {"c": "4"}}
                      ).json() == {"meta": {"c": "4"}}
    assert client.get(f"{path}/c", headers=headers()).json() == {"meta": {"c": "4"}}
    assert client.delete(f"{path}/c", headers=headers()).status_code == 200
    missing = client.get(f"{path}/c", headers=headers())
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        f"Snapshot {created['id']} has no metadata with key c."


def test_admin_actions(client: TestClient, transport: RecordingFakeTransport,
                       session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"])
    reset = {"os-reset_status": {"status": "error"}}
    assert _act(client, created["id"], reset, roles="member").status_code == 403
    assert _act(client, created["id"], reset).status_code == 202
    assert _show(client, created["id"])["status"] == "error"
    bad = _act(client, created["id"], {"os-reset_status": {"status": "bogus"}})
    assert bad.status_code == 400 and "Snapshot status: bogus is invalid" in bad.text
    assert _act(client, created["id"], {"os-reset_status": {}}).status_code == 400
    assert _act(client, created["id"], {"os-nope": {}}).status_code == 400
    _set_status(session_factory, created["id"], "creating")
    assert _act(client, created["id"], {"os-force_delete": {}}, roles="member"
                ).status_code == 403
    assert _act(client, created["id"], {"os-force_delete": {}}).status_code == 202
    assert transport.casts[-1][1] == "delete_snapshot"
    assert _show(client, created["id"])["status"] == "deleting"


def test_force_delete_of_a_deleting_snapshot_sends_the_delete_again(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    """Tempest's test_snapshot_force_delete_when_snapshot_is_deleting: Cinder's force
    delete ignores the status."""
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"])
    _set_status(session_factory, created["id"], "deleting")
    assert _act(client, created["id"], {"os-force_delete": {}}).status_code == 202
    assert transport.casts[-1][1] == "delete_snapshot"
    assert _show(client, created["id"])["status"] == "deleting"


def test_update_snapshot_status_follows_cinders_map(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory)
    created = _snapshot(client, volume["id"])

    def report(status: str, progress: str | None = None):  # noqa: ANN202
        args = {"status": status} if progress is None else {"status": status,
                                                             "progress": progress}
        return _act(client, created["id"], {"os-update_snapshot_status": args})

    assert report("creating", "50%").status_code == 202
    assert _show(client, created["id"])["os-extended-snapshot-attributes:progress"] == "50%"
    assert report("deleting").status_code == 400
    assert report("available", "100%").status_code == 202
    shown = _show(client, created["id"])
    assert (shown["status"], shown["os-extended-snapshot-attributes:progress"]) == (
        "available", "100%")
    refused = report("error")
    assert refused.status_code == 400
    assert refused.json()["badRequest"]["message"] == \
        "Snapshot status available not allowed for update_snapshot_status"


def test_volume_from_snapshot_may_be_larger_and_not_smaller(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = _placed_volume(client, session_factory, size=2)
    created = _snapshot(client, volume["id"])
    _set_status(session_factory, created["id"], "available")
    larger = create_volume(client, size=3, snapshot_id=created["id"])
    assert (larger["size"], larger["snapshot_id"]) == (3, created["id"])
    assert transport.casts[-1][1] == "create_volume"
    smaller = client.post(url("volumes"), headers=headers(),
                          json={"volume": {"size": 1, "snapshot_id": created["id"]}})
    assert smaller.status_code == 400
