"""A real deployment for fault tests: cinderblock-api, -scheduler and -volume as processes
with short stuck-work timeouts, an HTTP client for the API, and the end-state check
every fault test ends with."""

from __future__ import annotations

import pathlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from common.messaging import Transport
from db import quota_check
from db.models import Pool, Volume
from tests.messaging.cluster import Daemon, Deployment, wait_for

PROJECT = "5a3f9c1e7b2d4a6c8e0f1a2b3c4d5e6f"
HEADERS = {"X-Auth-Token": f"admin:{PROJECT}"}
# Short enough that a test sees the sweeper act within seconds.
FAST_SWEEP = {"stuck_task_timeout": 4, "task_sweep_interval": 1, "report_interval": 1}
STABLE = ("available", "error", "in-use", "error_deleting", "error_extending")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Api:
    """The real API process and a client for it."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        port = deployment.default["osapi_volume_listen_port"]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}/v3/{PROJECT}",
                                   headers=HEADERS, timeout=30)
        self.daemon: Daemon | None = None

    def start(self) -> Api:
        self.daemon = self.deployment.start("cinderblock-api")
        wait_for(self._answers, timeout=30)
        return self

    def _answers(self) -> bool:
        try:
            return self.client.get("/volumes").status_code == 200
        except httpx.TransportError:
            return False

    def create(self, size: int = 1) -> str:
        response = self.client.post("/volumes", json={"volume": {"size": size}})
        assert response.status_code == 202, response.text
        return str(response.json()["volume"]["id"])

    def delete(self, volume_id: str) -> None:
        response = self.client.delete(f"/volumes/{volume_id}")
        assert response.status_code == 202, response.text

    def close(self) -> None:
        self.client.close()


def fault_deployment(**args: Any) -> dict[str, Any]:
    """``[DEFAULT]`` options of a fault test's deployment: fast sweeps, the API on a free
    loopback port."""
    return {**FAST_SWEEP, "osapi_volume_listen": "127.0.0.1",
            "osapi_volume_listen_port": free_port(), **args}


@contextmanager
def running(tmp_path: pathlib.Path, broker_url: str, db_url: str,
            sessions: sessionmaker[Session], transport: Transport,
            **default: object) -> Iterator[Deployment]:
    """A fault deployment whose daemons are all stopped afterwards, whatever happened."""
    made = Deployment(tmp_path, broker_url, db_url, sessions, transport,
                      **fault_deployment(**default))
    try:
        yield made
    finally:
        for daemon in made.daemons:
            daemon.stop()


def settled(sessions: sessionmaker[Session], timeout: float = 30) -> dict[str, Volume]:
    """Every volume once none is in a transitional status (or as it is at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            volumes = {v.id: v for v in session.scalars(select(Volume))}
        if all(v.status in STABLE for v in volumes.values()) or time.monotonic() > deadline:
            return volumes
        time.sleep(0.2)


def check_end_state(deployment: Deployment, sessions: sessionmaker[Session],
                    timeout: float = 30) -> dict[str, Volume]:
    """Nothing in flight, quota usage equal to the rows, pool allocations equal to the
    volumes placed there. Returns the volumes for the caller's own assertions."""
    volumes = settled(sessions, timeout)
    moving = {v.id: v.status for v in volumes.values() if v.status not in STABLE}
    assert not moving, f"still in flight: {moving}\n{deployment.logs()}"
    with sessions() as session:
        drift = quota_check.check(session)
        placed = dict(session.execute(select(Volume.host, func.sum(Volume.size))
                                      .where(Volume.host.is_not(None))
                                      .group_by(Volume.host)).all())
        allocated = {p.host: p.allocated_capacity_gb for p in session.scalars(select(Pool))
                     if p.allocated_capacity_gb or p.host in placed}
    assert not drift, "quota usage drifted: " + "; ".join(map(str, drift))
    assert allocated == {host: int(size) for host, size in placed.items()}
    return volumes


def write_summary(terminalreporter: Any, title: str, lines: list[str]) -> None:
    """One line per fault at the end of the run, where CI logs show it."""
    if lines:
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
