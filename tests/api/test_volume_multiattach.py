"""A volume of a multiattach type says ``multiattach: true``, as Cinder's does."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import create_volume, headers, url


def _type(client: TestClient, name: str, **extra_specs: str) -> str:
    response = client.post(url("types"), headers=headers(),
                           json={"volume_type": {"name": name, "extra_specs": extra_specs}})
    assert response.status_code == 200, response.text
    return response.json()["volume_type"]["id"]


def _shown(client: TestClient, volume_id: str) -> dict:
    return client.get(url(f"volumes/{volume_id}"), headers=headers()).json()["volume"]


def test_multiattach_type_makes_a_multiattach_volume(client: TestClient) -> None:
    _type(client, "shared", multiattach="<is> True")
    _type(client, "single", multiattach="False")
    shared = create_volume(client, volume_type="shared")
    assert shared["multiattach"] is True
    assert _shown(client, shared["id"])["multiattach"] is True
    assert create_volume(client, volume_type="single")["multiattach"] is False
    assert create_volume(client)["multiattach"] is False
