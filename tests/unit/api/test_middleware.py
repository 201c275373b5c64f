"""The outermost layer: request ids and microversion headers on every answer, and
errors no route handles turned into Cinder bodies (503 for a lost database)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from api.errors import install_handlers
from api.middleware import ApiMiddleware


def _app() -> FastAPI:
    app = FastAPI()
    install_handlers(app)
    app.add_middleware(ApiMiddleware)

    @app.get("/db-gone")
    def db_gone() -> None:
        raise OperationalError("SELECT 1", {}, Exception("server has gone away"))

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    return app


def test_lost_database_is_503_with_request_id() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/db-gone")
    assert response.status_code == 503
    assert response.json()["serviceUnavailable"]["code"] == 503
    assert response.headers["x-openstack-request-id"].startswith("req-")
    assert response.headers["openstack-api-version"] == "volume 3.0"


def test_unexpected_error_is_500_compute_fault_without_details() -> None:
    response = TestClient(_app(), raise_server_exceptions=False).get("/bug")
    assert response.status_code == 500
    assert "a bug" not in response.text
    assert response.json()["computeFault"]["code"] == 500
    assert response.headers["x-openstack-request-id"].startswith("req-")
