"""Quota sets, limits and the 413s that enforce them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import OTHER_PROJECT, PROJECT, create_volume, headers, sample, url


def test_show_defaults_and_usage_shapes(client: TestClient) -> None:
    shown = client.get(url(f"os-quota-sets/{PROJECT}"), headers=headers()).json()
    assert shown == {"quota_set": {
        "volumes": 10, "per_volume_gigabytes": -1, "snapshots": 10, "gigabytes": 1000,
        "backups": 10, "backup_gigabytes": 1000, "volumes___DEFAULT__": -1,
        "gigabytes___DEFAULT__": -1, "snapshots___DEFAULT__": -1, "groups": 10,
        "id": PROJECT}}
    recorded = sample("13_quota_set_show.json")["response"]["body"]["quota_set"]
    assert set(shown["quota_set"]) == {k for k in recorded if "fake-type" not in k}
    defaults = client.get(url(f"os-quota-sets/{PROJECT}/defaults"), headers=headers())
    assert defaults.json() == shown
    create_volume(client, size=3)
    usage = client.get(url(f"os-quota-sets/{PROJECT}?usage=True"), headers=headers()).json()
    assert usage["quota_set"]["volumes"] == {"limit": 10, "in_use": 1, "reserved": 0}
    assert usage["quota_set"]["gigabytes___DEFAULT__"]["in_use"] == 3


def test_update_then_413_like_cinder(client: TestClient) -> None:
    owner = headers(OTHER_PROJECT)
    recorded = sample("94_quota_set_update_volumes_2.json")
    updated = client.put(url(f"os-quota-sets/{OTHER_PROJECT}", OTHER_PROJECT), headers=owner,
                         json=recorded["request"]["body"])
    assert updated.status_code == 200
    assert updated.json()["quota_set"]["volumes"] == 2
    create_volume(client, OTHER_PROJECT)
    create_volume(client, OTHER_PROJECT)
    over = client.post(url("volumes", OTHER_PROJECT), headers=owner,
                       json={"volume": {"size": 1}})
    expected = sample("95_error_413_quota_volumes_exceeded.json")["response"]
    assert over.status_code == 413 and over.json() == expected["body"]
    assert over.headers["retry-after"] == "0"
    too_big = client.post(url("volumes"), headers=headers(), json={"volume": {"size": 2000}})
    assert too_big.json() == sample("93_error_413_quota_gigabytes_exceeded.json")[
        "response"]["body"]
    below_usage = client.put(url(f"os-quota-sets/{OTHER_PROJECT}", OTHER_PROJECT),
                             headers=owner, json={"quota_set": {"volumes": 1}})
    assert below_usage.status_code == 400


def test_update_validation_and_policy(client: TestClient) -> None:
    path = url(f"os-quota-sets/{PROJECT}")
    for body in ({"quota_set": {"volumes": -2}}, {"quota_set": {"volumes": "many"}},
                 {"quota_set": {"bogus": 1}}, {"quota_set": {"volumes": True}}, {}):
        assert client.put(path, headers=headers(), json=body).status_code == 400, body
    assert client.put(path, headers=headers(roles="member"),
                      json={"quota_set": {"volumes": 5}}).status_code == 403
    assert client.get(url(f"os-quota-sets/{OTHER_PROJECT}"),
                      headers=headers(roles="member")).status_code == 403
    assert client.put(path, headers=headers(), json={"quota_set": {"volumes": "5"}}
                      ).json()["quota_set"]["volumes"] == 5
    assert client.delete(path, headers=headers()).status_code == 200
    assert client.get(path, headers=headers()).json()["quota_set"]["volumes"] == 10


def test_per_volume_limit(client: TestClient) -> None:
    client.put(url(f"os-quota-sets/{PROJECT}"), headers=headers(),
               json={"quota_set": {"per_volume_gigabytes": 5}})
    response = client.post(url("volumes"), headers=headers(), json={"volume": {"size": 6}})
    assert response.status_code == 400


def test_limits(client: TestClient) -> None:
    create_volume(client, size=4)
    body = client.get(url("limits"), headers=headers()).json()
    recorded = sample("16_limits.json")["response"]["body"]
    assert body["limits"].keys() == recorded["limits"].keys()
    assert body["limits"]["absolute"].keys() == recorded["limits"]["absolute"].keys()
    assert body["limits"]["absolute"]["totalGigabytesUsed"] == 4
    assert body["limits"]["absolute"]["maxTotalVolumes"] == 10


def test_limits_of_another_project_for_admins_from_3_39(client: TestClient) -> None:
    create_volume(client, OTHER_PROJECT, size=7)
    path = url(f"limits?project_id={OTHER_PROJECT}")
    own = client.get(path, headers=headers()).json()["limits"]["absolute"]
    assert own["totalGigabytesUsed"] == 0
    other = client.get(path, headers=headers(version="3.39")).json()["limits"]["absolute"]
    assert other["totalGigabytesUsed"] == 7
    member = client.get(path, headers=headers(version="3.39", roles="member")).json()
    assert member["limits"]["absolute"]["totalGigabytesUsed"] == 0


def test_a_missing_envelope_wins_over_a_bad_name_as_in_cinder(client: TestClient) -> None:
    """Cinder checks the body's schema before the method checks the class name."""
    long_name = url(f"os-quota-class-sets/{'c' * 256}")

    def message(path: str, body: object) -> str:
        response = client.put(path, headers=headers(), json=body)
        assert response.status_code == 400, response.text
        return response.json()["badRequest"]["message"]
    assert message(long_name, {"other": {}}) == \
        "Missing required element 'quota_class_set' in request body."
    assert message(long_name, {"quota_class_set": {"volumes": 3}}) == \
        "Invalid input received: quota_class_name must be 1 to 255 characters."
    assert message(url(f"os-quota-sets/{PROJECT}"), []) == \
        "Missing required element 'quota_set' in request body."
