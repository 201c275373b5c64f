"""Every reference sample of a real Cinder 29 not checked elsewhere, replayed in the
order it was recorded: cinderblock's body has the sample's keys and value shapes (ids
and timestamps by their format), at the sample's microversion or at cinderblock's
newest when the sample's is above it (then without the fields of those versions).
Sample 58 is not replayed: it is Cinder's 500 for deleting a connected attachment
without the service role, which cinderblock answers without an error."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.microversions import MAX, Version
from db.models import Service, Snapshot, utcnow
from tests.api.attachment_fakes import (  # noqa: F401  (fixtures)
    FakeVolumeRpc,
    placed_volume_fixture,
    rpc_fixture,
)
from tests.api.conftest import OTHER_PROJECT, PROJECT, create_volume, headers, place, sample

# Fields of microversions above cinderblock's newest (3.63 volume_type_id, 3.65
# consumes_quota); the samples were recorded at 3.71.
_ABOVE_MAX = {"volume_type_id", "consumes_quota"}
# The samples' test driver exports no target; a real LIO export adds its fields here.
_TARGET_OBJECTS = ("connection_info", "connection_info.data")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$")
INSTANCE = "16e0f9fd-7dcd-4ea3-b07a-3d5e94c598be"


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def shape_differences(actual: Any, expected: Any, path: str = "body") -> list[str]:
    """Where ``actual`` does not have ``expected``'s shape: the same keys (less those
    above cinderblock's newest microversion; a connection may add its target's), values
    of the same JSON type, ids and timestamps in the same format, and an empty string or
    list where the sample has one.
    A list's items are held to the sample's one by one, or all to its first item when
    the lengths differ."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r} is not an object"]
        wanted = set(expected) - _ABOVE_MAX
        found: list[str] = []
        extra_allowed = path.endswith(_TARGET_OBJECTS)
        if not wanted <= set(actual) or (set(actual) != wanted and not extra_allowed):
            found.append(f"{path}: missing {sorted(wanted - set(actual))}, "
                         f"extra {sorted(set(actual) - wanted)}")
        for key in wanted & set(actual):
            found += shape_differences(actual[key], expected[key], f"{path}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or bool(actual) != bool(expected):
            return [f"{path}: {actual!r} is not a list like {expected!r}"]
        pairs = zip(actual, expected, strict=True) if len(actual) == len(expected) \
            else ((item, expected[0]) for item in actual)
        return [d for i, (item, model) in enumerate(pairs)
                for d in shape_differences(item, model, f"{path}[{i}]")]
    if _is_uuid(expected) and not _is_uuid(actual):
        return [f"{path}: {actual!r} is not an id"]
    if isinstance(expected, str) and _TIMESTAMP.match(expected) \
            and not (isinstance(actual, str) and _TIMESTAMP.match(actual)):
        return [f"{path}: {actual!r} is not a timestamp"]
    if expected == "" and actual != "":
        return [f"{path}: {actual!r} is not empty"]
    if type(actual) is not type(expected):
        return [f"{path}: {actual!r} is not of the type of {expected!r}"]
    return []


def _version(recorded: dict[str, Any]) -> str | None:
    """The sample's microversion, capped at cinderblock's newest."""
    asked = recorded["request"]["headers"].get("OpenStack-API-Version")
    if asked is None:
        return None
    return str(min(Version.of(asked.split()[1]), MAX))


def replay(client: TestClient, name: str, path: str, body: Any = None,
           **extra_headers: str) -> Any:
    """Send the sample's request (to ``path``: ids differ here), check its status and
    the shape of the answer, and return the answer's body (None when empty)."""
    recorded = sample(name)
    sent = {**headers(version=_version(recorded)), **extra_headers}
    if "X-Service-Roles" in recorded["request"]["headers"]:
        sent["X-Service-Roles"] = recorded["request"]["headers"]["X-Service-Roles"]
    method = recorded["request"]["method"]
    payload = recorded["request"].get("body") if body is None else body
    response = client.request(method, path, headers=sent,
                              json=payload if payload is not None else None)
    expected = recorded["response"]
    assert response.status_code == expected["status"], (name, response.text)
    if expected["body"] is None:
        assert not response.content, (name, response.text)
        return None
    answer = response.json()
    assert shape_differences(answer, expected["body"]) == [], name
    return answer


def _v3(path: str, project: str = PROJECT) -> str:
    return f"/v3/{project}/{path}"


def test_roots_and_services_have_the_samples_shapes(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    replay(client, "02_versions_root_GET_with_mv_3.71.json", "/")
    replay(client, "03_v3_root_GET_with_token.json", "/v3/")
    replay(client, "05_v3_root_GET_mv_3.71.json", "/v3/")
    none = client.get("/v3/", headers={})
    assert none.status_code == sample("04_v3_root_GET_no_token_noauth_204.json")[
        "response"]["status"] and not none.content
    with session_factory() as session, session.begin():
        session.add_all([Service(host="vm@fake", binary=binary, availability_zone="nova",
                                 last_seen_at=utcnow())
                         for binary in ("cinderblock-volume", "cinderblock-scheduler")])
    replay(client, "08_services_list_mv_3.71.json", _v3("os-services"))


def test_types_and_quotas_have_the_samples_shapes(client: TestClient) -> None:
    listed = replay(client, "10_types_list_mv_3.71.json", _v3("types"))
    assert [t["name"] for t in listed["volume_types"]] == ["__DEFAULT__"]
    created = client.post(_v3("types"), headers=headers(),
                          json={"volume_type": {"name": "fake-type"}}).json()
    replay(client, "15_quota_set_defaults.json", _v3(f"os-quota-sets/{PROJECT}/defaults"))
    replay(client, "14_quota_set_show_usage.json",
           _v3(f"os-quota-sets/{PROJECT}?usage=True"))
    replay(client, "101_types_delete_admin.json",
           _v3(f"types/{created['volume_type']['id']}"))


def test_volume_lifecycle_has_the_samples_shapes(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    first = create_volume(client, name="sample-vol-1", description="sample",
                          metadata={"k": "v"})
    second = create_volume(client, name="sample-vol-2")
    shown = replay(client, "22_volume_show_while_creating_mv_3.71.json",
                   _v3(f"volumes/{second['id']}"))
    assert shown["volume"]["status"] == "creating"
    for volume in (first, second):
        place(session_factory, volume["id"], host="vm@fake#fake")
    replay(client, "26_volume_list_mv_3.71.json", _v3("volumes"))
    paged = replay(client, "27_volume_list_limit1_next_link.json", _v3("volumes?limit=1"))
    assert paged["volumes_links"][0]["rel"] == "next"
    replay(client, "29_volume_detail_mv_3.71.json", _v3("volumes/detail"))
    named = replay(client, "30_volume_detail_filter_name.json",
                   _v3("volumes/detail?name=sample-vol-1"))
    assert [v["id"] for v in named["volumes"]] == [first["id"]]
    replay(client, "32_volume_update.json", _v3(f"volumes/{first['id']}"))
    client.post(_v3("types"), headers=headers(), json={"volume_type": {"name": "fake-type"}})
    typed = replay(client, "33_volume_create_typed_fake-type.json", _v3("volumes"))
    assert typed["volume"]["volume_type"] == "fake-type"
    action = _v3(f"volumes/{first['id']}/action")
    replay(client, "34_action_os-extend.json", action)
    place(session_factory, first["id"], host="vm@fake#fake")
    replay(client, "35_volume_show_after_extend.json", _v3(f"volumes/{first['id']}"))
    replay(client, "37_action_os-reset_status_error.json", action)
    replay(client, "38_volume_show_after_reset_status.json", _v3(f"volumes/{first['id']}"))
    replay(client, "39_action_os-reset_status_available.json", action)
    replay(client, "92_volume_list_unknown_filter_admin_empty_200.json",
           _v3("volumes?bogus_filter=1"))


def test_snapshots_and_deletes_have_the_samples_shapes(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    volume = create_volume(client, size=2)
    place(session_factory, volume["id"], host="vm@fake#fake")
    snapshot = client.post(_v3("snapshots"), headers=headers(), json={"snapshot": {
        "volume_id": volume["id"], "name": "snap-1", "description": "sample snapshot"}}
    ).json()["snapshot"]
    with session_factory() as session, session.begin():
        session.execute(update(Snapshot).values(status="available", progress="100%"))
    replay(client, "71_snapshot_detail_mv_3.71.json", _v3("snapshots/detail"))
    copy = replay(client, "73_volume_create_from_snapshot.json", _v3("volumes"),
                  {"volume": {"size": 2, "snapshot_id": snapshot["id"], "name": "from-snap"}}
                  )["volume"]
    assert copy["snapshot_id"] == snapshot["id"]
    place(session_factory, copy["id"], host="vm@fake#fake")
    replay(client, "74_snapshot_delete.json", _v3(f"snapshots/{snapshot['id']}"))
    replay(client, "98_volume_delete.json", _v3(f"volumes/{copy['id']}"))
    deleting = replay(client, "99_volume_show_while_deleting.json", _v3(f"volumes/{copy['id']}"))
    assert deleting["volume"]["status"] == "deleting"
    unplaced = create_volume(client)
    client.post(_v3(f"volumes/{unplaced['id']}/action"), headers=headers(),
                json={"os-reset_status": {"status": "error"}})
    client.delete(_v3(f"volumes/{unplaced['id']}"), headers=headers())
    gone = replay(client, "100_volume_show_after_delete_404.json",
                  _v3(f"volumes/{unplaced['id']}"))
    assert gone["itemNotFound"]["message"] == f"Volume {unplaced['id']} could not be found."


def test_errors_have_the_samples_bodies(client: TestClient) -> None:
    client.post(_v3("types"), headers=headers(), json={"volume_type": {"name": "fake-type"}})
    missing = "de9a7e22-c32a-4d7d-ac86-297e9571b73b"
    assert replay(client, "76_error_404_volume_show_mv_3.71.json",
                  _v3(f"volumes/{missing}")) == sample(
        "76_error_404_volume_show_mv_3.71.json")["response"]["body"]
    attachment = "a6b3c509-60c0-4645-833d-2efdf7d8e1cd"
    assert replay(client, "66_attachment_show_404_mv_3.71.json",
                  _v3(f"attachments/{attachment}")) == sample(
        "66_attachment_show_404_mv_3.71.json")["response"]["body"]
    # Cinder's router answers Accept */* with webob's HTML page (sample 80); cinderblock
    # keeps its JSON body for every client, so only the status is Cinder's.
    any_type = client.get(_v3("no-such-collection"), headers={**headers(), "Accept": "*/*"})
    assert any_type.status_code == sample("80_error_404_unknown_route_no_accept_html.json")[
        "response"]["status"]
    project_root = client.get(f"/v3/{PROJECT}", headers=headers())
    recorded = sample("06_v3_project_root_GET_404.json")["response"]
    assert (project_root.status_code, project_root.json()) == \
        (recorded["status"], recorded["body"])
    for _ in range(2):
        create_volume(client, OTHER_PROJECT)
    client.put(_v3(f"os-quota-sets/{OTHER_PROJECT}"), headers=headers(),
               json={"quota_set": {"volumes": 2}})
    over = replay(client, "96_error_413_quota_volumes_exceeded_mv_3.71.json",
                  _v3("volumes", OTHER_PROJECT),
                  **headers(OTHER_PROJECT, version=str(MAX)))
    assert over == sample("96_error_413_quota_volumes_exceeded_mv_3.71.json")[
        "response"]["body"]
    replay(client, "97_quota_set_show_usage_other.json",
           _v3(f"os-quota-sets/{OTHER_PROJECT}?usage=True"))


def test_attachments_have_the_samples_shapes(
        client: TestClient, rpc: FakeVolumeRpc,
        session_factory: sessionmaker[Session]) -> None:
    volume_id = create_volume(client, name="sample-vol-2")["id"]
    place(session_factory, volume_id)
    reserve = {"attachment": {"volume_uuid": volume_id, "instance_uuid": INSTANCE}}
    created = client.post(_v3("attachments"), headers=headers(version="3.27"), json=reserve)
    attachment = _v3(f"attachments/{created.json()['attachment']['id']}")
    shown = replay(client, "48_volume_show_while_reserved.json", _v3(f"volumes/{volume_id}"))
    assert shown["volume"]["status"] == "reserved"
    replay(client, "49_attachment_show_reserved_mv_3.71.json", attachment)
    replay(client, "50_attachment_update_connector_mv_3.71.json", attachment)
    replay(client, "51_attachment_complete_os-complete_mv_3.44.json", f"{attachment}/action")
    replay(client, "52_attachment_show_attached_mv_3.71.json", attachment)
    replay(client, "53_attachment_list_mv_3.71.json", _v3("attachments"))
    replay(client, "54_attachment_list_detail_mv_3.71.json", _v3("attachments/detail"))
    replay(client, "55_volume_show_in-use_mv_3.71.json", _v3(f"volumes/{volume_id}"))
    replay(client, "56_volume_show_in-use_mv_3.0.json", _v3(f"volumes/{volume_id}"))
    replay(client, "59_attachment_delete_mv_3.71_service_role.json", attachment)
    replay(client, "60_volume_show_after_attachment_delete.json", _v3(f"volumes/{volume_id}"))
    with_mode = replay(client, "61_attachment_create_with_connector_mode_mv_3.54.json",
                       _v3("attachments"), {"attachment": {
                           **reserve["attachment"],
                           **sample("61_attachment_create_with_connector_mode_mv_3.54.json")[
                               "request"]["body"]["attachment"], "volume_uuid": volume_id}})
    second = _v3(f"attachments/{with_mode['attachment']['id']}")
    replay(client, "62_attachment_complete_os-complete_mv_3.71.json", f"{second}/action")
    replay(client, "63_attachment_delete_2_mv_3.71_service_role.json", second)
    third = replay(client, "64_attachment_create_reserve_2_mv_3.71.json", _v3("attachments"),
                   reserve)
    replay(client, "65_attachment_delete_reserved_mv_3.71.json",
           _v3(f"attachments/{third['attachment']['id']}"))


def test_legacy_connection_has_the_samples_shape(client: TestClient, rpc: FakeVolumeRpc,
                                                 placed_volume: dict[str, Any]) -> None:
    action = _v3(f"volumes/{placed_volume['id']}/action")
    info = replay(client, "42_action_os-initialize_connection_mv_3.71.json", action)
    assert info["connection_info"]["data"]["target_lun"] == 0
    replay(client, "44_action_os-terminate_connection.json", action)
