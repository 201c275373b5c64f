"""Bad input of every kind gets a 4xx in Cinder's error body, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import create_volume, headers, sample, url

_LONG = "x" * 256

# (body of POST /volumes, status, error key)
BAD_CREATES = [
    ({"volume": {"size": "abc"}}, 400, "badRequest"),
    ({"volume": {"size": 0}}, 400, "badRequest"),
    ({"volume": {"size": -1}}, 400, "badRequest"),
    ({"volume": {"size": 1.5}}, 400, "badRequest"),
    ({"volume": {"size": True}}, 400, "badRequest"),
    ({"volume": {"size": 2**31}}, 400, "badRequest"),
    ({"volume": {"size": 10**40}}, 400, "badRequest"),
    ({"volume": {"size": [1]}}, 400, "badRequest"),
    ({"volume": {}}, 400, "badRequest"),
    ({"volume": {"size": 1, "name": _LONG}}, 400, "badRequest"),
    ({"volume": {"size": 1, "description": _LONG}}, 400, "badRequest"),
    ({"volume": {"size": 1, "name": 5}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": "k=v"}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": ["k"]}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": {_LONG: "v"}}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": {"k": _LONG}}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": {"k": 1}}}, 400, "badRequest"),
    ({"volume": {"size": 1, "metadata": {"": "v"}}}, 400, "badRequest"),
    ({"volume": {"size": 1, "snapshot_id": "not-a-uuid"}}, 400, "badRequest"),
    ({"volume": {"size": 1, "source_volid": 7}}, 400, "badRequest"),
    ({"volume": {"size": 1, "availability_zone": "nowhere"}}, 400, "badRequest"),
    ({"volume": {"size": 1, "availability_zone": 3}}, 400, "badRequest"),
    ({"volume": {"size": 1, "volume_type": ["x"]}}, 400, "badRequest"),
    ({"volume": {"size": 1, "volume_type": "nope"}}, 404, "itemNotFound"),
    ({"volume": {"size": 1, "multiattach": "maybe"}}, 400, "badRequest"),
    ({"volume": "big"}, 400, "badRequest"),
    ({"size": 1}, 400, "badRequest"),
    ([1, 2], 400, "badRequest"),
    ("volume", 400, "badRequest"),
]


@pytest.mark.parametrize(("body", "status", "kind"), BAD_CREATES)
def test_bad_create_bodies(client: TestClient, body: object, status: int, kind: str) -> None:
    response = client.post(url("volumes"), headers=headers(), json=body)
    assert response.status_code == status, response.text
    error = response.json()[kind]
    assert error["code"] == status and error["message"]


@pytest.mark.parametrize("name", [
    "83_error_400_bad_size_string.json", "84_error_400_bad_size_zero.json",
    "85_error_400_bad_size_negative_mv_3.71.json", "86_error_400_missing_volume_key.json",
    "88_error_404_bad_volume_type.json"])
def test_create_errors_match_cinder_exactly(client: TestClient, name: str) -> None:
    recorded = sample(name)
    response = client.post(url("volumes"), headers=headers(), json=recorded["request"]["body"])
    assert response.status_code == recorded["response"]["status"]
    assert response.json() == recorded["response"]["body"]


def test_malformed_json(client: TestClient) -> None:
    recorded = sample("87_error_400_malformed_json.json")
    response = client.post(url("volumes"), content=b'{"volume": {"size": 1',
                           headers={**headers(), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == recorded["response"]["body"]
    empty = client.post(url("volumes"), headers=headers())
    assert empty.status_code == 400


def test_bad_limit_marker_and_sort(client: TestClient) -> None:
    bad_limit = client.get(url("volumes?limit=abc"), headers=headers())
    assert bad_limit.json() == sample("91_error_400_bad_limit.json")["response"]["body"]
    assert client.get(url("volumes?limit=-1"), headers=headers()).status_code == 400
    marker = client.get(url("volumes?marker=c29f9107-d1dd-4fd3-959b-524c4b9c8afd"),
                        headers=headers())
    assert marker.status_code == 404 and "itemNotFound" in marker.json()
    for query in ("sort=bogus:asc", "sort=name:sideways", "sort_key=bogus",
                  "sort=name&sort_key=id", "all_tenants=maybe", "bootable=perhaps"):
        response = client.get(url(f"volumes?{query}"), headers=headers(version="3.2"))
        assert response.status_code == 400, query
        assert "badRequest" in response.json()
    assert client.get(url("volumes?metadata=notadict"),
                      headers=headers()).status_code == 400


def test_unknown_volume_and_routes(client: TestClient) -> None:
    missing = client.get(url("volumes/c29f9107-d1dd-4fd3-959b-524c4b9c8afd"),
                         headers=headers())
    assert missing.json() == sample("75_error_404_volume_show.json")["response"]["body"]
    not_uuid = client.get(url("volumes/not-a-uuid"), headers=headers())
    assert not_uuid.json() == sample("77_error_404_volume_show_not_uuid.json")[
        "response"]["body"]
    route = client.get(url("no-such-collection"), headers=headers())
    assert route.status_code == 404
    assert route.json() == sample("79_error_404_unknown_route_accept_json.json")[
        "response"]["body"]
    method = client.patch(url("volumes"), headers=headers())
    assert method.status_code == 405 and method.json()["code"] == "405 Method Not Allowed"


def test_bad_updates_and_metadata(client: TestClient) -> None:
    volume = create_volume(client)
    path = url(f"volumes/{volume['id']}")
    for body in ({"volume": {"size": 5}}, {"volume": {"name": _LONG}}, {"volume": []},
                 {"volume": {"metadata": {"k": 5}}}, {}):
        response = client.put(path, headers=headers(), json=body)
        assert response.status_code == 400, body
    meta = client.put(path + "/metadata/k", headers=headers(), json={"meta": {"j": "v"}})
    assert meta.json()["badRequest"]["message"] == "Request body and URI mismatch"
    too_many = client.put(path + "/metadata/k", headers=headers(),
                          json={"meta": {"k": "v", "j": "w"}})
    assert too_many.status_code == 400
    assert client.get(path + "/metadata/none", headers=headers()).status_code == 404
    assert client.post(path + "/metadata", headers=headers(),
                       json={"metadata": "x"}).status_code == 400


def test_every_response_carries_request_ids(client: TestClient) -> None:
    for response in (client.get("/"), client.get(url("volumes"), headers=headers()),
                     client.get(url("nowhere"), headers=headers()),
                     client.get(url("volumes"), headers=headers(version="3.x"))):
        assert response.headers["x-openstack-request-id"].startswith("req-")
        assert response.headers["x-compute-request-id"] == \
            response.headers["x-openstack-request-id"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("collection", ["volumes/", "snapshots/", "types/"])
def test_trailing_slash_without_id_is_an_unknown_route(client: TestClient, method: str,
                                                        collection: str) -> None:
    """Cinder's router matches no ``/volumes/`` with an empty id: 404, no redirect to the
    list (Tempest's test_get_volume_without_passing_volume_id and its PUT/DELETE twins)."""
    response = client.request(method, url(collection), headers=headers(),
                              follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == sample("79_error_404_unknown_route_accept_json.json")[
        "response"]["body"]
