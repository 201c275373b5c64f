"""``/healthcheck`` and ``/metrics``: what load balancers, Prometheus and operators read.

The health check runs against each test database and the real RabbitMQ; an unreachable
broker or database is a closed port on 127.0.0.1.
"""

from __future__ import annotations

import pathlib
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from common.config import Config
from common.messaging import Transport
from db.session import make_engine, make_session_factory
from tests.api.conftest import PROJECT, headers, url
from tests.logging_fixtures import service_logging

BROKER = "amqp://guest:guest@127.0.0.1:5672//"
CLOSED_PORT_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def _client(conf: Config, sessions: sessionmaker[Session], broker: str) -> TestClient:
    return TestClient(create_app(conf, transport=Transport(broker), sessions=sessions))


def test_healthy_when_database_and_broker_answer(
        api_conf: Config, session_factory: sessionmaker[Session]) -> None:
    with _client(api_conf, session_factory, BROKER) as client:
        response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_unreachable_broker_is_503_naming_the_broker(
        api_conf: Config, session_factory: sessionmaker[Session]) -> None:
    with _client(api_conf, session_factory, CLOSED_PORT_BROKER) as client:
        response = client.get("/healthcheck")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] != "ok"


def test_lost_database_is_503_naming_the_database(api_conf: Config) -> None:
    sessions = make_session_factory(make_engine("mysql+pymysql://root@127.0.0.1:1/cinder"))
    with _client(api_conf, sessions, BROKER) as client:
        response = client.get("/healthcheck")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "ok"
    assert "OperationalError" in response.json()["checks"]["database"]


def _sample(text: str, name: str, **labels: str) -> float:
    tags = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}{{{re.escape(tags)}}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    route = "/v3/{project_id}/volumes/{volume_id}"
    before = client.get("/metrics").text
    missing = "00000000-0000-0000-0000-000000000000"
    for _ in range(3):
        assert client.get(url(f"volumes/{missing}"), headers=headers()).status_code == 404
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.text
    counted = (_sample(after, "cinderblock_api_requests_total", method="GET", route=route,
                       status="404")
               - _sample(before, "cinderblock_api_requests_total", method="GET", route=route,
                         status="404"))
    assert counted == 3
    timed = (_sample(after, "cinderblock_api_request_duration_seconds_count", method="GET",
                     route=route)
             - _sample(before, "cinderblock_api_request_duration_seconds_count", method="GET",
                       route=route))
    assert timed == 3
    assert missing not in after, "raw paths must not become series"


def test_access_line_carries_the_request_id_from_the_response(client: TestClient,
                                                              tmp_path: pathlib.Path) -> None:
    log_file = tmp_path / "api.log"
    with service_logging(log_file=str(log_file)):
        response = client.get(url("volumes"), headers=headers())
    request_id = response.headers["x-openstack-request-id"]
    lines = [line for line in log_file.read_text().splitlines() if request_id in line]
    assert any(f"GET /v3/{PROJECT}/volumes 200" in line for line in lines), lines
