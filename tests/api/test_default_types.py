"""default-types (3.62): a project's own default type, with and without the project in URLs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import OTHER_PROJECT, PROJECT, create_volume, headers

V = "3.62"


def _type(client: TestClient, name: str) -> str:
    response = client.post(f"/v3/{PROJECT}/types", headers=headers(),
                           json={"volume_type": {"name": name}})
    return response.json()["volume_type"]["id"]


def test_set_show_list_unset_and_new_volumes_use_it(client: TestClient) -> None:
    gold = _type(client, "gold")
    path = f"/v3/{PROJECT}/default-types/{OTHER_PROJECT}"
    assert client.put(path, headers=headers(version="3.61"),
                      json={"default_type": {"volume_type": "gold"}}).status_code == 404
    member = headers(OTHER_PROJECT, roles="member", version=V)
    assert client.put(f"/v3/default-types/{OTHER_PROJECT}", headers=member,
                      json={"default_type": {"volume_type": "gold"}}).status_code == 403
    set_ = client.put(path, headers=headers(version=V),
                      json={"default_type": {"volume_type": "gold"}})
    assert set_.status_code == 200
    assert set_.json() == {"default_type": {"project_id": OTHER_PROJECT,
                                            "volume_type_id": gold}}
    assert client.get(f"/v3/default-types/{OTHER_PROJECT}", headers=member
                      ).status_code == 403, "admin-only, as in Cinder"
    assert client.get(f"/v3/default-types/{OTHER_PROJECT}", headers=headers(version=V)
                      ).json() == set_.json()
    assert client.get("/v3/default-types", headers=headers(version=V)).json() == {
        "default_types": [set_.json()["default_type"]]}
    assert client.get("/v3/default-types", headers=member).status_code == 403
    volume = create_volume(client, OTHER_PROJECT)
    assert volume["volume_type"] == "gold"
    assert create_volume(client)["volume_type"] == "__DEFAULT__"
    default = client.get(f"/v3/{OTHER_PROJECT}/types/default", headers=member).json()
    assert default["volume_type"]["name"] == "gold"
    assert client.delete(path, headers=headers(version=V)).status_code == 204
    missing = client.get(path, headers=headers(version=V))
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        f"Default type for project {OTHER_PROJECT} not found."


def test_unknown_type_is_400(client: TestClient) -> None:
    response = client.put(f"/v3/default-types/{OTHER_PROJECT}", headers=headers(version=V),
                          json={"default_type": {"volume_type": "nope"}})
    assert response.status_code == 400
    assert response.json()["badRequest"]["message"] == "Volume type nope could not be found."
