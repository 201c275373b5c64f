"""An API app on each test database, with a recording fake transport instead of RabbitMQ.

The fake stands in for ``common.messaging.Transport`` above the messaging
contract only: it records every cast so tests assert which routing key and
method a request produced. Reference samples from a real Cinder are read from
``../shared/reference/cinder-api-samples`` beside the clone.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from common.config import Config, load

PROJECT = "5a3f9c1e7b2d4a6c8e0f1a2b3c4d5e6f"
OTHER_PROJECT = "b0b0b0b0c1c1c1c1d2d2d2d2e3e3e3e3"
SAMPLES = (pathlib.Path(__file__).resolve().parents[3] / "shared" / "reference"
           / "cinder-api-samples")


@dataclass
class RecordingFakeTransport:
    """Records casts in order; ``fail`` makes the next casts raise like a lost broker."""

    casts: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False

    def cast(self, target: str, method: str, args: dict[str, Any] | None = None) -> None:
        if self.fail:
            from common.messaging import MessagingError
            raise MessagingError("broker down (fake)")
        self.casts.append((target, method, args or {}))


def headers(project: str = PROJECT, *, roles: str | None = None,
            version: str | None = None, user: str = "admin") -> dict[str, str]:
    result = {"X-Auth-Token": f"{user}:{project}"}
    if roles is not None:
        result["X-Roles"] = roles
    if version is not None:
        result["OpenStack-API-Version"] = f"volume {version}"
    return result


def sample(name: str) -> dict[str, Any]:
    """A reference response from a real Cinder 29, or a skip when shared/ is absent."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"reference sample {name} not found under {SAMPLES} "
                    "(shared/ sits beside the clone in CI)")
    return json.loads(path.read_text())


def write_conf(tmp_path: pathlib.Path, db_url: str, extra: str = "") -> Config:
    path = tmp_path / "cinderblock.conf"
    path.write_text(f"[DEFAULT]\nauth_strategy = noauth\n{extra}\n"
                    f"[database]\nconnection = {db_url}\n")
    return load([str(path)])


@pytest.fixture
def transport() -> RecordingFakeTransport:
    return RecordingFakeTransport()


@pytest.fixture
def api_conf(tmp_path: pathlib.Path, db_url: str) -> Config:
    return write_conf(tmp_path, db_url, "osapi_max_limit = 50\n")


@pytest.fixture
def client(api_conf: Config, session_factory: sessionmaker[Session],
           transport: RecordingFakeTransport) -> Iterator[TestClient]:
    app = create_app(api_conf, transport=transport, sessions=session_factory)
    with TestClient(app) as test_client:
        yield test_client


def url(path: str, project: str = PROJECT) -> str:
    return f"/v3/{project}/{path}"


def create_volume(client: TestClient, project: str = PROJECT, **spec: Any) -> dict[str, Any]:
    response = client.post(url("volumes", project), headers=headers(project),
                           json={"volume": {"size": 1, **spec}})
    assert response.status_code == 202, response.text
    return response.json()["volume"]


def place(sessions: sessionmaker[Session], volume_id: str, host: str = "node2@lvm#lvm",
          status: str = "available") -> None:
    """What the scheduler and agent would have done: the volume sits on ``host``."""
    from sqlalchemy import update

    from db.models import Volume
    with sessions() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == volume_id)
                        .values(host=host, status=status))
