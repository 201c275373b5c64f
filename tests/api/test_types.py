"""Volume types: listing, admin management, extra specs and private-type access."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import OTHER_PROJECT, create_volume, headers, sample, url


def _create(client: TestClient, **spec: object) -> dict:
    response = client.post(url("types"), headers=headers(), json={"volume_type": spec})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]


def test_list_and_default_match_samples(client: TestClient) -> None:
    listed = client.get(url("types"), headers=headers()).json()["volume_types"]
    expected = sample("09_types_list.json")["response"]["body"]["volume_types"][0]
    assert [t["name"] for t in listed] == ["__DEFAULT__"]
    assert list(listed[0]) == list(expected)
    default = client.get(url("types/default"), headers=headers(version="3.48")).json()
    assert list(default["volume_type"]) == list(
        sample("11_types_default_mv_3.71.json")["response"]["body"]["volume_type"])


def test_create_type_and_use_it(client: TestClient) -> None:
    created = _create(client, name="fake-type", description="fake backend",
                      extra_specs={"volume_backend_name": "fake"})
    expected = sample("12_types_create_admin.json")["response"]["body"]["volume_type"]
    assert set(created) == set(expected)
    assert created["extra_specs"] == {"volume_backend_name": "fake"}
    volume = create_volume(client, volume_type="fake-type")
    assert volume["volume_type"] == "fake-type"
    by_id = create_volume(client, volume_type=created["id"])
    assert by_id["volume_type"] == "fake-type"
    in_use = client.delete(url(f"types/{created['id']}"), headers=headers())
    assert in_use.status_code == 400
    duplicate = client.post(url("types"), headers=headers(),
                            json={"volume_type": {"name": "fake-type"}})
    assert duplicate.status_code == 409 and "conflictingRequest" in duplicate.json()


def test_members_cannot_manage_and_see_no_backend_specs(client: TestClient) -> None:
    created = _create(client, name="gold", extra_specs={"volume_backend_name": "lvm",
                                                        "multiattach": "<is> True"})
    member = headers(roles="member")
    assert client.post(url("types"), headers=member,
                       json={"volume_type": {"name": "x"}}).status_code == 403
    shown = client.get(url(f"types/{created['id']}"), headers=member).json()["volume_type"]
    assert shown["extra_specs"] == {"multiattach": "<is> True"}


def test_extra_specs_crud(client: TestClient) -> None:
    created = _create(client, name="silver")
    base = url(f"types/{created['id']}/extra_specs")
    assert client.post(base, headers=headers(), json={"extra_specs": {"a": "1"}}
                       ).json() == {"extra_specs": {"a": "1"}}
    assert client.put(f"{base}/a", headers=headers(), json={"a": "2"}).json() == {"a": "2"}
    assert client.get(f"{base}/a", headers=headers()).json() == {"a": "2"}
    assert client.delete(f"{base}/a", headers=headers()).status_code == 202
    assert client.get(base, headers=headers()).json() == {"extra_specs": {}}
    assert client.get(f"{base}/a", headers=headers()).status_code == 404
    for bad in ({"extra_specs": {"a": 1}}, {"extra_specs": None}):
        assert client.post(base, headers=headers(), json=bad).status_code == 400, bad
    updated = client.put(url(f"types/{created['id']}"), headers=headers(),
                         json={"volume_type": {"description": "shiny"}})
    assert set(updated.json()["volume_type"]) == {"id", "name", "is_public", "description",
                                                  "extra_specs"}


def test_private_type_access(client: TestClient) -> None:
    private = _create(client, name="private", **{"os-volume-type-access:is_public": False})
    member = headers(OTHER_PROJECT, roles="member")
    assert client.get(url(f"types/{private['id']}", OTHER_PROJECT),
                      headers=member).status_code == 404
    refused = client.post(url("volumes", OTHER_PROJECT), headers=member,
                          json={"volume": {"size": 1, "volume_type": "private"}})
    assert refused.status_code == 404
    action = url(f"types/{private['id']}/action")
    assert client.post(action, headers=headers(),
                       json={"addProjectAccess": {"project": OTHER_PROJECT}}
                       ).status_code == 202
    access = client.get(url(f"types/{private['id']}/os-volume-type-access"),
                        headers=headers()).json()
    assert access == {"volume_type_access": [{"volume_type_id": private["id"],
                                              "project_id": OTHER_PROJECT}]}
    names = [t["name"] for t in client.get(url("types", OTHER_PROJECT),
                                           headers=member).json()["volume_types"]]
    assert names == ["__DEFAULT__", "private"]
    assert client.post(url("volumes", OTHER_PROJECT), headers=member, json={
        "volume": {"size": 1, "volume_type": "private"}}).status_code == 202
    assert client.post(action, headers=headers(),
                       json={"removeProjectAccess": {"project": OTHER_PROJECT}}
                       ).status_code == 202
    assert client.post(action, headers=headers(),
                       json={"removeProjectAccess": {"project": OTHER_PROJECT}}
                       ).status_code == 404


def test_admin_list_without_is_public_shows_public_and_granted_private(
        client: TestClient) -> None:
    granted = _create(client, name="granted", **{"os-volume-type-access:is_public": False})
    _create(client, name="hidden", **{"os-volume-type-access:is_public": False})
    assert client.post(url(f"types/{granted['id']}/action"), headers=headers(),
                       json={"addProjectAccess": {"project": OTHER_PROJECT}}
                       ).status_code == 202
    admin = headers(OTHER_PROJECT)

    def names(query: str = "") -> list[str]:
        response = client.get(url(f"types{query}", OTHER_PROJECT), headers=admin)
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["volume_types"]]

    assert names() == ["__DEFAULT__", "granted"]
    assert names("?is_public=true") == ["__DEFAULT__", "granted"]
    assert names("?is_public=false") == ["granted", "hidden"]
    assert names("?is_public=None") == ["__DEFAULT__", "granted", "hidden"]
    assert client.get(url("types?is_public=maybe", OTHER_PROJECT),
                      headers=admin).status_code == 400
