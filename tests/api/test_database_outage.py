"""A database that cannot be reached gives 503 in Cinder's body, not a 500 or a hang."""

from __future__ import annotations

import pathlib

from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import RecordingFakeTransport, headers, url, write_conf


def test_unreachable_database_is_503(tmp_path: pathlib.Path) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    conf = write_conf(tmp_path, "postgresql://postgres@127.0.0.1:9/cinder")
    client = TestClient(create_app(conf, transport=RecordingFakeTransport()))
    response = client.get(url("volumes"), headers=headers())
    assert response.status_code == 503
    assert response.json()["serviceUnavailable"]["code"] == 503
    assert response.headers["x-openstack-request-id"].startswith("req-")
