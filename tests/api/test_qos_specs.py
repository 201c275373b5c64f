"""/qos-specs (admin): create, keys, associations with volume types, delete with force."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import headers, url


def _create(client: TestClient, **spec: Any) -> dict[str, Any]:
    response = client.post(url("qos-specs"), headers=headers(),
                           json={"qos_specs": {"name": "gold", **spec}})
    assert response.status_code == 200, response.text
    return response.json()


def _type(client: TestClient, name: str = "fast") -> str:
    response = client.post(url("types"), headers=headers(), json={"volume_type": {"name": name}})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]["id"]


def test_create_show_list_and_keys(client: TestClient) -> None:
    created = _create(client, consumer="front-end", total_iops_sec=1000)
    spec = created["qos_specs"]
    assert set(created) == {"qos_specs", "links"}
    assert (spec["name"], spec["consumer"], spec["specs"]) == (
        "gold", "front-end", {"total_iops_sec": "1000"})
    path = url(f"qos-specs/{spec['id']}")
    assert client.get(path, headers=headers()).json()["qos_specs"] == spec
    assert client.get(url("qos-specs"), headers=headers()).json() == {"qos_specs": [spec]}
    assert client.put(path, headers=headers(), json={"qos_specs": {"read_iops_sec": "5"}}
                      ).json() == {"qos_specs": {"read_iops_sec": "5"}}
    assert client.put(f"{path}/delete_keys", headers=headers(),
                      json={"keys": ["total_iops_sec"]}).status_code == 202
    shown = client.get(path, headers=headers()).json()["qos_specs"]
    assert shown["specs"] == {"read_iops_sec": "5"}
    missing = client.put(f"{path}/delete_keys", headers=headers(), json={"keys": ["nope"]})
    assert missing.status_code == 404
    assert missing.json()["itemNotFound"]["message"] == \
        f"QoS spec {spec['id']} has no spec with key nope."


def test_refusals(client: TestClient) -> None:
    _create(client)
    duplicate = client.post(url("qos-specs"), headers=headers(),
                            json={"qos_specs": {"name": "gold"}})
    assert duplicate.status_code == 409
    for body in ({"qos_specs": {}}, {"qos_specs": {"name": "x", "consumer": "nobody"}},
                 {"other": {}}, {"qos_specs": {"name": "x", "k": {"nested": 1}}}):
        assert client.post(url("qos-specs"), headers=headers(), json=body).status_code == 400
    assert client.get(url("qos-specs"), headers=headers(roles="member")).status_code == 403
    unknown = client.get(url("qos-specs/4cba9b5c-13b5-4ff8-9ce9-5bf0f1e2d111"), headers=headers())
    assert unknown.json()["itemNotFound"]["message"] == \
        "No such QoS spec 4cba9b5c-13b5-4ff8-9ce9-5bf0f1e2d111."


def test_associations_and_delete(client: TestClient) -> None:
    spec_id = _create(client)["qos_specs"]["id"]
    other_id = client.post(url("qos-specs"), headers=headers(),
                           json={"qos_specs": {"name": "silver"}}).json()["qos_specs"]["id"]
    type_id = _type(client)
    path = url(f"qos-specs/{spec_id}")
    assert client.get(f"{path}/associate", headers=headers()).status_code == 400
    assert client.get(f"{path}/associate?vol_type_id={type_id}",
                      headers=headers()).status_code == 202
    assert client.get(f"{path}/associations", headers=headers()).json() == {
        "qos_associations": [{"association_type": "volume_type", "name": "fast",
                              "id": type_id}]}
    shown_type = client.get(url(f"types/{type_id}"), headers=headers()).json()
    assert shown_type["volume_type"]["qos_specs_id"] == spec_id
    taken = client.get(url(f"qos-specs/{other_id}/associate?vol_type_id={type_id}"),
                       headers=headers())
    assert taken.status_code == 400 and "already associated" in taken.text
    in_use = client.delete(path, headers=headers())
    assert in_use.status_code == 400
    assert in_use.json()["badRequest"]["message"] == "Qos specs still in use."
    assert client.get(f"{path}/disassociate?vol_type_id={type_id}",
                      headers=headers()).status_code == 202
    assert client.get(f"{path}/associations", headers=headers()).json() == {
        "qos_associations": []}
    assert client.get(f"{path}/associate?vol_type_id={type_id}",
                      headers=headers()).status_code == 202
    assert client.delete(f"{path}?force=true", headers=headers()).status_code == 202
    assert client.get(path, headers=headers()).status_code == 404
    assert client.get(url(f"types/{type_id}"), headers=headers()).json()[
        "volume_type"]["qos_specs_id"] is None
