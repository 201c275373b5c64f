"""Group types (3.11) with group specs, and generic volume groups (3.13, 3.20, 3.25)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import QuotaUsage
from tests.api.conftest import (
    PROJECT,
    RecordingFakeTransport,
    create_volume,
    headers,
    place,
    url,
)

V = "3.25"


def _group_type(client: TestClient, name: str = "gt", **kw: Any) -> dict[str, Any]:
    response = client.post(url("group_types"), headers=headers(version=V),
                           json={"group_type": {"name": name, **kw}})
    assert response.status_code == 202, response.text
    return response.json()["group_type"]


def _group(client: TestClient, **kw: Any) -> str:
    body = {"group_type": "gt", "volume_types": ["__DEFAULT__"], "name": "g", **kw}
    response = client.post(url("groups"), headers=headers(version=V), json={"group": body})
    assert response.status_code == 202, response.text
    assert list(response.json()["group"]) == ["id", "name"]
    return response.json()["group"]["id"]


def _show(client: TestClient, group_id: str, query: str = "") -> dict[str, Any]:
    return client.get(url(f"groups/{group_id}{query}"),
                      headers=headers(version=V)).json()["group"]


def test_group_types_and_specs(client: TestClient) -> None:
    assert client.get(url("group_types"), headers=headers(version="3.10")).status_code == 404
    created = _group_type(client, group_specs={"consistent_group_snapshot_enabled": "<is> True"})
    assert set(created) == {"id", "name", "description", "is_public", "group_specs"}
    path = url(f"group_types/{created['id']}")
    member = headers(roles="member", version=V)
    assert "group_specs" not in client.get(path, headers=member).json()["group_type"]
    assert client.post(url("group_types"), headers=member,
                       json={"group_type": {"name": "x"}}).status_code == 403
    assert client.post(url("group_types"), headers=headers(version=V),
                       json={"group_type": {"name": "gt"}}).status_code == 409
    specs = f"{path}/group_specs"
    assert client.post(specs, headers=headers(version=V),
                       json={"group_specs": {"a": "1"}}).status_code == 202
    assert client.put(f"{specs}/a", headers=headers(version=V), json={"a": "2"}
                      ).json() == {"a": "2"}
    assert client.get(f"{specs}/a", headers=headers(version=V)).json() == {"a": "2"}
    assert client.delete(f"{specs}/a", headers=headers(version=V)).status_code == 202
    missing = client.get(f"{specs}/a", headers=headers(version=V))
    assert missing.json()["itemNotFound"]["message"] == \
        f"Group Type {created['id']} has no specs with key a."
    renamed = client.put(path, headers=headers(version=V),
                         json={"group_type": {"name": "gt2"}}).json()["group_type"]
    assert renamed["name"] == "gt2"
    assert client.delete(path, headers=headers(version=V)).status_code == 202
    assert client.get(path, headers=headers(version=V)).status_code == 404


def test_group_lifecycle_with_volumes(client: TestClient, transport: RecordingFakeTransport,
                                      session_factory: sessionmaker[Session]) -> None:
    _group_type(client)
    group_id = _group(client, description="d")
    shown = _show(client, group_id, "?list_volume=true")
    assert set(shown) == {"id", "status", "availability_zone", "created_at", "name",
                          "description", "group_type", "volume_types", "group_snapshot_id",
                          "source_group_id", "volumes"}
    assert (shown["status"], shown["volumes"]) == ("available", [])
    inside = create_volume(client, group_id=group_id)
    assert client.get(url(f"volumes/{inside['id']}"), headers=headers(version="3.13")
                      ).json()["volume"]["group_id"] == group_id
    other = create_volume(client)
    place(session_factory, inside["id"])
    place(session_factory, other["id"])
    added = client.put(url(f"groups/{group_id}"), headers=headers(version=V),
                       json={"group": {"add_volumes": other["id"], "name": "g2"}})
    assert added.status_code == 202, added.text
    shown = _show(client, group_id, "?list_volume=true")
    assert sorted(shown["volumes"]) == sorted([inside["id"], other["id"]])
    assert shown["name"] == "g2"
    assert client.put(url(f"groups/{group_id}"), headers=headers(version=V),
                      json={"group": {"remove_volumes": other["id"]}}).status_code == 202
    assert client.delete(url(f"volumes/{inside['id']}"), headers=headers()).status_code == 400
    listed = client.get(url("groups"), headers=headers(version=V)).json()
    assert listed == {"groups": [{"id": group_id, "name": "g2"}]}
    action = url(f"groups/{group_id}/action")
    kept = client.post(action, headers=headers(version=V), json={"delete": {}})
    assert kept.status_code == 400 and "delete-volumes flag is required" in kept.text
    assert client.post(action, headers=headers(version=V),
                       json={"delete": {"delete-volumes": True}}).status_code == 202
    assert transport.casts[-1][1] == "delete_volume"
    assert transport.casts[-1][2]["volume"]["id"] == inside["id"]
    assert client.get(url(f"groups/{group_id}"), headers=headers(version=V)).status_code == 404
    with session_factory() as session:
        groups_used = session.scalar(select(QuotaUsage.in_use).where(
            QuotaUsage.project_id == PROJECT, QuotaUsage.resource == "groups"))
    assert groups_used == 0


def test_group_refusals_and_reset_status(client: TestClient) -> None:
    _group_type(client)
    for bad in ({"group_type": "gt"}, {"group_type": "nope", "volume_types": ["__DEFAULT__"]},
                {"group_type": "gt", "volume_types": ["nope"]}):
        response = client.post(url("groups"), headers=headers(version=V), json={"group": bad})
        assert response.status_code in (400, 404), bad
    group_id = _group(client)
    action = url(f"groups/{group_id}/action")
    reset = {"reset_status": {"status": "error"}}
    assert client.post(action, headers=headers(version="3.19"), json=reset).status_code == 400
    assert client.post(action, headers=headers(version="3.20", roles="member"),
                       json=reset).status_code == 403
    assert client.post(action, headers=headers(version="3.20"), json=reset).status_code == 202
    assert _show(client, group_id)["status"] == "error"
    busy = client.post(url("volumes"), headers=headers(),
                       json={"volume": {"size": 1, "group_id": group_id}})
    assert busy.status_code == 400 and "status must be available" in busy.text
    assert client.put(url(f"groups/{group_id}"), headers=headers(version=V),
                      json={"group": {}}).status_code == 400
