"""Volumes CRUD, lists and isolation through the HTTP API, against Cinder's samples."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from db.models import Volume, VolumeAdminMetadata, VolumeAttachment
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

# Fields Cinder 3.71 shows that need microversions above the one cinderblock serves.
_ABOVE_MAX = {"volume_type_id", "consumes_quota"}  # 3.63, 3.65


def _body(name: str, key: str = "volume") -> dict:
    return sample(name)["response"]["body"][key]


def test_create_at_3_0_has_sample_fields_and_casts_scheduler(
        client: TestClient, transport: RecordingFakeTransport) -> None:
    volume = create_volume(client, name="sample-vol-1", description="sample",
                           metadata={"k": "v"})
    expected = _body("20_volume_create_mv_default_3.0.json")
    assert list(volume) == list(expected)
    assert {k: volume[k] for k in ("status", "size", "name", "description", "metadata",
                                   "volume_type", "bootable", "availability_zone")} == \
        {k: expected[k] for k in ("status", "size", "name", "description", "metadata",
                                  "volume_type", "bootable", "availability_zone")}
    assert volume["links"][0]["href"].endswith(f"/v3/{PROJECT}/volumes/{volume['id']}")
    assert volume["links"][1]["href"].endswith(f"/{PROJECT}/volumes/{volume['id']}")
    assert "/v3/" not in volume["links"][1]["href"]
    target, method, args = transport.casts[-1]
    assert (target, method) == ("scheduler", "create_volume")
    assert args == {"volume_id": volume["id"], "request_spec": {}}


def test_create_at_max_has_sample_fields_up_to_max(client: TestClient) -> None:
    response = client.post(url("volumes"), headers=headers(version="latest"),
                           json={"volume": {"size": "1", "name": "sample-vol-2"}})
    assert response.status_code == 202
    expected = set(_body("21_volume_create_mv_3.71.json")) - _ABOVE_MAX
    volume = response.json()["volume"]
    assert set(volume) == expected
    assert volume["size"] == 1 and volume["shared_targets"] is True
    assert volume["service_uuid"] is None


def test_show_detail_and_list_shapes(client: TestClient,
                                     session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, name="sample-vol-1")
    place(session_factory, volume["id"], host="vm@fake#fake")
    shown = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert list(shown) == list(_body("23_volume_show_mv_default_3.0.json"))
    assert shown["os-vol-host-attr:host"] == "vm@fake#fake"
    assert shown["status"] == "available"
    latest = client.get(url(f"volumes/{volume['id']}"),
                        headers=headers(version="latest")).json()["volume"]
    assert set(latest) == set(_body("24_volume_show_mv_3.71.json")) - _ABOVE_MAX
    assert latest["shared_targets"] is False and latest["service_uuid"]
    listed = client.get(url("volumes"), headers=headers()).json()
    assert list(listed["volumes"][0]) == list(_body("25_volume_list.json", "volumes")[0])
    detail = client.get(url("volumes/detail"), headers=headers()).json()["volumes"]
    assert list(detail[0]) == list(_body("28_volume_detail.json", "volumes")[0])


def test_timestamps_read_the_same_in_every_view(client: TestClient) -> None:
    """Show and detail have the database format timestamps, create and update format them
    in Python: a client comparing them must see one value, to the microsecond."""
    created = create_volume(client)
    assert client.get(url(f"volumes/{created['id']}"),
                      headers=headers()).json()["volume"]["updated_at"] is None
    updated = client.put(url(f"volumes/{created['id']}"), headers=headers(),
                         json={"volume": {"name": "renamed"}}).json()["volume"]
    shown = client.get(url(f"volumes/{created['id']}"), headers=headers()).json()["volume"]
    detail = client.get(url("volumes/detail"), headers=headers()).json()["volumes"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", shown["created_at"])
    assert (created["created_at"] == updated["created_at"] == shown["created_at"]
            == detail["created_at"])
    assert updated["updated_at"] == shown["updated_at"] == detail["updated_at"] is not None


def test_a_page_shows_metadata_and_attachments_only_on_the_volumes_that_have_them(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    """The detail page asks for metadata and attachments only for the volumes flagged as
    having some; a wrong flag would drop them silently, or lend them to a neighbour."""
    with_metadata = create_volume(client, name="m", metadata={"k": "v"})["id"]
    readonly = create_volume(client, name="r")["id"]
    attached = create_volume(client, name="a")["id"]
    detached = create_volume(client, name="d")["id"]
    bare = create_volume(client, name="b")["id"]
    with session_factory() as session, session.begin():
        session.add(VolumeAdminMetadata(volume_id=readonly, key="readonly", value="True"))
        session.add(VolumeAdminMetadata(volume_id=bare, key="hidden", value="x"))
        session.add(VolumeAttachment(volume_id=attached, instance_uuid=OTHER_PROJECT[:32],
                                     attach_status="attached", attached_host="node2"))
        session.add(VolumeAttachment(volume_id=detached, attach_status="detached"))
    detail = client.get(url("volumes/detail"), headers=headers()).json()["volumes"]
    by_name = {v["name"]: v for v in detail}
    assert {name: v["metadata"] for name, v in by_name.items()} == {
        "m": {"k": "v"}, "r": {"readonly": "True"}, "a": {}, "d": {}, "b": {}}
    assert {name: [a["host_name"] for a in v["attachments"]]
            for name, v in by_name.items()} == {"m": [], "r": [], "a": ["node2"], "d": [],
                                                "b": []}
    shown = client.get(url(f"volumes/{with_metadata}"), headers=headers()).json()["volume"]
    assert (shown["metadata"], shown["attachments"]) == ({"k": "v"}, [])


def test_member_sees_no_host_attributes(client: TestClient) -> None:
    volume = create_volume(client)
    shown = client.get(url(f"volumes/{volume['id']}"),
                       headers=headers(roles="member", version="latest")).json()["volume"]
    assert "os-vol-host-attr:host" not in shown and "provider_id" not in shown
    assert shown["os-vol-tenant-attr:tenant_id"] == PROJECT


def test_update_name_description_and_metadata(client: TestClient) -> None:
    volume = create_volume(client, metadata={"a": "1"})
    response = client.put(url(f"volumes/{volume['id']}"), headers=headers(), json={
        "volume": {"name": "renamed", "description": "d", "metadata": {"b": "2"}}})
    assert response.status_code == 200
    body = response.json()["volume"]
    assert (body["name"], body["description"], body["metadata"]) == ("renamed", "d",
                                                                      {"b": "2"})
    assert list(body) == list(_body("20_volume_create_mv_default_3.0.json"))


def test_delete_unplaced_volume_is_immediate_and_frees_quota(
        client: TestClient, transport: RecordingFakeTransport) -> None:
    volume = create_volume(client, size=3)
    place_error = client.post(url(f"volumes/{volume['id']}/action"), headers=headers(),
                              json={"os-reset_status": {"status": "error"}})
    assert place_error.status_code == 202
    assert client.delete(url(f"volumes/{volume['id']}"), headers=headers()).status_code == 202
    assert client.get(url(f"volumes/{volume['id']}"), headers=headers()).status_code == 404
    usage = client.get(url(f"os-quota-sets/{PROJECT}?usage=True"), headers=headers()).json()
    assert usage["quota_set"]["volumes"]["in_use"] == 0
    assert usage["quota_set"]["gigabytes"]["in_use"] == 0
    assert [c[1] for c in transport.casts] == ["create_volume"]


def test_delete_placed_volume_goes_through_its_agent(
        client: TestClient, transport: RecordingFakeTransport,
        session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, size=2)
    place(session_factory, volume["id"], host="node2@lvm#lvm")
    assert client.delete(url(f"volumes/{volume['id']}"), headers=headers()).status_code == 202
    target, method, args = transport.casts[-1]
    assert (target, method) == ("volume.node2@lvm", "delete_volume")
    assert args["volume"]["id"] == volume["id"]
    shown = client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()["volume"]
    assert shown["status"] == "deleting"
    usage = client.get(url(f"os-quota-sets/{PROJECT}?usage=True"), headers=headers()).json()
    assert usage["quota_set"]["gigabytes"]["in_use"] == 2  # until the agent confirms
    again = client.delete(url(f"volumes/{volume['id']}"), headers=headers())
    assert again.status_code == 400 and "badRequest" in again.json()


def test_delete_while_creating_is_refused(client: TestClient) -> None:
    volume = create_volume(client)
    response = client.delete(url(f"volumes/{volume['id']}"), headers=headers())
    assert response.status_code == 400
    assert response.json() == sample("72_volume_delete_with_snapshot_400.json")[
        "response"]["body"]


def test_project_isolation(client: TestClient) -> None:
    mine = create_volume(client, name="mine")
    theirs = create_volume(client, OTHER_PROJECT, name="theirs")
    member = headers(OTHER_PROJECT, roles="member")
    path = url(f"volumes/{mine['id']}", OTHER_PROJECT)
    assert client.get(path, headers=member).status_code == 404
    assert client.put(path, headers=member, json={"volume": {"name": "x"}}).status_code == 404
    assert client.delete(path, headers=member).status_code == 404
    assert client.post(path + "/action", headers=member,
                       json={"os-set_bootable": {"bootable": True}}).status_code == 404
    assert client.get(path + "/metadata", headers=member).status_code == 404
    listed = client.get(url("volumes/detail", OTHER_PROJECT), headers=member).json()
    assert [v["id"] for v in listed["volumes"]] == [theirs["id"]]
    member_all = client.get(url("volumes?all_tenants=1", OTHER_PROJECT), headers=member)
    assert [v["id"] for v in member_all.json()["volumes"]] == [theirs["id"]]
    admin_own = client.get(url("volumes"), headers=headers()).json()["volumes"]
    assert [v["id"] for v in admin_own] == [mine["id"]]
    admin_all = client.get(url("volumes?all_tenants=1"), headers=headers()).json()["volumes"]
    assert {v["id"] for v in admin_all} == {mine["id"], theirs["id"]}


def test_url_project_must_match_token(client: TestClient) -> None:
    response = client.get(url("volumes", OTHER_PROJECT), headers=headers())
    assert response.status_code == 400
    assert response.json() == sample("82_error_400_project_mismatch.json")["response"]["body"]
    not_hex = client.get("/v3/admin/volumes", headers={"X-Auth-Token": "admin:admin"})
    assert not_hex.status_code == 404
    assert not_hex.json() == sample("81_error_404_project_not_hex.json")["response"]["body"]


def test_pagination_with_next_links(client: TestClient) -> None:
    ids = [create_volume(client, name=f"v{i}")["id"] for i in range(5)]
    seen: list[str] = []
    link = url("volumes?limit=2")
    while link:
        page = client.get(link, headers=headers()).json()
        seen += [v["id"] for v in page["volumes"]]
        nexts = page.get("volumes_links", [])
        link = nexts[0]["href"].removeprefix("http://testserver") if nexts else ""
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    first = client.get(url("volumes?limit=1"), headers=headers()).json()
    href = first["volumes_links"][0]["href"]
    assert href.endswith(f"volumes?limit=1&marker={first['volumes'][0]['id']}")


def test_sort_by_name_both_syntaxes(client: TestClient) -> None:
    for name in ("b", "c", "a"):
        create_volume(client, name=name)
    by_sort = client.get(url("volumes?sort=name:asc"), headers=headers()).json()
    assert [v["name"] for v in by_sort["volumes"]] == ["a", "b", "c"]
    legacy = client.get(url("volumes?sort_key=name&sort_dir=desc"), headers=headers()).json()
    assert [v["name"] for v in legacy["volumes"]] == ["c", "b", "a"]
    paged = client.get(url("volumes?sort=name:asc&limit=1"), headers=headers()).json()
    marker = paged["volumes"][0]["id"]
    rest = client.get(url(f"volumes?sort=name:asc&marker={marker}"), headers=headers()).json()
    assert [v["name"] for v in rest["volumes"]] == ["b", "c"]


def test_limit_is_capped_by_osapi_max_limit(client: TestClient) -> None:
    for _ in range(3):
        create_volume(client)
    app_conf = client.app.state.conf
    assert app_conf.default.osapi_max_limit == 50
    page = client.get(url("volumes?limit=100000"), headers=headers()).json()
    assert len(page["volumes"]) == 3 and "volumes_links" not in page


def test_filters(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    one = create_volume(client, name="sample-vol-1", metadata={"k": "v"})
    two = create_volume(client, name="other", metadata={"k": "w"})
    place(session_factory, two["id"])
    assert client.post(url(f"volumes/{two['id']}/action"), headers=headers(),
                       json={"os-set_bootable": {"bootable": True}}).status_code == 200

    def ids(query: str, **kw: str) -> list[str]:
        response = client.get(url(f"volumes/detail?{query}"), headers=headers(**kw))
        assert response.status_code == 200, response.text
        return [v["id"] for v in response.json()["volumes"]]

    assert ids("name=sample-vol-1") == [one["id"]]
    assert ids("status=available") == [two["id"]]
    assert ids('metadata={"k":"v"}') == [one["id"]]
    assert ids("metadata={'k': 'w'}") == [two["id"]]
    assert ids("bootable=false", version="3.2") == [one["id"]]
    assert ids("bootable=true", version="3.2") == [two["id"]]
    assert ids("bootable=false") == [one["id"]]
    assert ids("bootable=f") == [two["id"]]
    assert ids("name~=sample", version="3.34") == [one["id"]]
    assert ids("bogus_filter=1") == []
    member = client.get(url("volumes?bogus_filter=1"), headers=headers(roles="member"))
    assert member.status_code == 400 and "bogus_filter" in member.json()["badRequest"][
        "message"]


def test_summary(client: TestClient) -> None:
    create_volume(client, size=1, metadata={"k": "v"})
    create_volume(client, size=2)
    response = client.get(url("volumes/summary"), headers=headers(version="3.36"))
    assert response.json() == {"volume-summary": {"total_count": 2, "total_size": 3,
                                                  "metadata": {"k": ["v"]}}}
    expected = sample("31_volume_summary_mv_3.71.json")["response"]["body"]
    assert response.json()["volume-summary"].keys() == expected["volume-summary"].keys()
    assert client.get(url("volumes/summary"), headers=headers()).status_code == 404


def test_with_count(client: TestClient) -> None:
    for _ in range(3):
        create_volume(client)
    page = client.get(url("volumes?limit=1&with_count=true"),
                      headers=headers(version="3.45")).json()
    assert page["count"] == 3 and len(page["volumes"]) == 1


def test_create_from_snapshot_or_volume_validates_source(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    source = create_volume(client, size=2)
    missing = client.post(url("volumes"), headers=headers(), json={"volume": {
        "snapshot_id": "ccb1e603-a850-40ed-8649-2006300a2e70"}})
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        "Snapshot ccb1e603-a850-40ed-8649-2006300a2e70 could not be found."
    not_ready = client.post(url("volumes"), headers=headers(),
                            json={"volume": {"source_volid": source["id"]}})
    assert not_ready.status_code == 400
    place(session_factory, source["id"])
    clone = create_volume(client, size=None, source_volid=source["id"])
    assert clone["size"] == 2 and clone["source_volid"] == source["id"]
    other = client.post(url("volumes", OTHER_PROJECT),
                        headers=headers(OTHER_PROJECT, roles="member"),
                        json={"volume": {"source_volid": source["id"]}})
    assert other.status_code == 404


def test_broker_down_leaves_volume_in_error(client: TestClient,
                                            transport: RecordingFakeTransport,
                                            session_factory: sessionmaker[Session]) -> None:
    transport.fail = True
    response = client.post(url("volumes"), headers=headers(), json={"volume": {"size": 1}})
    assert response.status_code == 503
    with session_factory() as session:
        assert [v.status for v in session.query(Volume)] == ["error"]


def test_force_delete_parameter_from_3_23(client: TestClient,
                                          transport: RecordingFakeTransport,
                                          session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client)
    place(session_factory, volume["id"], status="creating")
    path = url(f"volumes/{volume['id']}?force=true")
    assert client.delete(path, headers=headers()).status_code == 400
    assert client.delete(path, headers=headers(version="3.23", roles="member")
                         ).status_code == 403
    assert client.delete(path, headers=headers(version="3.23")).status_code == 202
    assert transport.casts[-1][1] == "delete_volume"


def test_create_from_image_or_backup_is_refused_not_ignored(client: TestClient) -> None:
    for source in ({"imageRef": "c29f9107-d1dd-4fd3-959b-524c4b9c8afd"},
                   {"backup_id": "c29f9107-d1dd-4fd3-959b-524c4b9c8afd"}):
        response = client.post(url("volumes"), headers=headers(),
                               json={"volume": {"size": 1, **source}})
        assert response.status_code == 400, source
