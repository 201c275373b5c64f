"""os-services and os-availability-zone, from the services table heartbeats fill."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from db.models import Service, utcnow
from tests.api.conftest import headers, sample, url


def _services(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        session.add_all([
            Service(host="vm@fake", binary="cinderblock-volume", availability_zone="nova",
                    last_seen_at=utcnow()),
            Service(host="vm", binary="cinderblock-scheduler", availability_zone="nova",
                    last_seen_at=utcnow() - timedelta(seconds=600)),
        ])


def test_list_shapes_and_state(client: TestClient,
                               session_factory: sessionmaker[Session]) -> None:
    _services(session_factory)
    listed = client.get(url("os-services"), headers=headers()).json()["services"]
    recorded = sample("07_services_list.json")["response"]["body"]["services"]
    assert [list(s) for s in listed] == [list(s) for s in recorded]
    assert [(s["host"], s["state"]) for s in listed] == [("vm@fake", "up"), ("vm", "down")]
    newer = client.get(url("os-services"), headers=headers(version="3.49")).json()
    assert newer["services"][0]["backend_state"] == "up"
    filtered = client.get(url("os-services?binary=cinderblock-scheduler"),
                          headers=headers()).json()["services"]
    assert [s["host"] for s in filtered] == ["vm"]
    assert client.get(url("os-services"), headers=headers(roles="member")).status_code == 403


def test_disable_and_enable(client: TestClient,
                            session_factory: sessionmaker[Session]) -> None:
    _services(session_factory)
    target = {"host": "vm@fake", "binary": "cinderblock-volume"}
    disabled = client.put(url("os-services/disable-log-reason"), headers=headers(),
                          json={**target, "disabled_reason": "maintenance"})
    assert disabled.json() == {**target, "disabled_reason": "maintenance",
                               "status": "disabled", "disabled": True}
    listed = client.get(url("os-services"), headers=headers()).json()["services"]
    assert listed[0]["status"] == "disabled"
    assert listed[0]["disabled_reason"] == "maintenance"
    enabled = client.put(url("os-services/enable"), headers=headers(), json=target)
    assert enabled.json()["status"] == "enabled"
    missing = client.put(url("os-services/enable"), headers=headers(),
                         json={"host": "x", "binary": "y"})
    assert missing.status_code == 404
    assert client.put(url("os-services/enable"), headers=headers(),
                      json={"host": 1}).status_code == 400


def test_availability_zones(client: TestClient,
                            session_factory: sessionmaker[Session]) -> None:
    _services(session_factory)
    body = client.get(url("os-availability-zone"), headers=headers()).json()
    assert body == sample("17_availability_zones.json")["response"]["body"]
