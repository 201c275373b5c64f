"""Errors FastAPI itself raises still leave in Cinder's bodies."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.errors import install_handlers


def test_framework_validation_error_is_bad_request() -> None:
    app = FastAPI()
    install_handlers(app)

    @app.get("/items")
    def items(limit: int) -> dict[str, int]:
        return {"limit": limit}

    response = TestClient(app).get("/items?limit=many")
    assert response.status_code == 400
    message = response.json()["badRequest"]["message"]
    assert message.startswith("Invalid input for field/attribute limit.")
    assert TestClient(app).get("/items").status_code == 400
