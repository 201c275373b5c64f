"""Listing group types (3.11) as Cinder does: public, private or both, sorted and paged."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import headers, url

V = "3.11"


def _names(client: TestClient, query: str = "", *, roles: str | None = None) -> list[str]:
    response = client.get(url(f"group_types{query}"), headers=headers(roles=roles, version=V))
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["group_types"]]


def _create(client: TestClient, name: str, *, public: bool) -> str:
    response = client.post(url("group_types"), headers=headers(version=V),
                           json={"group_type": {"name": name, "is_public": public}})
    assert response.status_code == 202, response.text
    return response.json()["group_type"]["id"]


def test_is_public_picks_public_private_or_both(client: TestClient) -> None:
    _create(client, "a-public", public=True)
    _create(client, "b-private", public=False)
    assert _names(client) == ["a-public"]
    assert _names(client, "?is_public=true") == ["a-public"]
    assert _names(client, "?is_public=False") == ["b-private"]
    assert sorted(_names(client, "?is_public=None")) == ["a-public", "b-private"]
    assert _names(client, "?is_public=false", roles="member") == ["a-public"]
    assert _names(client, "?is_public=none&whatever=1", roles="member") == ["a-public"]
    bad = client.get(url("group_types?is_public=maybe"), headers=headers(version=V))
    assert bad.status_code == 400
    assert "is_public" in bad.json()["badRequest"]["message"]


def test_sort_and_pages(client: TestClient) -> None:
    for name in ("b", "c", "a"):
        _create(client, name, public=True)
    _create(client, "d", public=False)
    both = "&is_public=None"
    assert _names(client, f"?sort=name:asc{both}") == ["a", "b", "c", "d"]
    assert _names(client, f"?sort=name:desc{both}") == ["d", "c", "b", "a"]
    assert _names(client, f"?sort_key=name&sort_dir=asc{both}") == ["a", "b", "c", "d"]
    assert _names(client, "?sort=is_public:asc,name:desc") == ["c", "b", "a"]
    assert sorted(_names(client)) == ["a", "b", "c"]
    first = client.get(url(f"group_types?sort=name:asc&limit=2{both}"),
                       headers=headers(version=V)).json()
    assert [item["name"] for item in first["group_types"]] == ["a", "b"]
    next_query = first["group_types_links"][0]["href"].split("/group_types", 1)[1]
    assert _names(client, next_query) == ["c", "d"]
    assert _names(client, f"?sort=name:asc&limit=2&offset=3{both}") == ["d"]
    for query, status in (("?sort=color:asc", 400), ("?sort=name:up", 400),
                          ("?limit=-1", 400), ("?marker=nope", 404)):
        response = client.get(url(f"group_types{query}"), headers=headers(version=V))
        assert response.status_code == status, (query, response.text)
