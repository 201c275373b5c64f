"""Volume metadata CRUD and its 3.15 ETag guard against lost updates."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import create_volume, headers, url


def test_metadata_crud(client: TestClient) -> None:
    volume = create_volume(client, metadata={"a": "1"})
    base = url(f"volumes/{volume['id']}/metadata")
    assert client.get(base, headers=headers()).json() == {"metadata": {"a": "1"}}
    merged = client.post(base, headers=headers(), json={"metadata": {"b": "2"}})
    assert merged.json() == {"metadata": {"a": "1", "b": "2"}}
    replaced = client.put(base, headers=headers(), json={"metadata": {"c": "3"}})
    assert replaced.json() == {"metadata": {"c": "3"}}
    assert client.put(f"{base}/c", headers=headers(), json={"meta": {"c": "4"}}
                      ).json() == {"meta": {"c": "4"}}
    assert client.get(f"{base}/c", headers=headers()).json() == {"meta": {"c": "4"}}
    assert client.delete(f"{base}/c", headers=headers()).status_code == 200
    assert client.get(f"{base}/c", headers=headers()).status_code == 404
    assert client.get(url(f"volumes/{volume['id']}"), headers=headers()).json()[
        "volume"]["metadata"] == {}


def test_etag_guards_updates_from_3_15(client: TestClient) -> None:
    volume = create_volume(client, metadata={"a": "1"})
    base = url(f"volumes/{volume['id']}/metadata")
    assert "etag" not in client.get(base, headers=headers()).headers
    read = client.get(base, headers=headers(version="3.15"))
    etag = read.headers["etag"]
    client.post(base, headers=headers(), json={"metadata": {"b": "2"}})
    stale = client.put(base, headers={**headers(version="3.15"), "If-Match": etag},
                       json={"metadata": {"x": "y"}})
    assert stale.status_code == 412 and stale.json()["computeFault"]["code"] == 412
    fresh = client.get(base, headers=headers(version="3.15")).headers["etag"]
    ok = client.put(base, headers={**headers(version="3.15"), "If-Match": fresh},
                    json={"metadata": {"x": "y"}})
    assert ok.status_code == 200 and ok.headers["etag"] != fresh
