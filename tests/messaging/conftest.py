"""A private RabbitMQ vhost per test session, so runs on one broker never cross."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from common.messaging import Transport


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    vhost = f"cinderblock-test-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def transport(broker_url: str) -> Iterator[Transport]:
    transport = Transport(broker_url)
    yield transport
    transport.close()


SERVER_OF_URL = {"mysql": "mariadb", "postgresql": "postgresql", "sqlite": "sqlite"}


@pytest.fixture
def one_db_url(db_url: str) -> str:
    """Process tests are about processes, not SQL dialects: one server is enough."""
    wanted = (os.environ.get("CINDERBLOCK_TEST_DBS") or "mariadb").split(",")[0].strip()
    if SERVER_OF_URL[db_url.split(":", 1)[0]] != wanted:
        pytest.skip(f"process tests run on {wanted} only")
    return db_url
