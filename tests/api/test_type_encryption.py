"""Volume type encryption (``types/{id}/encryption``): admins only, one per type, frozen
while the type has volumes; bodies as Cinder's api-ref samples and Tempest's schemas."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import create_volume, headers, url

SPEC = {"key_size": 256, "provider": "luks", "control_location": "front-end",
        "cipher": "aes-xts-plain64"}
# Keys of Cinder's encryption-type-show-response.json (api-ref v3 samples).
SHOW_KEYS = {"volume_type_id", "control_location", "deleted", "created_at", "updated_at",
             "encryption_id", "key_size", "provider", "deleted_at", "cipher"}


def _type(client: TestClient, name: str = "secret") -> str:
    response = client.post(url("types"), headers=headers(),
                           json={"volume_type": {"name": name}})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]["id"]


def _create(client: TestClient, type_id: str, spec: Any) -> Any:
    return client.post(url(f"types/{type_id}/encryption"), headers=headers(),
                       json={"encryption": spec})


def test_create_show_update_delete(client: TestClient) -> None:
    type_id = _type(client)
    path = url(f"types/{type_id}/encryption")
    assert client.get(path, headers=headers()).json() == {}
    created = _create(client, type_id, SPEC)
    assert created.status_code == 200, created.text
    body = created.json()["encryption"]
    assert set(body) == {*SPEC, "volume_type_id", "encryption_id"}
    assert {k: body[k] for k in SPEC} == SPEC and body["volume_type_id"] == type_id
    shown = client.get(path, headers=headers()).json()
    assert set(shown) == SHOW_KEYS
    assert (shown["deleted"], shown["deleted_at"], shown["updated_at"]) == (False, None, None)
    assert shown["encryption_id"] == body["encryption_id"]
    assert client.get(f"{path}/cipher", headers=headers()).json() == \
        {"cipher": "aes-xts-plain64"}
    missing_key = client.get(f"{path}/nope", headers=headers())
    assert missing_key.status_code == 404

    again = _create(client, type_id, SPEC)
    assert again.json() == {"badRequest": {
        "code": 400,
        "message": f"Volume type encryption for type {type_id} already exists."}}

    change = {"key_size": "128", "provider": "SomeProvider", "control_location": "back-end"}
    updated = client.put(f"{path}/{body['encryption_id']}", headers=headers(),
                         json={"encryption": change})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"encryption": {**change, "key_size": 128}}
    shown = client.get(path, headers=headers()).json()
    assert (shown["key_size"], shown["provider"], shown["control_location"],
            shown["cipher"]) == (128, "SomeProvider", "back-end", "aes-xts-plain64")
    assert shown["updated_at"] is not None

    deleted = client.delete(f"{path}/{body['encryption_id']}", headers=headers())
    assert deleted.status_code == 202
    assert client.get(path, headers=headers()).json() == {}
    gone = client.delete(f"{path}/{body['encryption_id']}", headers=headers())
    assert gone.json()["itemNotFound"]["message"] == \
        f"Volume type encryption for type {type_id} does not exist."
    assert client.get(f"{path}/cipher", headers=headers()).status_code == 404
    assert client.put(f"{path}/x", headers=headers(),
                      json={"encryption": {"cipher": None}}).status_code == 404


def test_only_admins(client: TestClient) -> None:
    type_id = _type(client)
    path = url(f"types/{type_id}/encryption")
    member = headers(roles="member")
    assert client.get(path, headers=member).json()["forbidden"]["message"] == (
        "Policy doesn't allow volume_extension:volume_type_encryption:get to be performed.")
    assert client.post(path, headers=member, json={"encryption": SPEC}).status_code == 403
    assert client.put(f"{path}/x", headers=member, json={"encryption": SPEC}
                      ).status_code == 403
    assert client.delete(f"{path}/x", headers=member).status_code == 403


def test_bad_input_is_400(client: TestClient) -> None:
    type_id = _type(client)
    for bad in ({"provider": "luks"}, {"control_location": "front-end"},
                {**SPEC, "control_location": "middle"}, {**SPEC, "key_size": "big"},
                {**SPEC, "key_size": -1}, {**SPEC, "key_size": True},
                {**SPEC, "provider": 7}, {**SPEC, "cipher": "x" * 256}):
        response = _create(client, type_id, bad)
        assert response.status_code == 400, (bad, response.text)
    assert client.post(url(f"types/{type_id}/encryption"), headers=headers(),
                       json={"other": {}}).status_code == 400
    assert _create(client, "no-such-type", SPEC).status_code == 404
    assert client.get(url(f"types/{type_id}/encryption"), headers=headers()).json() == {}


def test_frozen_while_the_type_has_volumes(client: TestClient) -> None:
    type_id = _type(client)
    path = url(f"types/{type_id}/encryption")
    encryption_id = _create(client, type_id, SPEC).json()["encryption"]["encryption_id"]
    refused = client.post(url("volumes"), headers=headers(),
                          json={"volume": {"size": 1, "volume_type": type_id}})
    assert refused.status_code == 400
    assert "no key manager" in refused.json()["badRequest"]["message"]

    plain = _type(client, "plain")
    create_volume(client, volume_type=plain)
    message = "Cannot {} encryption specs. Volume type in use."
    assert _create(client, plain, SPEC).json()["badRequest"]["message"] == \
        message.format("create")
    client.delete(f"{path}/{encryption_id}", headers=headers())
    with_volume = _type(client, "later")
    create_volume(client, volume_type=with_volume)
    later = url(f"types/{with_volume}/encryption")
    assert client.put(f"{later}/x", headers=headers(), json={"encryption": SPEC}
                      ).json()["badRequest"]["message"] == message.format("update")
    assert client.delete(f"{later}/x", headers=headers()
                         ).json()["badRequest"]["message"] == message.format("delete")


def test_deleting_the_type_removes_its_encryption(client: TestClient) -> None:
    type_id = _type(client)
    _create(client, type_id, SPEC)
    assert client.delete(url(f"types/{type_id}"), headers=headers()).status_code == 202
    assert client.get(url(f"types/{type_id}/encryption"), headers=headers()
                      ).status_code == 404
