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


def _listed(client: TestClient, query: str = "") -> list[tuple[str, str]]:
    services = client.get(url(f"os-services{query}"), headers=headers()).json()["services"]
    return [(s["binary"], s["host"]) for s in services]


def test_list_shapes_and_state(client: TestClient,
                               session_factory: sessionmaker[Session]) -> None:
    _services(session_factory)
    listed = client.get(url("os-services"), headers=headers()).json()["services"]
    recorded = sample("07_services_list.json")["response"]["body"]["services"]
    assert [list(s) for s in listed] == [list(s) for s in recorded]
    assert [(s["binary"], s["host"]) for s in listed] == \
        [(s["binary"], s["host"]) for s in recorded]
    assert [s["state"] for s in listed] == ["up", "down"]
    newer = client.get(url("os-services"), headers=headers(version="3.49")).json()
    assert newer["services"][0]["backend_state"] == "up"
    assert client.get(url("os-services"), headers=headers(roles="member")).status_code == 403


def test_filters_take_either_binary_name_and_cinders_host_match(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    """``binary=cinder-volume`` (operators, Tempest) and the executable's name both find
    the service; ``host=vm`` finds the node's backends too, ``host=vm@fake`` only that."""
    _services(session_factory)
    with session_factory() as session, session.begin():
        session.add(Service(host="vm2@fake", binary="cinderblock-volume",
                            last_seen_at=utcnow()))
    scheduler, volume = ("cinder-scheduler", "vm"), ("cinder-volume", "vm@fake")
    assert _listed(client, "?binary=cinder-scheduler") == [scheduler]
    assert _listed(client, "?binary=cinderblock-scheduler") == [scheduler]
    assert _listed(client, "?binary=cinder-volume&host=vm") == [volume]
    assert _listed(client, "?host=vm") == [volume, scheduler]
    assert _listed(client, "?host=vm@fake") == [volume]
    assert _listed(client, "?host=v") == []
    assert _listed(client, "?binary=cinder-backup") == []


def test_disable_and_enable(client: TestClient,
                            session_factory: sessionmaker[Session]) -> None:
    _services(session_factory)
    target = {"host": "vm@fake", "binary": "cinder-volume"}
    disabled = client.put(url("os-services/disable-log-reason"), headers=headers(),
                          json={**target, "disabled_reason": "maintenance"})
    assert disabled.json() == {**target, "disabled_reason": "maintenance",
                               "status": "disabled", "disabled": True}
    listed = client.get(url("os-services"), headers=headers()).json()["services"]
    assert listed[0]["status"] == "disabled"
    assert listed[0]["disabled_reason"] == "maintenance"
    enabled = client.put(url("os-services/enable"), headers=headers(),
                         json={**target, "binary": "cinderblock-volume"})
    assert enabled.json() == {**target, "status": "enabled", "disabled": False}
    listed = client.get(url("os-services"), headers=headers()).json()["services"]
    assert listed[0]["status"] == "enabled"
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
