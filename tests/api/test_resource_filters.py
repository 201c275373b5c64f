"""GET resource_filters (3.33) names the filters volume lists accept."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import headers, url


def test_resource_filters(client: TestClient) -> None:
    assert client.get(url("resource_filters"), headers=headers()).status_code == 404
    body = client.get(url("resource_filters?resource=volume"),
                      headers=headers(version="3.33")).json()
    filters = body["resource_filters"][0]
    assert filters["resource"] == "volume"
    assert {"name", "status", "metadata", "bootable"} <= set(filters["filters"])
    for name in filters["filters"]:
        listed = client.get(url(f"volumes?{name}=x"), headers=headers(roles="member"))
        assert listed.status_code in (200, 400)
        assert "Invalid filters" not in listed.text


def test_resource_filters_name_what_each_list_accepts(client: TestClient) -> None:
    body = client.get(url("resource_filters"), headers=headers(version="3.33")).json()
    served = {entry["resource"]: set(entry["filters"]) for entry in body["resource_filters"]}
    assert {"volume", "snapshot", "message", "group"} <= set(served)
    assert served["snapshot"] == {"name", "status", "volume_id", "metadata",
                                  "availability_zone"}
    for name in served["snapshot"]:
        listed = client.get(url(f"snapshots?{name}=x"), headers=headers(roles="member"))
        assert "Invalid filters" not in listed.text, name
    for name in served["message"]:
        listed = client.get(url(f"messages?{name}=x"),
                            headers=headers(roles="member", version="3.33"))
        assert listed.status_code == 200, name
