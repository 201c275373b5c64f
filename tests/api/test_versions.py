"""Version discovery and microversion negotiation, as Cinder clients see it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api import microversions
from tests.api.conftest import headers, sample, url


def test_root_lists_v3_with_300_and_sample_shape(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 300
    expected = sample("01_versions_root_GET.json")["response"]["body"]["versions"][0]
    version = response.json()["versions"][0]
    assert version.keys() == expected.keys()
    assert version["id"] == "v3.0" and version["min_version"] == "3.0"
    assert version["version"] == str(microversions.MAX)
    assert version["links"][1]["href"] == "http://testserver/v3/"


def test_v3_root_without_token_is_noauth_handshake(client: TestClient) -> None:
    response = client.get("/v3/")
    assert response.status_code == 204
    assert response.headers["x-auth-token"] == "admin:admin"
    assert response.headers["x-openstack-request-id"].startswith("req-")


def test_v3_root_with_token_echoes_microversion(client: TestClient) -> None:
    response = client.get("/v3/", headers=headers(version="3.12"))
    assert response.status_code == 200
    assert response.headers["openstack-api-version"] == "volume 3.12"
    assert response.headers["vary"] == "OpenStack-API-Version"
    assert response.headers["x-compute-request-id"] == response.headers[
        "x-openstack-request-id"]


def test_default_and_latest_microversion(client: TestClient) -> None:
    assert client.get(url("volumes"), headers=headers()).headers[
        "openstack-api-version"] == "volume 3.0"
    assert client.get(url("volumes"), headers=headers(version="latest")).headers[
        "openstack-api-version"] == f"volume {microversions.MAX}"


def test_too_high_microversion_is_406_compute_fault(client: TestClient) -> None:
    response = client.get(url("volumes"), headers=headers(version="3.99"))
    assert response.status_code == 406
    expected = sample("89_error_406_microversion_too_high.json")["response"]["body"]
    assert response.json().keys() == expected.keys()
    assert response.json()["computeFault"]["message"] == (
        f"Version 3.99 is not supported by the API. Minimum is 3.0 and maximum is "
        f"{microversions.MAX}.")
    assert response.headers["openstack-api-version"] == "volume 3.99"


def test_malformed_microversion_is_400(client: TestClient) -> None:
    response = client.get(url("volumes"), headers=headers(version="3.x"))
    assert response.status_code == 400
    assert response.json() == sample("90_error_400_microversion_malformed.json")[
        "response"]["body"]


def test_version_ordering_is_numeric() -> None:
    assert microversions.Version.of("3.10") > microversions.Version.of("3.9")
    assert max(microversions.FEATURES.values()) == microversions.MAX
