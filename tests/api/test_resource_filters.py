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
